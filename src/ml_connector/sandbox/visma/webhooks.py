"""Change notifications from the Visma sandbox, signed the way Visma's webhook dispatcher signs.

Faithful parts (reference §10.1): the event names (publisher "Visma Net Financial": Supplier
Created/Updated, Account Created/Updated, Segment Value Changed, Project Changed, AP Invoice
Status Changed, Purchase Order Changed), the signature (HMAC-SHA256 over the raw UTF-8 body with
the subscription secret, **base64**, in ``x-vwd-signature-v1``) and the other ``x-vwd-*``
headers.

**A documented guess**: the body. No stored source shows the JSON Visma.net ERP sends, so the
sandbox sends the small body built by ``webhook_body`` and nothing else depends on its shape:

```json
{"eventId": "<uuid>", "eventType": "Supplier.Updated", "entity": "Supplier",
 "action": "Updated", "entityId": "50010", "tenantId": "...", "companyId": "...",
 "resourceUri": "https://…/v1/supplier/50010", "timestamp": "2026-08-03T09:00:00.000Z"}
```

Targets: every configured ``webhook_urls`` entry (what a Developer Portal subscription would be),
and every legacy ``/resources/v1/subscription`` registration whose ``event`` is the event's
legacy name (``supplier_changed`` …; also a guess beyond ``supplier_changed``). Each target gets
its own notification id; the event id is shared. Delivery (retries, faults) is the shared
``WebhookDispatcher``'s job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ml_connector.sandbox.delivery import WebhookDispatcher
from ml_connector.sandbox.visma.state import CompanyState

__all__ = [
    "EVENTS",
    "SIGNATURE_HEADER",
    "ChangeEvent",
    "EventPublisher",
    "sign",
    "webhook_body",
]

SIGNATURE_HEADER: Final = "x-vwd-signature-v1"
APPLICATION_ID: Final = "visma-net-erp-sandbox"
DEFAULT_RESOURCE_BASE: Final = "https://api.finance.visma.net"

# (entity, action) -> the legacy REST subscription event name that also receives it.
EVENTS: Final[dict[tuple[str, str], str]] = {
    ("Supplier", "Created"): "supplier_changed",
    ("Supplier", "Updated"): "supplier_changed",
    ("Account", "Created"): "account_changed",
    ("Account", "Updated"): "account_changed",
    ("Segment", "ValueChanged"): "segment_changed",
    ("Project", "Changed"): "project_changed",
    ("APInvoice", "StatusChanged"): "apinvoice_statuschanged",
    ("PurchaseOrder", "Changed"): "purchaseorder_changed",
}


@dataclass(frozen=True)
class ChangeEvent:
    """One change worth a notification."""

    event_id: str
    entity: str
    action: str
    entity_id: str
    resource_path: str  # e.g. "v1/supplier/50010"
    tenant_id: str
    company_id: str
    at: datetime

    @property
    def event_type(self) -> str:
        return f"{self.entity}.{self.action}"

    @property
    def legacy_event(self) -> str | None:
        """The legacy subscription event that also receives it (None: no legacy event, e.g.
        journal transactions, which the 9.11 event list does not have)."""
        return EVENTS.get((self.entity, self.action))


def webhook_body(event: ChangeEvent, resource_base: str = DEFAULT_RESOURCE_BASE) -> bytes:
    """The notification body (the documented guess above), as the exact bytes that get signed."""
    payload: dict[str, Any] = {
        "eventId": event.event_id,
        "eventType": event.event_type,
        "entity": event.entity,
        "action": event.action,
        "entityId": event.entity_id,
        "tenantId": event.tenant_id,
        "companyId": event.company_id,
        "resourceUri": f"{resource_base.rstrip('/')}/{event.resource_path}",
        "timestamp": event.at.isoformat(timespec="milliseconds") + "Z",
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(body: bytes, secret: str) -> str:
    """Base64 HMAC-SHA256 of the raw body: the ``x-vwd-signature-v1`` value."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class EventPublisher:
    """Turns state changes into signed deliveries queued on the dispatcher."""

    def __init__(
        self,
        dispatcher: WebhookDispatcher,
        *,
        secret: str | None,
        urls: list[str],
        clock: Callable[[], float] = time.time,
        resource_base: str = DEFAULT_RESOURCE_BASE,
    ) -> None:
        self.dispatcher = dispatcher
        self.urls = list(urls)
        self.resource_base = resource_base
        self.published: list[ChangeEvent] = []
        self._secret = secret
        self._clock = clock

    def __repr__(self) -> str:
        return f"EventPublisher(urls={self.urls!r}, signed={self._secret is not None})"

    def publish(
        self, company: CompanyState, entity: str, action: str, entity_id: str, resource_path: str
    ) -> ChangeEvent:
        """Record one change and queue it for every target subscribed to it."""
        event = ChangeEvent(
            event_id=str(uuid.uuid4()),
            entity=entity,
            action=action,
            entity_id=entity_id,
            resource_path=resource_path,
            tenant_id=company.tenant_id,
            company_id=company.company_id,
            at=datetime.fromtimestamp(self._clock(), UTC).replace(tzinfo=None),
        )
        self.published.append(event)
        body = webhook_body(event, self.resource_base)
        targets = [(f"portal-{index}", url) for index, url in enumerate(self.urls, start=1)]
        targets += [
            (str(subscription.id), subscription.hook_uri)
            for subscription in company.subscriptions.values()
            if subscription.event == event.legacy_event
        ]
        for subscription_id, url in targets:
            self.dispatcher.enqueue(
                url, body, self._headers(event, body, subscription_id), event.event_id
            )
        return event

    def _headers(self, event: ChangeEvent, body: bytes, subscription_id: str) -> dict[str, str]:
        now_ms = str(int(self._clock() * 1000))
        headers = {
            "content-type": "application/json",
            "x-vwd-application-id": APPLICATION_ID,
            "x-vwd-application-version": "1",
            "x-vwd-event-id": event.event_id,
            "x-vwd-group-id": event.company_id,
            "x-vwd-notification-id": str(uuid.uuid4()),
            "x-vwd-notification-timestamp": now_ms,
            "x-vwd-subscription-id": subscription_id,
            "x-vwd-tenant-id": event.tenant_id,
            "x-vwd-webhook-timestamp": now_ms,
        }
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(body, self._secret)
        return headers
