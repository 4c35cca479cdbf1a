"""Typed Ramp Developer API objects (read models) and the small upload values we send.

Read models are pydantic, frozen and tolerant: unknown fields are ignored, so a field Ramp adds
tomorrow breaks nothing. Field names and shapes follow Ramp's OpenAPI spec. Money is
``CurrencyAmount``: integer minor units plus an ISO-4217 code, never a float. Date-times are
accepted with or without a UTC offset; a missing offset means UTC, as Ramp documents.
Enumerations stay plain strings, because Ramp extends its enums without notice.

The accounting objects (chart, fields, accounting vendors, syncs, webhooks) live in
``ramp_accounting_models`` and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from ml_connector.clients._ramp_model import RampModel, UtcDateTime
from ml_connector.clients.ramp_accounting_models import (
    AccountingConnection,
    AccountingField,
    AccountingVendor,
    AccountingVendorUpload,
    FieldOption,
    FieldOptionUpload,
    GLAccount,
    GLAccountUpload,
    SyncFailure,
    SyncSuccess,
    WebhookSubscription,
)

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


class CurrencyAmount(RampModel):
    """An amount in minor units (cents, øre) of ``currency_code``."""

    amount: int
    currency_code: str = "USD"


class CategoryInfo(RampModel):
    """The accounting field a selection belongs to; ``external_id`` is the ERP's field id."""

    id: str
    name: str = ""
    external_id: str = ""
    type: str = ""


class AccountingFieldSelection(RampModel):
    """One coding choice: ``external_id`` is the ERP's option id (a Visma account, project …)."""

    id: str
    name: str = ""
    external_id: str = ""
    external_code: str | None = None
    category_info: CategoryInfo


class BillVendor(RampModel):
    id: str
    name: str
    remote_id: str | None = None
    remote_code: str | None = None
    remote_name: str | None = None
    type: str | None = None


class BillLineItem(RampModel):
    amount: CurrencyAmount
    memo: str | None = None
    accounting_field_selections: tuple[AccountingFieldSelection, ...] = ()


class InventoryLineItem(RampModel):
    amount: CurrencyAmount
    unit_price: CurrencyAmount
    unit_quantity: int
    memo: str | None = None
    accounting_field_selections: tuple[AccountingFieldSelection, ...] = ()


class BillPayment(RampModel):
    amount: CurrencyAmount
    payment_method: str | None = None
    payment_date: UtcDateTime | None = None
    effective_date: UtcDateTime | None = None
    details: dict[str, Any] | None = None


class Bill(RampModel):
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


class Address(RampModel):
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


class Vendor(RampModel):
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


class VendorContact(RampModel):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    is_default: bool = False


class Entity(RampModel):
    id: str
    entity_name: str | None = None
    currency: str | None = None
    is_primary: bool | None = None
    location_ids: tuple[str, ...] = ()
    accounts: tuple[dict[str, Any], ...] = ()


class PurchaseOrderLineItem(RampModel):
    id: str
    amount: CurrencyAmount
    unit_price: CurrencyAmount | None = None
    unit_quantity: int | None = None
    description: str | None = None
    remote_id: str | None = None
    accounting_field_selections: tuple[AccountingFieldSelection, ...] = ()


class PurchaseOrder(RampModel):
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
