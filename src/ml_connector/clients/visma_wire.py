"""Visma's wire form, for the client alone: write models wrapped as the spec's ``*UpdateDto``
bodies, spec-named query parameters (unknown filters refused), keys from ``Location``, ETags, and
what release actions answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import httpx
from pydantic.alias_generators import to_camel

from ml_connector.clients._http import Reply
from ml_connector.clients.visma_models import (
    ActionResult,
    LinkLineWrite,
    PurchaseOrder,
    Supplier,
    SupplierInvoice,
    SupplierInvoiceWrite,
    SupplierPayment,
    SupplierPaymentWrite,
)

__all__ = [
    "ACCOUNT_FILTERS",
    "INVOICE_FILTERS",
    "PAYMENT_FILTERS",
    "PO_FILTERS",
    "PROJECT_FILTERS",
    "SUBACCOUNT_FILTERS",
    "SUPPLIER_FILTERS",
    "VAT_FILTERS",
    "action_result",
    "etag_of",
    "key_from_location",
    "query_params",
    "seg",
    "to_wire",
    "with_etag",
]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Query parameters per list endpoint, as the spec names them (paging is added by the client).
_MODIFIED = " lastModifiedDateTime lastModifiedDateTimeCondition"
SUPPLIER_FILTERS = _names(
    "greaterThanValue orderBy name status vatRegistrationId corporateId attributes "
    "expandAccountInformation expandNote" + _MODIFIED
)
INVOICE_FILTERS = _names(
    "supplier documentType released project status branch financialPeriod dueDate "
    "dueDateCondition docDate docDateCondition item balance balanceCondition greaterThanValue "
    "createdDateTime createdDateTimeCondition expandAttachment expandLandedCosts expandApproval "
    "expandNote expandLinePrebookAccounts" + _MODIFIED
)
ACCOUNT_FILTERS = _names(
    "active includeAccountClassDescription greaterThanValue publicCode externalCode1 "
    "externalCode2 analysisCode" + _MODIFIED
)
SUBACCOUNT_FILTERS = _names("active" + _MODIFIED)
PROJECT_FILTERS = _names(
    "status systemTemplate visibleInAP startDate expandAttribute attributes nonProject publicId "
    "branch createdDateTime createdDateTimeCondition" + _MODIFIED
)
VAT_FILTERS = _names(_MODIFIED)
PO_FILTERS = _names(
    "greaterThanValue orderType orderStatus supplier branch orderDate orderDateCondition "
    "deliveryDate deliveryDateCondition includeCustomFreeFields" + _MODIFIED
)
PAYMENT_FILTERS = _names(
    "invoiceRefNbr paymentType greaterThanValue supplier branch docDate docDateCondition "
    "dueDate dueDateCondition financialPeriod balance balanceCondition status" + _MODIFIED
)


def _scalar(value: Any) -> Any:
    """A write value as Visma takes it: dates as midnight date-times without an offset."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    if isinstance(value, Enum):
        return value.value
    return value


# Where the spec departs from "camelCase name, scalar wrapped as {"value": …}":
_RENAMED = {
    (SupplierInvoiceWrite, "lines"): "invoiceLines",
    (SupplierPaymentWrite, "lines"): "paymentLines",
}
_PLAIN_SCALARS = frozenset({"operation", "purchase_type"})  # enums sent bare
_UNWRAPPED_OBJECTS = (LinkLineWrite,)  # nested, but only its inner scalars are wrapped


def to_wire(write: Any) -> dict[str, Any]:
    """The ``*UpdateDto`` body for a write model; None fields and empty tuples are left out.

    Scalars become ``{"value": v}``. Nested objects (address, contact) become
    ``{"value": {…}}`` with their own scalars wrapped. Line lists stay plain lists of line
    objects, and ``(segment_id, value)`` pairs become ``[{"segmentId", "segmentValue"}]``.
    """
    body: dict[str, Any] = {}
    for spec in fields(write):
        value = getattr(write, spec.name)
        if value is None or value == ():
            continue
        name = _RENAMED.get((type(write), spec.name), to_camel(spec.name))
        if spec.name in _PLAIN_SCALARS:
            body[name] = _scalar(value)
        elif isinstance(value, _UNWRAPPED_OBJECTS):
            body[name] = to_wire(value)
        elif is_dataclass(value):
            body[name] = {"value": to_wire(value)}
        elif isinstance(value, tuple) and all(is_dataclass(item) for item in value):
            body[name] = [to_wire(item) for item in value]
        elif isinstance(value, tuple):
            body[name] = [{"segmentId": int(seg), "segmentValue": str(val)} for seg, val in value]
        else:
            body[name] = {"value": _scalar(value)}
    return body


def key_from_location(reply: Reply) -> str | None:
    """The new object's key: the last path segment of ``Location``, URL-decoded."""
    location = reply.headers.get("location")
    if not location:
        return None
    raw_path = httpx.URL(location).raw_path.decode("ascii").split("?", 1)[0]
    segment = raw_path.rstrip("/").rsplit("/", 1)[-1]
    return unquote(segment) or None


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # Visma filters refuse offsets and "Z": send the wall-clock time as given.
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal | int | str):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} as a Visma query value")


_QUERY_NAMES = {"visible_in_ap": "visibleInAP"}  # not the camelCase of the Python name


def query_params(filters: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, str]:
    """Spec-named query parameters; snake_case names are accepted and camelCased."""
    query: dict[str, str] = {}
    for name, value in filters.items():
        wire = name if name in allowed else _QUERY_NAMES.get(name, to_camel(name))
        if wire not in allowed:
            raise ValueError(f"unknown Visma filter: {name}")
        if value is not None:
            query[wire] = _query_value(value)
    return query


def seg(value: str) -> str:
    """One path segment, with every reserved character escaped."""
    return quote(value, safe="")


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def action_result(reply: Reply) -> ActionResult:
    """A release answer: 202 ``{"id", "stateLocation"}``, or the 9.11 ``{"actionId", …}``."""
    data = reply.data if isinstance(reply.data, dict) else {}
    if reply.status == 202:
        return ActionResult(
            background_id=_opt_str(data.get("id")),
            state_location=_opt_str(data.get("stateLocation")),
        )
    return ActionResult(
        action_id=_opt_str(data.get("actionId")),
        action_result=_opt_str(data.get("actionResult")),
        error_info=_opt_str(data.get("errorInfo")),
    )


_Etagged = TypeVar("_Etagged", Supplier, SupplierInvoice, PurchaseOrder, SupplierPayment)


def with_etag(model: type[_Etagged], reply: Reply) -> _Etagged:
    """Validate a single-object answer and keep its ETag for a later If-Match."""
    data = reply.data if isinstance(reply.data, dict) else {}
    return model.model_validate({**data, "etag": etag_of(reply)})


def etag_of(reply: Reply) -> str | None:
    value = reply.headers.get("etag")
    return value if isinstance(value, str) and value else None
