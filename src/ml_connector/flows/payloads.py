"""Canonical forms of what the flows send: plain JSON-ready data, its hash, and calendar days.

``plain`` turns a write model (a dataclass already turned into dicts and tuples) into data that
JSON carries exactly: Decimals and dates as their text, never a float, and empty fields left
out. ``payload_hash`` is the one digest of such data, for every kind of document: the bill
flow compares it with the hash on the bill's link to decide between PUT and nothing-changed,
and the purchase-order flow uses it for the digest of a Ramp order. ``as_date`` reads a day out
of a Ramp timestamp or date.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

__all__ = ["as_date", "payload_hash", "plain"]


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: None and empty tuples dropped from dicts, text for the rest."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None and v != ()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)  # Decimal and date: exact text, never a float


def payload_hash(payload: Any) -> str:
    """The SHA-256 of ``payload`` as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def as_date(value: datetime | date | None) -> date | None:
    """The calendar day of a Ramp timestamp or date (None stays None)."""
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value
