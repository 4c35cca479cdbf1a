"""The stored state of one simulated Visma.net company: master data and documents.

Each company is one ``CompanyState``; the sandbox keeps them in a dict keyed by company id, so a
second tenant/company is one more entry. Records are mutable dataclasses; the route handlers and
the control API change them only through ``CompanyState.touch`` (which bumps the row version
behind ``timeStamp``/``ETag`` and ``lastModifiedDateTime``) while holding ``CompanyState.lock``.

The records live in ``masterdata_state.py`` and ``document_state.py``; they are re-exported here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from ml_connector.sandbox.visma.attachments import Attachment
from ml_connector.sandbox.visma.background import BackgroundQueue
from ml_connector.sandbox.visma.document_state import (
    InvoiceLine,
    PaymentApplication,
    PurchaseOrder,
    PurchaseOrderLine,
    Subscription,
    SupplierInvoice,
    SupplierPayment,
    TaxDetail,
)
from ml_connector.sandbox.visma.fiscal import FiscalCalendar
from ml_connector.sandbox.visma.journal_state import JournalTransaction
from ml_connector.sandbox.visma.masterdata_state import (
    Account,
    Period,
    Project,
    ProjectTask,
    Segment,
    SegmentValue,
    Subaccount,
    Supplier,
    VatCode,
)
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
