"""Typed Ramp Developer API objects (read models) and the small upload values we send.

Read models are pydantic, frozen and tolerant: unknown fields are ignored, so a field Ramp adds
tomorrow breaks nothing. Field names and shapes follow Ramp's OpenAPI spec. Money is
``CurrencyAmount``: integer minor units plus an ISO-4217 code, never a float. Date-times are
accepted with or without a UTC offset; a missing offset means UTC, as Ramp documents.
Enumerations stay plain strings, because Ramp extends its enums without notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

__all__ = [
    "AccountingConnection",
    "AccountingField",
    "AccountingFieldSelection",
    "AccountingVendor",
    "AccountingVendorUpload",
    "Address",
    "Bill",
    "BillLineItem",
    "BillPayment",
    "BillVendor",
    "CategoryInfo",
    "CurrencyAmount",
    "Entity",
    "FieldOption",
    "FieldOptionUpload",
    "GLAccount",
    "GLAccountUpload",
    "InventoryLineItem",
    "InvoiceFile",
    "PurchaseOrder",
    "PurchaseOrderLineItem",
    "SyncFailure",
    "SyncSuccess",
    "Vendor",
    "VendorContact",
    "WebhookSubscription",
    "parse_form_answers",
]


def _assume_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_assume_utc)]


class _RampModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CurrencyAmount(_RampModel):
    """An amount in minor units (cents, øre) of ``currency_code``."""

    amount: int
    currency_code: str = "USD"


class CategoryInfo(_RampModel):
    """The accounting field a selection belongs to; ``external_id`` is the ERP's field id."""

    id: str
    name: str = ""
    external_id: str = ""
    type: str = ""


class AccountingFieldSelection(_RampModel):
    """One coding choice: ``external_id`` is the ERP's option id (a Visma account, project …)."""

    id: str
    name: str = ""
    external_id: str = ""
    external_code: str | None = None
    category_info: CategoryInfo


class BillVendor(_RampModel):
    id: str
    name: str
    remote_id: str | None = None
    remote_code: str | None = None
    remote_name: str | None = None
    type: str | None = None


class BillLineItem(_RampModel):
    amount: CurrencyAmount
    memo: str | None = None
    accounting_field_selections: tuple[AccountingFieldSelection, ...] = ()


class InventoryLineItem(_RampModel):
    amount: CurrencyAmount
    unit_price: CurrencyAmount
    unit_quantity: int
    memo: str | None = None
    accounting_field_selections: tuple[AccountingFieldSelection, ...] = ()


class BillPayment(_RampModel):
    amount: CurrencyAmount
    payment_method: str | None = None
    payment_date: UtcDateTime | None = None
    effective_date: UtcDateTime | None = None
    details: dict[str, Any] | None = None


class Bill(_RampModel):
    """A bill-pay bill. ``status`` is payment state (OPEN|PAID); ``approval_status`` is review."""

    id: str
    amount: CurrencyAmount
    status: str
    approval_status: str | None = None
    sync_status: str = "NOT_SYNCED"
    invoice_number: str | None = None
    invoice_urls: tuple[str, ...] = ()
    issued_at: UtcDateTime | None = None
    due_at: UtcDateTime | None = None
    accounting_date: UtcDateTime | None = None
    posting_date: UtcDateTime | None = None
    created_at: UtcDateTime | None = None
    paid_at: UtcDateTime | None = None
    archived_at: UtcDateTime | None = None
    memo: str | None = None
    vendor_memo: str | None = None
    entity_id: str | None = None
    vendor: BillVendor
    vendor_contact_id: str | None = None
    line_items: tuple[BillLineItem, ...] = ()
    inventory_line_items: tuple[InventoryLineItem, ...] = ()
    accounting_field_selections: tuple[AccountingFieldSelection, ...] = ()
    payment: BillPayment | None = None
    remote_id: str | None = None
    deep_link_url: str | None = None
    fx_conversion_rate: Decimal | None = None


class Address(_RampModel):
    address_line_1: str = ""
    address_line_2: str | None = None
    city: str = ""
    postal_code: str = ""
    country: str = ""
    state: str | None = None


def _answer_text(item: dict[str, Any]) -> str | None:
    """An answer as text: a TEXT/PARAGRAPH ``value.value``, a NUMBER without its float tail,
    else Ramp's own ``value_display_string``."""
    value = _mapping(item.get("field")).get("value")
    inner = _mapping(value).get("value") if isinstance(value, dict) else None
    if isinstance(inner, str):
        return inner
    if isinstance(inner, bool):
        inner = None
    if isinstance(inner, int | float) and Decimal(str(inner)) == Decimal(str(inner)).to_integral():
        return format(Decimal(str(inner)).quantize(Decimal(1)), "f")
    display = item.get("value_display_string")
    return display if isinstance(display, str) else None


def parse_form_answers(response: Any) -> tuple[tuple[str, str], ...]:
    """Vendor onboarding answers as ``(label, text)``, from ``custom_form_collection_response``
    (``custom_form_collection_log_entry.forms[].fields[]``), in form order, blanks left out."""
    answers: list[tuple[str, str]] = []
    entry = _mapping(_mapping(response).get("custom_form_collection_log_entry"))
    for form in _items(entry.get("forms")):
        for item in _items(_mapping(form).get("fields")):
            item = _mapping(item)
            label = item.get("label")
            text = _answer_text(item)
            if isinstance(label, str) and isinstance(text, str) and text.strip():
                answers.append((label.strip(), text.strip()))
    return tuple(answers)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class Vendor(_RampModel):
    """A bill-pay vendor. Its organisation and VAT numbers are wherever the customer put them:
    form answers and free text (``mapping.vendor_identity`` finds them)."""

    id: str
    name: str
    name_legal: str | None = None
    description: str | None = None
    country: str | None = None
    state: str | None = None
    address: Address | None = None
    tax_address: Address | None = None
    vendor_type: str | None = None
    accounting_vendor_remote_id: str | None = None
    contacts: tuple[str, ...] = ()
    is_active: bool = True
    created_at: UtcDateTime | None = None
    custom_form_collection_response: dict[str, Any] | None = None

    @property
    def form_answers(self) -> tuple[tuple[str, str], ...]:
        """The onboarding form's answers as ``(label, text)`` (``GET /vendors/{id}`` only)."""
        return parse_form_answers(self.custom_form_collection_response)

    @property
    def free_texts(self) -> tuple[tuple[str, str], ...]:
        """``(field, text)`` of the vendor's free-text fields, where numbers may be written."""
        texts = (("name_legal", self.name_legal), ("description", self.description))
        return tuple((name, text) for name, text in texts if text and text.strip())


class VendorContact(_RampModel):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    is_default: bool = False


class Entity(_RampModel):
    id: str
    entity_name: str | None = None
    currency: str | None = None
    is_primary: bool | None = None
    location_ids: tuple[str, ...] = ()
    accounts: tuple[dict[str, Any], ...] = ()


class PurchaseOrderLineItem(_RampModel):
    id: str
    amount: CurrencyAmount
    unit_price: CurrencyAmount | None = None
    unit_quantity: int | None = None
    description: str | None = None
    remote_id: str | None = None
    accounting_field_selections: tuple[AccountingFieldSelection, ...] = ()


class PurchaseOrder(_RampModel):
    id: str
    purchase_order_number: str | None = None
    name: str | None = None
    memo: str | None = None
    amount: CurrencyAmount
    spend_total_amount: CurrencyAmount | None = None
    entity_id: str | None = None
    vendor_id: str | None = None
    net_payment_terms: int | None = None
    promise_date: UtcDateTime | None = None
    billing_status: str | None = None
    receipt_status: str | None = None
    creation_source: str | None = None
    remote_id: str | None = None
    created_at: UtcDateTime | None = None
    archived_at: UtcDateTime | None = None
    line_items: tuple[PurchaseOrderLineItem, ...] = ()
    accounting_field_selections: tuple[AccountingFieldSelection, ...] = ()
    bill_ids: tuple[str, ...] = ()  # the bills matched to this order


class CategoryRef(_RampModel):
    id: str | None = None
    name: str | None = None
    ramp_id: str | None = None


class GLAccount(_RampModel):
    """A GL account in Ramp's chart; ``id`` is the ERP's id, ``ramp_id`` the path parameter."""

    ramp_id: str
    id: str | None = None
    name: str
    code: str | None = None
    classification: str | None = None
    is_active: bool = True
    created_at: UtcDateTime | None = None
    updated_at: UtcDateTime | None = None
    gl_account_category_info: CategoryRef | None = None


class AccountingField(_RampModel):
    """A custom accounting field (a dimension); ``id`` is the ERP's id."""

    ramp_id: str
    id: str | None = None
    name: str | None = None
    display_name: str | None = None
    input_type: str = "SINGLE_CHOICE"
    is_active: bool = True
    is_required_for: tuple[str, ...] = ()
    is_splittable: bool | None = None


class FieldOption(_RampModel):
    ramp_id: str
    id: str | None = None
    value: str | None = None
    display_name: str | None = None
    code: str | None = None
    visibility: str | None = None
    is_active: bool = True


class AccountingVendor(_RampModel):
    ramp_id: str
    id: str | None = None
    name: str
    code: str | None = None
    is_active: bool = True
    is_synced: bool = False


class AccountingConnection(_RampModel):
    id: str
    remote_provider_name: str | None = None
    status: str = ""
    is_active: bool = False
    created_at: UtcDateTime | None = None
    last_linked_at: UtcDateTime | None = None


class WebhookSubscription(_RampModel):
    """A webhook subscription. Its signing secret is returned once, by ``create_webhook``."""

    id: str
    endpoint_url: str
    event_types: tuple[str, ...] = ()
    status: str = ""
    additional_headers: dict[str, str] = Field(default_factory=dict)
    business_id: str | None = None
    created_at: UtcDateTime | None = None
    updated_at: UtcDateTime | None = None


@dataclass(frozen=True)
class GLAccountUpload:
    """One GL account to push to Ramp (``id`` is the ERP account number)."""

    id: str
    name: str
    classification: str = "EXPENSE"
    code: str | None = None


@dataclass(frozen=True)
class FieldOptionUpload:
    id: str
    value: str
    code: str | None = None


@dataclass(frozen=True)
class AccountingVendorUpload:
    id: str
    name: str


@dataclass(frozen=True)
class SyncSuccess:
    """A Ramp object written to the ERP: ``reference_id`` is the ERP's id for it."""

    id: str
    reference_id: str
    deep_link_url: str | None = None


@dataclass(frozen=True)
class SyncFailure:
    """A Ramp object the ERP refused; ``message`` shows in Ramp's Export Errors."""

    id: str
    message: str


def secret_of(data: Any) -> SecretStr:
    """The webhook signing secret from a create-subscription answer, kept out of reprs."""
    return SecretStr(str(data.get("secret", "")) if isinstance(data, dict) else "")


@dataclass(frozen=True)
class InvoiceFile:
    """A downloaded invoice file and what its host said about it.

    ``content_type`` and ``filename`` come from the download's ``Content-Type`` and
    ``Content-Disposition`` headers; None when the host left them out.
    """

    content: bytes
    content_type: str | None
    filename: str | None
