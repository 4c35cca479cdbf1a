"""Visma read models of accounts payable: suppliers and their set-up (classes, credit terms,
VAT zones), supplier invoices, purchase orders, supplier payments, and what release actions and
background requests answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ml_connector.clients._visma_model import IdDescription, Metadata, VismaDate, VismaModel
from ml_connector.clients.visma_ledger_models import AccountRef, Subaccount

__all__ = [
    "ActionResult",
    "Address",
    "Attachment",
    "BackgroundState",
    "Contact",
    "Country",
    "CreditTerm",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Supplier",
    "SupplierClass",
    "SupplierInvoice",
    "SupplierInvoiceLine",
    "SupplierPayment",
    "SupplierPaymentLine",
    "SupplierRef",
    "VatZone",
]


class Country(VismaModel):
    id: str | None = None
    name: str | None = None


class Address(VismaModel):
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: Country | None = None


class Contact(VismaModel):
    name: str | None = None
    attention: str | None = None
    email: str | None = None
    phone1: str | None = None


class Supplier(VismaModel):
    """A supplier (``SupplierDto``); ``etag`` is set when it was read one by one."""

    internal_id: int | None = None
    number: str
    name: str | None = None
    status: str | None = None
    main_address: Address | None = None
    main_contact: Contact | None = None
    currency_id: str | None = None
    credit_terms: IdDescription | None = None
    payment_method: IdDescription | None = None
    supplier_class: IdDescription | None = None
    vat_zone: IdDescription | None = None
    vat_registration_id: str | None = None
    corporate_id: str | None = None
    note: str | None = None
    last_modified_date_time: datetime | None = None
    time_stamp: str | None = None
    metadata: Metadata | None = None
    etag: str | None = None


class SupplierRef(VismaModel):
    internal_id: int | None = None
    number: str | None = None
    name: str | None = None


class Attachment(VismaModel):
    name: str | None = None
    id: str | None = None
    revision: int | None = None


class SupplierInvoiceLine(VismaModel):
    line_number: int | None = None
    transaction_description: str | None = None
    quantity: Decimal | None = None
    unit_cost_in_currency: Decimal | None = None
    cost_in_currency: Decimal | None = None
    account: AccountRef | None = None
    subaccount: Subaccount | None = None
    vat_code: IdDescription | None = None
    project: IdDescription | None = None
    project_task: IdDescription | None = None
    po_number: str | None = None
    po_line_nr: int | None = None
    note: str | None = None


class SupplierInvoice(VismaModel):
    """An AP document (``SupplierInvoiceDto``); ``etag`` is set when read one by one."""

    document_type: str
    reference_number: str
    status: str | None = None
    hold: bool | None = None
    date: VismaDate | None = None
    due_date: VismaDate | None = None
    financial_period: str | None = None
    post_period: str | None = None
    supplier: SupplierRef | None = None
    supplier_reference: str | None = None
    description: str | None = None
    note: str | None = None
    currency_id: str | None = None
    amount: Decimal | None = None
    vat_amount: Decimal | None = None
    detail_total_in_currency: Decimal | None = None
    vat_total_in_currency: Decimal | None = None
    balance_in_currency: Decimal | None = None
    rounding_diff_in_currency: Decimal | None = None
    tax_calculation_mode: str | None = None
    invoice_lines: tuple[SupplierInvoiceLine, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    created_date_time: datetime | None = None
    last_modified_date_time: datetime | None = None
    time_stamp: str | None = None
    metadata: Metadata | None = None
    etag: str | None = None

    @property
    def supplier_number(self) -> str | None:
        return self.supplier.number if self.supplier is not None else None


class SupplierClass(VismaModel):
    """A supplier class (``SupplierClassDto``): the defaults Visma gives its suppliers."""

    id: str
    description: str | None = None
    payment_method_id: str | None = None


class CreditTerm(VismaModel):
    """Credit terms (``CreditTermDto``); ``visible_to`` is AL (all), VE (suppliers), CU, DS."""

    terms_id: str
    description: str | None = None
    visible_to: str | None = None
    due_date_type: str | None = None
    due_day1: int | None = None

    @property
    def for_suppliers(self) -> bool:
        return (self.visible_to or "AL").upper() in ("AL", "VE")


class VatZone(VismaModel):
    id: str
    description: str | None = None
    default_vat_category: str | None = None


class PurchaseOrderLine(VismaModel):
    line_nbr: int | None = None
    line_type: str | None = None
    line_description: str | None = None
    order_qty: Decimal | None = None
    unit_cost: Decimal | None = None
    ext_cost: Decimal | None = None
    amount: Decimal | None = None
    account: AccountRef | None = None
    sub: Subaccount | None = None
    project: IdDescription | None = None
    project_task: IdDescription | None = None
    qty_on_receipts: Decimal | None = None
    received_amt: Decimal | None = None
    completed: bool | None = None
    canceled: bool | None = None


class PurchaseOrder(VismaModel):
    order_type: str | None = None
    order_nbr: str
    status: str | None = None
    hold: bool | None = None
    date: VismaDate | None = None
    promised_on: VismaDate | None = None
    description: str | None = None
    supplier: SupplierRef | None = None
    currency: str | None = None
    supplier_ref: str | None = None
    order_total: Decimal | None = None
    line_total: Decimal | None = None
    lines: tuple[PurchaseOrderLine, ...] = ()
    note: str | None = None
    last_modified_date_time: datetime | None = None
    time_stamp: str | None = None
    etag: str | None = None


class SupplierPaymentLine(VismaModel):
    """One document a supplier payment is applied to (``SupplierPaymentAdjustmentDto``)."""

    doc_type: str | None = None
    invoice_ref_nbr: str | None = None
    amount_paid: Decimal | None = None
    balance: Decimal | None = None
    date: VismaDate | None = None
    description: str | None = None
    currency: str | None = None


class SupplierPayment(VismaModel):
    """A supplier payment (``SupplierPaymentDto``); ``etag`` is set when read one by one."""

    type: str | None = None
    ref_nbr: str
    status: str | None = None
    hold: bool | None = None
    application_date: VismaDate | None = None
    application_period: str | None = None
    payment_ref: str | None = None
    supplier: SupplierRef | None = None
    payment_method: str | None = None
    cash_account: str | None = None
    currency: IdDescription | None = None
    description: str | None = None
    payment_amount: Decimal | None = None
    balance: Decimal | None = None
    unapplied_balance: Decimal | None = None
    applied_amount: Decimal | None = None
    released: bool | None = None
    payment_lines: tuple[SupplierPaymentLine, ...] = ()
    last_modified_date_time: datetime | None = None
    time_stamp: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class ActionResult:
    """What a release action answered.

    The current API answers 202 with a background request (``background_id``, to poll at
    ``GET /v1/background/{id}``); the 9.11 API answered 200 with ``action_result`` (``Queued``,
    ``InProcess``, ``Failed`` or ``Done``) and ``error_info``. Neither says the document is
    released: only reading the document back does.
    """

    action_id: str | None = None
    action_result: str | None = None
    error_info: str | None = None
    background_id: str | None = None
    state_location: str | None = None


class BackgroundState(VismaModel):
    """``BackgroundRequestStateDto``: where a background request stands.

    ``status`` is ``Started``, ``Finished`` or ``Failed``; ``status_code`` is the HTTP status
    of the finished operation (0 until it is done); the operation's own answer, if any, is at
    ``GET /v1/background/{id}/content``.
    """

    id: str
    status: str
    status_code: int = 0
    error_message: str | None = None
    original_uri: str | None = None
    has_response_content: bool = False
    content_location: str | None = None
    received_utc: datetime | None = None
    finished_utc: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status == "Finished"

    @property
    def succeeded(self) -> bool:
        return self.finished and 200 <= self.status_code < 300
