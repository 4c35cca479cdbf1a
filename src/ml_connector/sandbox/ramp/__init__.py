"""A faithful, stateful simulator of Ramp's Developer API (see ``docs/sandbox/ramp.md``).

``RampSandbox`` is the entry point; ``CREDIT_MEMO_PREFIX`` is how it marks vendor credits.
"""

from __future__ import annotations

from ml_connector.sandbox.ramp.model import CREDIT_MEMO_PREFIX
from ml_connector.sandbox.ramp.sandbox import RampSandbox
from ml_connector.sandbox.ramp.seeding import LineSpec
from ml_connector.sandbox.ramp.webhooks import sign

__all__ = ["CREDIT_MEMO_PREFIX", "LineSpec", "RampSandbox", "sign"]
