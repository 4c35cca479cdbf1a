"""The stored documents of a simulated Visma.net company: supplier invoices (lines, VAT
details, attachments), purchase orders, supplier payments and their applications, and legacy
webhook subscriptions.

Records are mutable dataclasses, changed under ``CompanyState.lock`` through
``CompanyState.touch`` (``state.py``), which bumps ``version`` and ``last_modified``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ml_connector.sandbox.visma.attachments import Attachment

__all__ = [
    "InvoiceLine",
    "PaymentApplication",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Subscription",
    "SupplierInvoice",
    "SupplierPayment",
    "TaxDetail",
]


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
