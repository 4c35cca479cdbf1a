"""Reading Visma write bodies: the ``{"value": …}`` wrappers, as Visma's model binding reads them.

Every ``*UpdateDto`` wraps its scalars as ``{"value": X}``; nested objects are wrapped and their
own scalars wrapped again; line arrays, the line ``operation`` and segment lists are not wrapped
(reference §3.1). Each write DTO the sandbox accepts is described here as a table of ``Field``
kinds, and ``unwrap`` turns a body into plain Python values (``Decimal`` for numbers, ``datetime``
for dates, canonical enum spelling).

Binding rules, mirroring ASP.NET/JSON.NET defaults:
- property names match case-insensitively; unknown properties are ignored;
- ``{"value": null}`` and ``{}`` bind to None;
- an object with fields but no ``value`` where a wrapper belongs is refused with 400 (JSON.NET
  would bind null and silently drop the data; the sandbox is stricter on purpose);
- a wrapped field given a bare scalar (``"postPeriod": "112026"``) cannot be converted and the
  request fails with 400. The exact wording of Visma's message for this is not documented; the
  sandbox's text names the JSON path, as JSON.NET does (a documented guess);
- numbers sent as strings (``{"value": "1.60"}``) are accepted, as the docs' own example does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeAlias

from ml_connector.sandbox.visma.responses import ApiError

__all__ = [
    "ACCOUNT_WRITE",
    "PURCHASE_ORDER_WRITE",
    "SEGMENT_WRITE",
    "SUPPLIER_INVOICE_WRITE",
    "SUPPLIER_WRITE",
    "Field",
    "Nested",
    "Plain",
    "Rows",
    "Wrapped",
    "WrappedObject",
    "parse_datetime",
    "unwrap",
]

ScalarType = Literal["str", "dec", "int", "bool", "datetime"]


@dataclass(frozen=True)
class Wrapped:
    """A scalar sent as ``{"value": X}``."""

    type: ScalarType = "str"
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plain:
    """A scalar sent as itself (``operation``, ``segmentId``, …)."""

    type: ScalarType = "str"
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class WrappedObject:
    """An object sent as ``{"value": {…}}`` whose own fields follow ``fields``."""

    fields: Mapping[str, Field]


@dataclass(frozen=True)
class Nested:
    """An object sent as itself whose fields follow ``fields``."""

    fields: Mapping[str, Field]


@dataclass(frozen=True)
class Rows:
    """An array of objects whose fields follow ``fields``."""

    fields: Mapping[str, Field]


Field: TypeAlias = Wrapped | Plain | WrappedObject | Nested | Rows

OPERATIONS = ("Insert", "Update", "Delete")


def parse_datetime(text: str) -> datetime:
    """Parse the date-time forms Visma accepts (date only, ``T`` or space, optional fraction)."""
    candidate = text.strip().replace(" ", "T")
    if candidate.endswith("Z"):
        candidate = candidate[:-1]
    parsed = datetime.fromisoformat(candidate)
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed


def _type_name(kind: ScalarType) -> str:
    return {
        "str": "System.String",
        "dec": "System.Decimal",
        "int": "System.Int32",
        "bool": "System.Boolean",
        "datetime": "System.DateTime",
    }[kind]


def _conversion_error(raw: Any, target: str, path: str) -> ApiError:
    shown = raw if isinstance(raw, str) else type(raw).__name__
    return ApiError.bad_request(
        f"The request is invalid. Error converting value '{shown}' to type '{target}'. "
        f"Path '{path}'."
    )


def _scalar(raw: Any, kind: ScalarType, enum: tuple[str, ...], path: str) -> Any:
    if raw is None:
        return None
    if isinstance(raw, dict | list):
        raise _conversion_error(raw, _type_name(kind), path)
    try:
        if enum:
            text = str(raw)
            for option in enum:
                if option.lower() == text.lower():
                    return option
            raise ValueError(text)
        if kind == "str":
            if isinstance(raw, bool):
                return "True" if raw else "False"
            return raw if isinstance(raw, str) else format(raw, "f")
        if kind == "dec":
            if isinstance(raw, bool):
                raise ValueError(raw)
            return Decimal(str(raw)) if not isinstance(raw, Decimal) else raw
        if kind == "int":
            if isinstance(raw, bool):
                raise ValueError(raw)
            number = Decimal(str(raw))
            if number != number.to_integral_value():
                raise ValueError(raw)
            return int(number)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            raise ValueError(raw)
        if not isinstance(raw, str):
            raise ValueError(raw)
        return parse_datetime(raw)
    except (ValueError, InvalidOperation, ArithmeticError):
        raise _conversion_error(raw, _type_name(kind), path) from None


def _field(raw: Any, spec: Field, path: str) -> Any:
    if isinstance(spec, Plain):
        return _scalar(raw, spec.type, spec.enum, path)
    if isinstance(spec, Wrapped | WrappedObject):
        if raw is None:
            return None
        if not isinstance(raw, dict):
            target = "DtoValue" if isinstance(spec, Wrapped) else "DtoValue of an object"
            raise _conversion_error(raw, target, path)
        if raw and not any(key.lower() == "value" for key in raw):
            # Strictness beyond JSON.NET (which would bind null and drop the data): an object
            # with fields but no "value" is an unwrapped object, almost surely a client bug.
            raise _conversion_error(raw, "DtoValue", path)
        inner = _lookup(raw, "value")
        if isinstance(spec, Wrapped):
            return _scalar(inner, spec.type, spec.enum, f"{path}.value")
        return None if inner is None else unwrap(inner, spec.fields, f"{path}.value")
    if isinstance(spec, Nested):
        return None if raw is None else unwrap(raw, spec.fields, path)
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise _conversion_error(raw, "a JSON array", path)
    return [unwrap(row, spec.fields, f"{path}[{index}]") for index, row in enumerate(raw)]


def _lookup(data: Mapping[str, Any], name: str) -> Any:
    for key, value in data.items():
        if key.lower() == name.lower():
            return value
    return None


def unwrap(data: Any, fields: Mapping[str, Field], path: str = "") -> dict[str, Any]:
    """Bind ``data`` to a write DTO: a dict of the fields present, in their canonical names.

    Raises ``ApiError`` (400) when a value cannot be converted, e.g. an unwrapped scalar.
    """
    if not isinstance(data, dict):
        raise _conversion_error(data, "an object", path or "$")
    by_lower = {name.lower(): name for name in fields}
    result: dict[str, Any] = {}
    for key, raw in data.items():
        name = by_lower.get(key.lower())
        if name is None:
            continue
        result[name] = _field(raw, fields[name], f"{path}.{name}" if path else name)
    return result


SEGMENTS = Rows({"segmentId": Plain("int"), "segmentValue": Plain("str")})

ADDRESS_WRITE: Mapping[str, Field] = {
    name: Wrapped()
    for name in (
        "addressLine1",
        "addressLine2",
        "addressLine3",
        "postalCode",
        "city",
        "countryId",
        "county",
    )
}
CONTACT_WRITE: Mapping[str, Field] = {
    name: Wrapped() for name in ("name", "attention", "email", "web", "phone1", "phone2", "fax")
}

SUPPLIER_STATUSES = ("Active", "OnHold", "HoldPayments", "Inactive", "OneTime")

SUPPLIER_WRITE: Mapping[str, Field] = {
    "number": Wrapped(),
    "name": Wrapped(),
    "status": Wrapped(enum=SUPPLIER_STATUSES),
    "accountReference": Wrapped(),
    "supplierClassId": Wrapped(),
    "overrideWithClassValues": Plain("bool"),
    "creditTermsId": Wrapped(),
    "documentLanguage": Wrapped(),
    "currencyId": Wrapped(),
    "paymentMethodId": Wrapped(),
    "cashAccount": Wrapped(),
    "vatRegistrationId": Wrapped(),
    "corporateId": Wrapped(),
    "vatZoneId": Wrapped(),
    "mainAddress": WrappedObject(ADDRESS_WRITE),
    "mainContact": WrappedObject(CONTACT_WRITE),
    "remitAddress": WrappedObject(ADDRESS_WRITE),
    "remitContact": WrappedObject(CONTACT_WRITE),
    "supplierAddress": WrappedObject(ADDRESS_WRITE),
    "supplierContact": WrappedObject(CONTACT_WRITE),
    "note": Wrapped(),
    "overrideNumberSeries": Wrapped("bool"),
}

SUPPLIER_INVOICE_LINE_WRITE: Mapping[str, Field] = {
    "operation": Plain(enum=OPERATIONS),
    "lineNumber": Wrapped("int"),
    "inventoryNumber": Wrapped(),
    "transactionDescription": Wrapped(),
    "quantity": Wrapped("dec"),
    "uom": Wrapped(),
    "unitCostInCurrency": Wrapped("dec"),
    "costInCurrency": Wrapped("dec"),
    "accountNumber": Wrapped(),
    "subaccount": SEGMENTS,
    "vatCodeId": Wrapped(),
    "note": Wrapped(),
    "projectId": Wrapped(),
    "projectTaskId": Wrapped(),
    "linkLine": Nested(
        {
            "purchaseType": Plain(enum=("PurchaseOrder", "PurchaseReceipt")),
            "purchaseNumber": Wrapped(),
            "purchaseLineNbr": Wrapped("int"),
        }
    ),
}

SUPPLIER_INVOICE_WRITE: Mapping[str, Field] = {
    "documentType": Wrapped(
        enum=("Invoice", "CreditAdj", "DebitAdj", "Prepayment", "Refund", "Payment")
    ),
    "referenceNumber": Wrapped(),
    "hold": Wrapped("bool"),
    "date": Wrapped("datetime"),
    "origInvoiceDate": Wrapped("datetime"),
    "postPeriod": Wrapped(),
    "financialPeriod": Wrapped(),
    "supplierReference": Wrapped(),
    "description": Wrapped(),
    "supplierNumber": Wrapped(),
    "currencyId": Wrapped(),
    "paymentRefNo": Wrapped(),
    "creditTermsId": Wrapped(),
    "dueDate": Wrapped("datetime"),
    "note": Wrapped(),
    "exchangeRate": Wrapped("dec"),
    "taxCalculationMode": Wrapped(enum=("TaxSetting", "Gross", "Net")),
    "amount": Wrapped("dec"),
    "vatAmount": Wrapped("dec"),
    "invoiceLines": Rows(SUPPLIER_INVOICE_LINE_WRITE),
    "overrideNumberSeries": Wrapped("bool"),
}

PURCHASE_ORDER_LINE_WRITE: Mapping[str, Field] = {
    "operation": Plain(enum=OPERATIONS),
    "lineNumber": Wrapped("int"),
    "inventory": Wrapped(),
    "lineType": Wrapped(
        enum=(
            "GoodsForInventory",
            "GoodsForSalesOrder",
            "GoodsForReplenishment",
            "GoodsForDropShip",
            "NonStockForDropShip",
            "NonStockForSalesOrder",
            "NonStock",
            "Service",
            "Freight",
            "Description",
        )
    ),
    "lineDescription": Wrapped(),
    "uom": Wrapped(),
    "orderQty": Wrapped("dec"),
    "unitCost": Wrapped("dec"),
    "extCost": Wrapped("dec"),
    "account": Wrapped(),
    "sub": SEGMENTS,
    "project": Wrapped(),
    "projectTask": Wrapped(),
    "requested": Wrapped("datetime"),
    "promised": Wrapped("datetime"),
    "note": Wrapped(),
}

PURCHASE_ORDER_WRITE: Mapping[str, Field] = {
    "orderType": Wrapped(enum=("RegularOrder", "DropShip", "Blanket", "StandardBlanket")),
    "orderNumber": Wrapped(),
    "hold": Wrapped("bool"),
    "date": Wrapped("datetime"),
    "promisedOn": Wrapped("datetime"),
    "description": Wrapped(),
    "supplier": Wrapped(),
    "currency": Wrapped(),
    "supplierRef": Wrapped(),
    "lines": Rows(PURCHASE_ORDER_LINE_WRITE),
    "note": Wrapped(),
    "overrideNumberSeries": Wrapped("bool"),
}

ACCOUNT_WRITE: Mapping[str, Field] = {
    "accountCD": Wrapped(),
    "active": Wrapped("bool"),
    "accountClass": Wrapped(),
    "description": Wrapped(),
    "type": Wrapped(enum=("Asset", "Liability", "Income", "Expense")),
    "taxCategory": Wrapped(),
}

SEGMENT_WRITE: Mapping[str, Field] = {
    "dimensionId": Plain(),
    "segementId": Plain("int"),  # sic: the spec's spelling
    "description": Wrapped(),
    "segmentValues": Rows(
        {
            "operation": Plain(enum=OPERATIONS),
            "value": Plain(),
            "description": Wrapped(),
            "active": Wrapped("bool"),
        }
    ),
}
