"""Typed Visma.net ERP objects: plain read models, and unwrapped write models.

Read models mirror the spec's ``*Dto`` answers (plain JSON, camelCase) as frozen pydantic models
with snake_case names; unknown fields are ignored. Amounts are ``Decimal``. Document dates (a
supplier invoice's date, a period's start) are ``date``; Visma sends them as date-times without
an offset, and ``lastModifiedDateTime``-style stamps stay naive ``datetime`` in company time.

Write models are frozen dataclasses with Python names and no wrappers at all. ``visma.py`` alone
turns them into the ``{"value": …}``-wrapped camelCase bodies Visma expects; a None field is left
out of the body, so it is not changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "Account",
    "ActionResult",
    "AddressWrite",
    "BackgroundState",
    "ContactWrite",
    "CreditTerm",
    "Dimension",
    "DimensionSegment",
    "FinancialPeriod",
    "IdDescription",
    "LinkLineWrite",
    "Project",
    "ProjectTask",
    "ProjectVisibility",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderLineWrite",
    "PurchaseOrderWrite",
    "SegmentValue",
    "Subaccount",
    "SubaccountSegment",
    "Supplier",
    "SupplierClass",
    "SupplierInvoice",
    "SupplierInvoiceLine",
    "SupplierInvoiceLineWrite",
    "SupplierInvoiceWrite",
    "SupplierPayment",
    "SupplierPaymentLine",
    "SupplierPaymentLineWrite",
    "SupplierPaymentWrite",
    "SupplierRef",
    "SupplierWrite",
    "VatCode",
    "VatZone",
]


def _date_part(value: Any) -> Any:
    """Visma sends dates as date-times ("2025-11-08T00:00:00"); keep the calendar date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and len(value) >= 10:
        return value[:10]
    return value


VismaDate = Annotated[date, BeforeValidator(_date_part)]


class _VismaModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel)


class IdDescription(_VismaModel):
    """The small ``{id, description}`` reference Visma embeds (credit terms, VAT code …)."""

    id: str | None = None
    description: str | None = None


class Metadata(_VismaModel):
    """Paging facts repeated on every list record."""

    total_count: int | None = None
    max_page_size: int | None = None


class Country(_VismaModel):
    id: str | None = None
    name: str | None = None


class Address(_VismaModel):
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: Country | None = None


class Contact(_VismaModel):
    name: str | None = None
    attention: str | None = None
    email: str | None = None
    phone1: str | None = None


class Supplier(_VismaModel):
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


class SupplierRef(_VismaModel):
    internal_id: int | None = None
    number: str | None = None
    name: str | None = None


class AccountRef(_VismaModel):
    number: str | None = None
    description: str | None = None
    type: str | None = None
    active: bool | None = None


class SubaccountSegment(_VismaModel):
    segment_id: int
    segment_value: str | None = None
    segment_description: str | None = None
    segment_value_description: str | None = None


class Subaccount(_VismaModel):
    """A subaccount (one value per SUBACCOUNT segment), as listed or as embedded in a line."""

    subaccount_number: str | None = None
    subaccount_id: int | None = None
    description: str | None = None
    active: bool | None = None
    segments: tuple[SubaccountSegment, ...] = ()
    last_modified_date_time: datetime | None = None


class Attachment(_VismaModel):
    name: str | None = None
    id: str | None = None
    revision: int | None = None


class SupplierInvoiceLine(_VismaModel):
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


class SupplierInvoice(_VismaModel):
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


class Account(_VismaModel):
    """A GL account; ``number`` is Visma's ``accountCD``."""

    account_id: int | None = Field(default=None, alias="accountID")
    number: str = Field(alias="accountCD")
    description: str | None = None
    type: str | None = None
    active: bool = True
    account_class: str | None = None
    account_group_cd: str | None = Field(default=None, alias="accountGroupCD")
    currency: str | None = None
    tax_category: str | None = None
    last_modified_date_time: datetime | None = None


class SegmentValue(_VismaModel):
    value_id: str
    description: str | None = None
    active: bool = True
    segment_id: int | None = None
    last_modified: datetime | None = None


class DimensionSegment(_VismaModel):
    segment_id: int
    description: str | None = None
    length: int | None = None
    validate_values: bool | None = Field(default=None, alias="validate")
    is_auto_number: bool | None = None
    segment_values: tuple[SegmentValue, ...] = ()


class Dimension(_VismaModel):
    """A segmented key such as SUBACCOUNT, with its segments and their values."""

    id: str
    description: str | None = None
    length: int | None = None
    segments: tuple[DimensionSegment, ...] = ()

    def segment(self, segment_id: int) -> DimensionSegment | None:
        return next((s for s in self.segments if s.segment_id == segment_id), None)


class SupplierClass(_VismaModel):
    """A supplier class (``SupplierClassDto``): the defaults Visma gives its suppliers."""

    id: str
    description: str | None = None
    payment_method_id: str | None = None


class CreditTerm(_VismaModel):
    """Credit terms (``CreditTermDto``); ``visible_to`` is AL (all), VE (suppliers), CU, DS."""

    terms_id: str
    description: str | None = None
    visible_to: str | None = None
    due_date_type: str | None = None
    due_day1: int | None = None

    @property
    def for_suppliers(self) -> bool:
        return (self.visible_to or "AL").upper() in ("AL", "VE")


class VatZone(_VismaModel):
    id: str
    description: str | None = None
    default_vat_category: str | None = None


class ProjectVisibility(_VismaModel):
    visible_in_gl: bool | None = None
    visible_in_ap: bool | None = None
    visible_in_po: bool | None = None


def _visible(visibility: ProjectVisibility | None, module: str) -> bool:
    """Visma leaves a visibility flag out when it is on."""
    if visibility is None:
        return True
    flag = visibility.visible_in_ap if module == "AP" else visibility.visible_in_po
    return flag is not False


class ProjectTask(_VismaModel):
    """A task of a project (``TaskDto``, embedded in ``ProjectDto.tasks``)."""

    task_id: str
    description: str | None = None
    status: str | None = None  # Planned | Active | Cancelled | Canceled | Completed
    visibility: ProjectVisibility | None = None

    @property
    def visible_in_ap(self) -> bool:
        return _visible(self.visibility, "AP")

    @property
    def visible_in_po(self) -> bool:
        return _visible(self.visibility, "PO")


class Project(_VismaModel):
    internal_id: int | None = Field(default=None, alias="internalID")
    project_id: str = Field(alias="projectID")
    description: str | None = None
    status: str | None = None
    hold: bool | None = None
    visibility: ProjectVisibility | None = None
    tasks: tuple[ProjectTask, ...] = ()
    last_modified_date_time: datetime | None = None

    @property
    def visible_in_ap(self) -> bool:
        """Whether AP documents may use it; Visma leaves the flag out when it is on."""
        return _visible(self.visibility, "AP")

    @property
    def visible_in_po(self) -> bool:
        return _visible(self.visibility, "PO")


class VatSchedule(_VismaModel):
    start_date: VismaDate | None = None
    vat_rate: Decimal | None = None


class VatCode(_VismaModel):
    vat_id: str
    description: str | None = None
    type: str | None = None
    vat_category_id: str | None = None
    deductible_vat: bool | None = None
    reverse_vat: bool | None = None
    not_valid_after: VismaDate | None = None  # the last day the code may be used
    schedules: tuple[VatSchedule, ...] = ()

    @property
    def rate(self) -> Decimal | None:
        """The rate of the latest schedule, in percent."""
        dated = [s for s in self.schedules if s.vat_rate is not None]
        dated.sort(key=lambda s: s.start_date or date.min)
        return dated[-1].vat_rate if dated else None


class FinancialPeriod(_VismaModel):
    """A row of the period table; ``period`` is ``YYYYPP`` (financial year, period number),
    which reads as a calendar month only when the financial year is the calendar year."""

    year: int | None = None
    period: str
    start_date: VismaDate | None = None
    end_date: VismaDate | None = None
    description: str | None = None
    active: bool | None = None
    closed_in_supplier_ledger: bool = False
    closed_in_general_ledger: bool = False


class PurchaseOrderLine(_VismaModel):
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


class PurchaseOrder(_VismaModel):
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


class SupplierPaymentLine(_VismaModel):
    """One document a supplier payment is applied to (``SupplierPaymentAdjustmentDto``)."""

    doc_type: str | None = None
    invoice_ref_nbr: str | None = None
    amount_paid: Decimal | None = None
    balance: Decimal | None = None
    date: VismaDate | None = None
    description: str | None = None
    currency: str | None = None


class SupplierPayment(_VismaModel):
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


class BackgroundState(_VismaModel):
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


# --- write models (unwrapped; see visma.py for the wire form) ---------------------------------


@dataclass(frozen=True)
class AddressWrite:
    address_line1: str | None = None
    address_line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country_id: str | None = None


@dataclass(frozen=True)
class ContactWrite:
    name: str | None = None
    attention: str | None = None
    email: str | None = None
    phone1: str | None = None


@dataclass(frozen=True)
class SupplierWrite:
    """A supplier to create or change; None fields are left as they are."""

    number: str | None = None
    name: str | None = None
    status: str | None = None
    currency_id: str | None = None
    credit_terms_id: str | None = None
    vat_registration_id: str | None = None
    corporate_id: str | None = None
    main_address: AddressWrite | None = None
    main_contact: ContactWrite | None = None
    payment_method_id: str | None = None
    supplier_class_id: str | None = None
    vat_zone_id: str | None = None
    override_number_series: bool | None = None  # send a manual ``number`` past the series


@dataclass(frozen=True)
class LinkLineWrite:
    """Links an AP line to a purchase order (or receipt) line."""

    purchase_number: str
    purchase_line_nbr: int
    purchase_type: str = "PurchaseOrder"


@dataclass(frozen=True)
class SupplierInvoiceLineWrite:
    """One AP line. ``subaccount`` is ``(segment_id, value)`` pairs, e.g. ``((1, "100"),)``."""

    operation: str = "Insert"
    line_number: int | None = None
    account_number: str | None = None
    subaccount: tuple[tuple[int, str], ...] = ()
    transaction_description: str | None = None
    quantity: Decimal | None = None
    unit_cost_in_currency: Decimal | None = None
    cost_in_currency: Decimal | None = None
    vat_code_id: str | None = None
    project_id: str | None = None
    project_task_id: str | None = None
    link_line: LinkLineWrite | None = None


@dataclass(frozen=True)
class SupplierInvoiceWrite:
    """An AP document to create or change; ``lines`` empty means "leave the lines alone"."""

    document_type: str | None = None
    reference_number: str | None = None
    supplier_number: str | None = None
    supplier_reference: str | None = None
    date: dt.date | None = None
    due_date: dt.date | None = None
    currency_id: str | None = None
    financial_period: str | None = None
    description: str | None = None
    note: str | None = None
    hold: bool | None = None
    tax_calculation_mode: str | None = None
    amount: Decimal | None = None
    vat_amount: Decimal | None = None
    lines: tuple[SupplierInvoiceLineWrite, ...] = ()


@dataclass(frozen=True)
class PurchaseOrderLineWrite:
    operation: str = "Insert"
    line_number: int | None = None
    line_type: str | None = None
    inventory: str | None = None
    line_description: str | None = None
    uom: str | None = None
    order_qty: Decimal | None = None
    unit_cost: Decimal | None = None
    account: str | None = None
    sub: tuple[tuple[int, str], ...] = ()
    project: str | None = None
    project_task: str | None = None


@dataclass(frozen=True)
class PurchaseOrderWrite:
    order_type: str | None = None
    order_number: str | None = None
    hold: bool | None = None
    date: dt.date | None = None
    promised_on: dt.date | None = None
    description: str | None = None
    supplier: str | None = None
    currency: str | None = None
    supplier_ref: str | None = None
    note: str | None = None
    lines: tuple[PurchaseOrderLineWrite, ...] = ()


@dataclass(frozen=True)
class SupplierPaymentLineWrite:
    """Applies a payment to one AP document (``SupplierPaymentAdjustmentUpdateDto``)."""

    operation: str = "Insert"
    document_type: str | None = None
    ref_nbr: str | None = None
    amount_paid: Decimal | None = None


@dataclass(frozen=True)
class SupplierPaymentWrite:
    """A supplier payment to create (``SupplierPaymentUpdateDto``); ``lines`` are applications."""

    type: str | None = None
    hold: bool | None = None
    application_date: dt.date | None = None
    payment_ref: str | None = None
    supplier: str | None = None
    payment_method: str | None = None
    cash_account: str | None = None
    currency: str | None = None
    description: str | None = None
    payment_amount: Decimal | None = None
    lines: tuple[SupplierPaymentLineWrite, ...] = ()
