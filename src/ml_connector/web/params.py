"""Paging, filter and id parameters of the admin API and the dashboard, checked.

Every parameter a caller can type is parsed here, once, for both edges: whole numbers within
stated bounds, ids a database row can have, dates between 1900 and 9998, the record states and
object types the connector knows, and free-text filters of bounded length. Anything else raises
ValueError with a message saying what is allowed, which both edges answer with 400 (never a
500). The OpenAPI document (``web/openapi.py``) states the same bounds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ml_connector.app.records import SyncStatus
from ml_connector.app.status import OBJECT_TYPES

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_ID",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "MAX_PAGE",
    "MAX_TEXT",
    "check_id",
    "object_type",
    "parse_time",
    "state",
    "text",
    "time_range",
    "whole_number",
]

_WHOLE = re.compile(r"-?[0-9]{1,19}")
MAX_ID = 2**63 - 1  # the largest id a database row can have; anything bigger names nothing
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
MAX_PAGE = 20_000  # 50 rows a page: the dashboard reaches as far as the API's offset
MAX_TEXT = 200
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive: 9998-12-31 is the last day accepted


def whole_number(value: str | None, default: int, *, low: int, high: int, what: str) -> int:
    """``value`` as an int within ``low..high``; ``default`` when absent or empty."""
    if value is None or value == "":
        return default
    cleaned = value.strip()
    if not _WHOLE.fullmatch(cleaned):
        raise ValueError(f"{what} must be a whole number from {low} to {high}, not {value[:40]!r}")
    number = int(cleaned)
    if not low <= number <= high:
        raise ValueError(f"{what} must be from {low} to {high}, not {number}")
    return number


def check_id(value: int, what: str) -> int:
    """``value`` when it is an id a row can have (0..2**63-1); ValueError otherwise."""
    if not 0 <= value <= MAX_ID:
        raise ValueError(f"{what} {value} is out of range (0 to {MAX_ID})")
    return value


def parse_time(value: str | None, *, end_of_day: bool = False) -> datetime | None:
    """An ISO date or datetime from a query string (naive means UTC); None when empty.

    With ``end_of_day`` a bare date means the end of that day (an inclusive "until"). Dates
    before 1900 or after 9998 are refused.
    """
    if not value:
        return None
    allowed = "a date (YYYY-MM-DD) or an ISO date-time between 1900 and 9998"
    if len(value) > 40:
        raise ValueError(f"{value[:40]!r}… is not {allowed}")
    try:
        parsed = datetime.fromisoformat(value)
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if end_of_day and len(value.strip()) == 10:
            parsed += timedelta(days=1)
        in_utc = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"{value!r} is not {allowed}") from None
    if not EARLIEST <= in_utc < LATEST:
        raise ValueError(f"{value!r} is out of range: give {allowed}")
    return in_utc


def time_range(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """The ``since``/``until`` filters, checked, and refused when ``until`` is not later."""
    start, end = parse_time(since), parse_time(until, end_of_day=True)
    if start is not None and end is not None and end <= start:
        raise ValueError(f"until ({until}) must be later than since ({since})")
    return start, end


def state(value: str | None) -> SyncStatus | None:
    """A record state filter; None when absent."""
    if not value:
        return None
    try:
        return SyncStatus(value)
    except ValueError:
        known = ", ".join(s.value for s in SyncStatus)
        raise ValueError(f"state must be one of {known}, not {value[:40]!r}") from None


def object_type(value: str | None) -> str | None:
    """A record type filter; None when absent."""
    if not value:
        return None
    if value not in OBJECT_TYPES:
        raise ValueError(f"type must be one of {', '.join(OBJECT_TYPES)}, not {value[:40]!r}")
    return value


def text(value: str | None, what: str) -> str:
    """A free-text filter of at most MAX_TEXT characters, without control characters."""
    value = value or ""
    if len(value) > MAX_TEXT:
        raise ValueError(f"{what} is too long ({len(value)} characters; at most {MAX_TEXT})")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} must not contain control characters")
    return value
