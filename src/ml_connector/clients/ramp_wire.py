"""Ramp's wire form, for the client alone: spec-named query values and fields (unknown names
refused, since some endpoints ignore extras silently), path segments, upload rows and PATCH
bodies, and what an invoice file's host answers (media type, file name, S3 error text)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from datetime import time as clock_time
from decimal import Decimal
from email.message import Message
from email.utils import collapse_rfc2231_value
from enum import Enum
from typing import Any
from urllib.parse import quote

__all__ = [
    "BILL_FIELDS",
    "BILL_FILTERS",
    "CHART_FILTERS",
    "ENTITY_FILTERS",
    "EVENT_FAMILIES",
    "FIELD_FILTERS",
    "MAX_UPLOAD",
    "OPTION_FILTERS",
    "PO_FILTERS",
    "REFUSED_LINK",
    "VENDOR_FIELDS",
    "VENDOR_FILTERS",
    "batch",
    "checked",
    "content_type",
    "file_name",
    "patch_body",
    "query_params",
    "s3_message",
    "segment",
    "upload_row",
]

MAX_UPLOAD = 500  # Ramp's all-or-nothing batch limit for accounting uploads


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Query parameters and PATCH fields the spec defines; anything else is refused before sending.
BILL_FILTERS = _names(
    "entity_id accounting_field_selection_id vendor_id approval_status payment_method "
    "payment_status sync_status sync_ready is_archived from_created_at to_created_at "
    "from_due_date to_due_date from_issued_date to_issued_date from_paid_at "
    "to_paid_at min_amount max_amount"
)
BILL_FIELDS = _names(
    "accounting_field_selections due_at entity_id inventory_line_items invoice_number "
    "issued_at line_items memo payment_method posting_date purchase_order_id "
    "remote_id vendor_contact_id vendor_id"
)
VENDOR_FILTERS = frozenset(
    {"name", "is_active", "vendor_owner_id", "from_created_at", "sk_category_ids"}
)
VENDOR_FIELDS = _names(
    "accounting_vendor_remote_id address country description is_active state "
    "vendor_tracking_category_option_id"
)
PO_FILTERS = _names(
    "creation_source from_created_at to_created_at receipt_status entity_id "
    "three_way_match_enabled include_archived"
)
ENTITY_FILTERS = _names("currency entity_name is_primary")
CHART_FILTERS = _names("remote_id is_active is_synced")
FIELD_FILTERS = _names("remote_id is_active")
OPTION_FILTERS = _names("remote_id code is_active")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return datetime.combine(value, clock_time(0), tzinfo=UTC).isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal | int | str):
        return str(value)
    if isinstance(value, list | tuple):
        return ",".join(_query_value(v) for v in value)
    raise TypeError(f"cannot send {type(value).__name__} as a query value")


def checked(given: Mapping[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValueError(f"unknown Ramp {what}: {', '.join(unknown)}")
    return {key: value for key, value in given.items() if value is not None}


def query_params(filters: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, str]:
    return {k: _query_value(v) for k, v in checked(filters, allowed, "filter").items()}


def segment(value: str) -> str:
    return quote(value, safe="")


def batch(items: Sequence[Any], what: str) -> None:
    if not 1 <= len(items) <= MAX_UPLOAD:
        raise ValueError(f"a Ramp {what} upload takes 1 to {MAX_UPLOAD} items, not {len(items)}")


# Event families whose subscription needs ``<family>:read`` (ramp-api.md §2.4, §8).
EVENT_FAMILIES = frozenset(
    {"bills", "purchase_orders", "vendors", "transactions", "reimbursements", "transfers"}
)
# What a file host answers to a link that no longer works: S3-style hosts say 403 (expired or
# bad signature) or 400; some answer 401, 404 or 410 for a link that is gone.
REFUSED_LINK = frozenset({400, 401, 403, 404, 410})
_S3_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.S)


def s3_message(text: str) -> str:
    """The ``<Message>`` of an S3-style XML error body, else the text as it came."""
    found = _S3_MESSAGE.search(text or "")
    return found.group(1).strip() if found else (text or "").strip()


def content_type(value: str | None) -> str | None:
    """The media type of a ``Content-Type`` header, without parameters; None when absent."""
    kind = (value or "").split(";", 1)[0].strip().lower()
    return kind or None


def file_name(value: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*`` first, RFC 6266)."""
    if not value:
        return None
    header = Message()
    header["content-disposition"] = value
    params = header.get_params(header="content-disposition") or []
    names = [v for k, v in params if k.lower() == "filename"]
    # ``filename*`` (RFC 5987, decoded as a (charset, language, text) triple) wins over
    # ``filename``, as RFC 6266 says; the plain one is the fallback for old clients.
    extended = [v for v in names if isinstance(v, tuple)]
    chosen = extended[0] if extended else (names[0] if names else None)
    name = collapse_rfc2231_value(chosen) if chosen else ""
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()  # never a path
    return name or None


def upload_row(item_id: str, **fields: str | None) -> dict[str, str]:
    return {"id": item_id, **{k: v for k, v in fields.items() if v is not None}}


def patch_body(*, reactivate: bool, **fields: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if reactivate:
        body["reactivate"] = True
    return body
