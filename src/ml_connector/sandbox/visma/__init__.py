"""A faithful, stateful simulator of the Visma.net ERP service API (see docs/sandbox/visma.md).

``VismaSandbox(client_id, client_secret, tenant_id, company_id, dataset=...)`` exposes ``app``
(ASGI), ``state``, ``faults``, ``journal``, ``webhooks`` and Python control methods.
``webhook_body`` and ``sign`` define the (guessed) notification body and its signature.
"""

from __future__ import annotations

from ml_connector.sandbox.visma.sandbox import VismaSandbox
from ml_connector.sandbox.visma.webhooks import SIGNATURE_HEADER, ChangeEvent, sign, webhook_body

__all__ = ["SIGNATURE_HEADER", "ChangeEvent", "VismaSandbox", "sign", "webhook_body"]
