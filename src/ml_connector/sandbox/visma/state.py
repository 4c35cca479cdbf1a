"""The stored state of one simulated Visma.net company: master data and documents.

Each company is one ``CompanyState``; the sandbox keeps them in a dict keyed by company id, so a
second tenant/company is one more entry. Records are mutable dataclasses; the route handlers and
the control API change them only through ``CompanyState.touch`` (which bumps the row version
behind ``timeStamp``/``ETag`` and ``lastModifiedDateTime``) while holding ``CompanyState.lock``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol

from ml_connector.sandbox.visma.attachments import Attachment
from ml_connector.sandbox.visma.background import BackgroundQueue
from ml_connector.sandbox.visma.fiscal import FiscalCalendar
from ml_connector.sandbox.visma.journal_state import JournalTransaction
from ml_connector.sandbox.visma.supplier_setup import SupplierSetup

__all__ = [
    "Account",
    "Attachment",
    "CompanyState",
    "InvoiceLine",
    "PaymentApplication",
    "Period",
    "Project",
    "ProjectTask",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Segment",
    "SegmentValue",
    "Subaccount",
    "Subscription",
    "Supplier",
    "SupplierInvoice",
    "SupplierPayment",
    "TaxDetail",
    "VatCode",
    "now_from",
]


class Versioned(Protocol):
    version: int
    last_modified: datetime


def now_from(clock: Callable[[], float]) -> datetime:
    """The clock's time as a naive UTC datetime, cut to milliseconds (what Visma shows)."""
    moment = datetime.fromtimestamp(clock(), UTC).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass
class Account:
    account_id: int
    number: str
    description: str
    type: str
    active: bool
    default_vat: str | None
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class SegmentValue:
    segment_id: int
    value: str
    description: str
    active: bool
    internal_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    public_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class Segment:
    """One segment of the SUBACCOUNT dimension; ``values`` keyed by value id, in seed order."""

    segment_id: int
    description: str
    length: int
    values: dict[str, SegmentValue] = field(default_factory=dict)
    validate: bool = True
    internal_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    public_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class Subaccount:
    """A combination of segment values; created the first time a document uses it."""

    subaccount_id: int
    segments: dict[int, str]
    active: bool = True
    version: int = 0
    last_modified: datetime = datetime.min

    @property
    def number(self) -> str:
        return "-".join(self.segments[key] for key in sorted(self.segments))


@dataclass
class ProjectTask:
    """A task of a project; ``status`` Planned | Active | Cancelled | Completed."""

    task_id: str
    description: str
    status: str = "Active"
    visible_in_ap: bool = True
    visible_in_po: bool = True


@dataclass
class Project:
    internal_id: int
    project_id: str
    description: str
    status: str
    visible_in_ap: bool = True
    visible_in_po: bool = True
    non_project: bool = False
    tasks: dict[str, ProjectTask] = field(default_factory=dict)  # by task id, in seed order
    public_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class VatCode:
    vat_id: str
    description: str
    rate: Decimal
    not_valid_after: date | None = None
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class Period:
    """A financial period: ``period_id`` is ``YYYYPP`` (financial year, period number).

    ``start`` and ``end`` are the period's dates in the period table; when ``starts``/``ends``
    are left out they are the calendar month the id names (a calendar-year company).
    """

    period_id: str
    closed_in_supplier_ledger: bool = False
    active: bool = True
    closed_in_general_ledger: bool = False
    starts: InitVar[date | None] = None
    ends: InitVar[date | None] = None
    start: date = field(init=False)
    end: date = field(init=False)

    def __post_init__(self, starts: date | None, ends: date | None) -> None:
        if starts is None or ends is None:
            _, starts, ends = FiscalCalendar().bounds(self.period_id)
        self.start, self.end = starts, ends

    @property
    def year(self) -> int:
        return int(self.period_id[:4])

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass
class Supplier:
    """A supplier; ``details`` keeps the other unwrapped write fields (addresses, terms…)."""

    internal_id: int
    number: str
    name: str
    status: str
    currency_id: str | None = None
    corporate_id: str | None = None
    vat_registration_id: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class InvoiceLine:
    line_number: int
    account: str
    amount: Decimal
    quantity: Decimal = Decimal(1)
    unit_cost: Decimal = Decimal(0)
    description: str | None = None
    segments: dict[int, str] = field(default_factory=dict)
    vat_code: str | None = None
    project: str | None = None
    project_task: str | None = None
    inventory_number: str | None = None
    uom: str | None = None
    note: str | None = None
    po_number: str | None = None
    po_line: int | None = None


@dataclass(frozen=True)
class TaxDetail:
    vat_id: str
    rate: Decimal
    taxable: Decimal
    vat: Decimal


@dataclass
class SupplierInvoice:
    document_type: str
    reference_number: str
    supplier_number: str
    financial_period: str
    date: datetime
    currency_id: str
    status: str = "Balanced"
    hold: bool = False
    due_date: datetime | None = None
    supplier_reference: str | None = None
    description: str | None = None
    note: str | None = None
    payment_ref: str | None = None
    credit_terms_id: str | None = None
    tax_mode: str | None = None
    lines: list[InvoiceLine] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    detail_total: Decimal = Decimal("0.00")
    vat_total: Decimal = Decimal("0.00")
    amount: Decimal = Decimal("0.00")
    taxable_total: Decimal = Decimal("0.00")
    exempt_total: Decimal = Decimal("0.00")
    tax_details: list[TaxDetail] = field(default_factory=list)
    paid: Decimal = Decimal("0.00")  # applied by released supplier payments
    created: datetime = datetime.min
    version: int = 0
    last_modified: datetime = datetime.min

    @property
    def balance(self) -> Decimal:
        return self.amount - self.paid


@dataclass
class PurchaseOrderLine:
    line_number: int
    line_type: str
    amount: Decimal
    quantity: Decimal = Decimal(1)
    unit_cost: Decimal = Decimal(0)
    description: str | None = None
    inventory: str | None = None
    uom: str | None = None
    account: str | None = None
    segments: dict[int, str] = field(default_factory=dict)
    project: str | None = None
    project_task: str | None = None
    requested: datetime | None = None
    promised: datetime | None = None
    note: str | None = None
    received_qty: Decimal = Decimal(0)  # quantity on purchase receipts
    completed: bool = False  # fully received: the line takes no more changes


@dataclass
class PurchaseOrder:
    order_type: str
    order_number: str
    supplier_number: str
    currency: str
    date: datetime
    status: str = "Open"
    hold: bool = False
    promised_on: datetime | None = None
    description: str | None = None
    supplier_ref: str | None = None
    note: str | None = None
    lines: list[PurchaseOrderLine] = field(default_factory=list)
    line_total: Decimal = Decimal("0.00")
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class PaymentApplication:
    """One AP document a supplier payment pays, and how much of it."""

    document_type: str
    reference_number: str
    amount: Decimal


@dataclass
class SupplierPayment:
    """A supplier payment; its applications reach the documents only when it is released."""

    payment_type: str
    reference_number: str
    supplier_number: str
    currency: str
    date: datetime
    financial_period: str
    cash_account: str
    amount: Decimal
    status: str = "Balanced"
    hold: bool = False
    payment_method: str | None = None
    payment_ref: str | None = None
    description: str | None = None
    applications: list[PaymentApplication] = field(default_factory=list)
    version: int = 0
    last_modified: datetime = datetime.min

    @property
    def released(self) -> bool:
        return self.status in ("Open", "Closed")

    @property
    def applied(self) -> Decimal:
        return sum((a.amount for a in self.applications), Decimal("0.00"))


@dataclass
class Subscription:
    """A legacy ``/resources/v1/subscription`` registration."""

    id: int
    event: str
    hook_uri: str
    client_id: str


@dataclass
class CompanyState:
    """Everything one company holds. Mutate only under ``lock``, through ``touch``."""

    company_id: str
    tenant_id: str
    name: str
    base_currency: str
    clock: Callable[[], float]
    accounts: dict[str, Account] = field(default_factory=dict)
    segments: dict[int, Segment] = field(default_factory=dict)
    subaccounts: dict[str, Subaccount] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    vat_codes: dict[str, VatCode] = field(default_factory=dict)
    periods: dict[str, Period] = field(default_factory=dict)
    currencies: dict[str, str] = field(default_factory=dict)
    suppliers: dict[str, Supplier] = field(default_factory=dict)
    invoices: dict[tuple[str, str], SupplierInvoice] = field(default_factory=dict)
    purchase_orders: dict[str, PurchaseOrder] = field(default_factory=dict)
    supplier_payments: dict[str, SupplierPayment] = field(default_factory=dict)
    journals: dict[str, JournalTransaction] = field(default_factory=dict)  # by batch number
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    # Project lines must name a project task (Visma's documented rule); False is the invented
    # convenience of accepting them without one.
    require_project_task: bool = True
    supplier_setup: SupplierSetup = field(default_factory=SupplierSetup)
    calendar: FiscalCalendar = field(default_factory=FiscalCalendar)
    background: BackgroundQueue = field(default_factory=BackgroundQueue)
    # Company set-up: purchase-order lines must name an inventory item; the items it has.
    po_lines_need_inventory: bool = False
    inventory_items: dict[str, str] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _row_version: int = 0
    _internal_id: int = 1000
    _counters: dict[str, int] = field(default_factory=dict)

    def now(self) -> datetime:
        return now_from(self.clock)

    def touch(self, record: Versioned) -> None:
        """Record a write: a new row version and ``lastModifiedDateTime`` = now."""
        self._row_version += 1
        record.version = self._row_version
        record.last_modified = self.now()

    def period_at(self, day: date) -> Period | None:
        """The period whose start and end dates contain ``day`` (the period table decides)."""
        return next((p for p in self.periods.values() if p.covers(day)), None)

    def new_period(self, period_id: str) -> Period:
        """A period of this company's financial year, with its dates (not yet stored)."""
        _, start, end = self.calendar.bounds(period_id)
        return Period(period_id, starts=start, ends=end)

    def next_internal_id(self) -> int:
        self._internal_id += 1
        return self._internal_id

    def next_number(self, series: str, width: int, taken: Callable[[str], bool]) -> str:
        """The next free number of ``series`` (zero-padded to ``width``)."""
        while True:
            self._counters[series] = self._counters.get(series, 0) + 1
            candidate = str(self._counters[series]).zfill(width)
            if not taken(candidate):
                return candidate

    def start_series(self, series: str, last: int) -> None:
        """Continue ``series`` after ``last`` (used when seeding existing numbers)."""
        self._counters[series] = max(self._counters.get(series, 0), last)

    def find_invoice(self, number: str, document_type: str | None = None) -> SupplierInvoice | None:
        """Look a document up by number, optionally by type; types match case-insensitively."""
        for (doc_type, ref), invoice in self.invoices.items():
            if ref != number:
                continue
            if document_type is None or doc_type.lower() == document_type.lower():
                return invoice
        return None

    def subaccount_for(self, segments: dict[int, str]) -> Subaccount:
        """The subaccount of a segment combination, created on first use (as the ERP does)."""
        number = "-".join(segments[key] for key in sorted(segments))
        existing = self.subaccounts.get(number)
        if existing is not None:
            return existing
        created = Subaccount(self.next_internal_id(), dict(segments))
        self.touch(created)
        self.subaccounts[number] = created
        return created
