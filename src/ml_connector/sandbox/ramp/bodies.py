"""Request bodies of the Ramp endpoints the sandbox serves, as pydantic models.

Field names, types and limits follow the spec's ``*RequestBody`` schemas. Unknown fields are
refused (422): Ramp documents that some endpoints reject them, and a sandbox that ignored them
would let a client bug through. Parse failures become 422 ``DEVELOPER_7001`` with per-field
messages, the way Ramp's framework reports them; malformed JSON is a 400.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.requests import Request

from ml_connector.sandbox.ramp.errors import RampApiError

__all__ = [
    "PAYMENT_METHODS",
    "AccountingUpdateIn",
    "AccountingVendorUploadIn",
    "BillCreateIn",
    "BillUpdateIn",
    "ConnectionCreateIn",
    "FieldCreateIn",
    "FieldUpdateIn",
    "GLUploadIn",
    "OptionUpdateIn",
    "OptionUploadIn",
    "PurchaseOrderArchiveIn",
    "PurchaseOrderCreateIn",
    "SelectionIn",
    "SyncIn",
    "VendorCreateIn",
    "VendorUpdateIn",
    "WebhookCreateIn",
    "WebhookVerifyIn",
    "read_json",
]

PAYMENT_METHODS = (
    "ACH",
    "CARD",
    "CHECK",
    "DOMESTIC_WIRE",
    "INTERNATIONAL",
    "ONE_TIME_CARD",
    "ONE_TIME_CARD_DELIVERY",
    "PAID_MANUALLY",
    "SWIFT",
    "UNSPECIFIED",
    "VENDOR_CREDIT",
)
PaymentMethod = Literal[
    "ACH",
    "CARD",
    "CHECK",
    "DOMESTIC_WIRE",
    "INTERNATIONAL",
    "ONE_TIME_CARD",
    "ONE_TIME_CARD_DELIVERY",
    "PAID_MANUALLY",
    "SWIFT",
    "UNSPECIFIED",
    "VENDOR_CREDIT",
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Classification = Literal[
    "ANY", "ASSET", "CREDCARD", "EQUITY", "EXPENSE", "LIABILITY", "REVENUE", "UNKNOWN"
]
SyncType = Literal[
    "ACCRUAL_SYNC",
    "BANKING_TRANSACTION_SYNC",
    "BILL_PAYMENT_SYNC",
    "BILL_SYNC",
    "BROKERAGE_ORDER_SYNC",
    "PAYEE_SYNC",
    "REIMBURSEMENT_SYNC",
    "STATEMENT_CREDIT_SYNC",
    "TRACKING_CATEGORY_OPTION_SYNC",
    "TRANSACTION_SYNC",
    "TRANSFER_SYNC",
    "WALLET_TRANSFER_SYNC",
]
RequiredFor = Literal["BILL", "BILL_PAYMENT", "PURCHASE_ORDER", "REIMBURSEMENT", "TRANSACTION"]
M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SelectionIn(_Body):
    field_external_id: str
    field_option_external_id: str


class BillLineIn(_Body):
    amount: Annotated[Decimal, Field(ge=0)]
    memo: str | None = None
    accounting_field_selections: list[SelectionIn] = []


class InventoryLineIn(_Body):
    unit_price: Annotated[Decimal, Field(ge=0)]
    unit_quantity: Annotated[int, Field(ge=0)]
    memo: str | None = None
    accounting_field_selections: list[SelectionIn] = []


class BillCreateIn(_Body):
    vendor_id: UUID
    vendor_contact_id: UUID
    entity_id: UUID
    invoice_number: Annotated[str, Field(max_length=20)]
    invoice_currency: Currency
    issued_at: date
    due_at: date
    payment_method: PaymentMethod
    memo: Annotated[str | None, Field(max_length=1000)] = None
    remote_id: str | None = None
    posting_date: date | None = None
    accounting_field_selections: list[SelectionIn] = []
    line_items: list[BillLineIn] | None = None
    inventory_line_items: list[InventoryLineIn] | None = None
    payment_details: dict[str, Any] | None = None


class BillUpdateIn(_Body):
    """Every field optional; ``model_fields_set`` tells "absent" from an explicit null."""

    vendor_id: UUID | None = None
    vendor_contact_id: UUID | None = None
    entity_id: UUID | None = None
    invoice_number: Annotated[str | None, Field(max_length=20)] = None
    issued_at: date | None = None
    due_at: date | None = None
    memo: Annotated[str | None, Field(max_length=1000)] = None
    remote_id: str | None = None
    posting_date: date | None = None
    payment_method: PaymentMethod | None = None
    accounting_field_selections: list[SelectionIn] | None = None
    line_items: list[BillLineIn] | None = None
    inventory_line_items: list[InventoryLineIn] | None = None
    purchase_order_id: UUID | None = None


class AddressIn(_Body):
    address_line_1: str
    address_line_2: str | None = None
    city: str
    postal_code: str
    country: str | None = None
    state: str | None = None


class ContactIn(_Body):
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


class VendorCreateIn(_Body):
    country: str
    vendor_owner_id: UUID
    business_vendor_contacts: ContactIn
    name: str | None = None
    state: str | None = None
    address: AddressIn | None = None
    accounting_vendor_remote_id: str | None = None
    vendor_tracking_category_option_id: UUID | None = None
    request_payment_details: bool = False
    request_tax_details: bool = False


class VendorUpdateIn(_Body):
    accounting_vendor_remote_id: str | None = None
    vendor_tracking_category_option_id: UUID | None = None
    address: AddressIn | None = None
    country: str | None = None
    state: str | None = None
    is_active: bool | None = None


class PurchaseOrderLineIn(_Body):
    unit_price: Decimal
    unit_quantity: int
    description: str | None = None
    accounting_field_selections: list[SelectionIn] = []


class PurchaseOrderCreateIn(_Body):
    entity_id: UUID
    currency: Currency
    line_items: list[PurchaseOrderLineIn]
    three_way_match_enabled: bool
    vendor_id: UUID | None = None
    memo: str | None = None
    net_payment_terms: int | None = None
    promise_date: date | None = None
    purchase_order_number: str | None = None
    accounting_field_selections: list[SelectionIn] = []


class PurchaseOrderArchiveIn(_Body):
    archived_reason: str | None = None


class GLAccountIn(_Body):
    id: str
    name: str
    classification: Classification
    code: str | None = None


class GLUploadIn(_Body):
    gl_accounts: Annotated[list[GLAccountIn], Field(min_length=1, max_length=500)]


class AccountingVendorIn(_Body):
    id: str
    name: str


class AccountingVendorUploadIn(_Body):
    vendors: Annotated[list[AccountingVendorIn], Field(min_length=1, max_length=500)]


class AccountingUpdateIn(_Body):
    """PATCH body of GL accounts and accounting vendors."""

    name: str | None = None
    code: str | None = None
    reactivate: Literal[True] | None = None


class FieldCreateIn(_Body):
    id: str
    name: str
    input_type: Literal["BOOLEAN", "FREE_FORM_TEXT", "SINGLE_CHOICE"]
    display_name: str | None = None
    is_required_for: list[RequiredFor] = []
    is_splittable: bool = False


class FieldUpdateIn(_Body):
    name: str | None = None
    display_name: str | None = None
    is_splittable: bool | None = None


class OptionIn(_Body):
    id: str
    value: str
    code: str | None = None


class OptionUploadIn(_Body):
    field_id: UUID
    options: Annotated[list[OptionIn], Field(min_length=1, max_length=500)]


class OptionUpdateIn(_Body):
    value: str | None = None
    code: str | None = None
    display_name: str | None = None
    reactivate: Literal[True] | None = None
    visibility: Literal["HIDDEN", "VISIBLE"] | None = None


class ConnectionCreateIn(_Body):
    remote_provider_name: str
    reactivate: bool = False


class SyncErrorIn(_Body):
    message: str


class SuccessfulSyncIn(_Body):
    id: UUID
    reference_id: str
    deep_link_url: str | None = None


class FailedSyncIn(_Body):
    id: UUID
    error: SyncErrorIn


class SyncIn(_Body):
    idempotency_key: str
    sync_type: SyncType
    successful_syncs: Annotated[list[SuccessfulSyncIn], Field(min_length=1, max_length=5000)] = []
    failed_syncs: Annotated[list[FailedSyncIn], Field(min_length=1, max_length=5000)] = []


class WebhookCreateIn(_Body):
    endpoint_url: str
    event_types: list[str]
    additional_headers: dict[str, str] | None = None


class WebhookVerifyIn(_Body):
    challenge: str


async def read_json(request: Request, model: type[M]) -> M:
    """The request's JSON body as ``model``; 400 for bad JSON, 422 for a bad shape."""
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise RampApiError(400, "Request body is not valid JSON.") from None
    return parse(data, model)


def parse(data: Any, model: type[M]) -> M:
    """Validate already-decoded JSON against ``model``; 422 with per-field messages."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for problem in exc.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "_schema"
            message = "Unknown field." if problem["type"] == "extra_forbidden" else problem["msg"]
            fields.setdefault(where, []).append(message)
        first = next(iter(fields.items()))
        raise RampApiError(422, f"{first[0]}: {first[1][0]}", fields=fields) from None
