"""The records a Ramp sandbox keeps, and the enums of their states.

Plain mutable dataclasses: the sandbox is an in-memory simulator and its operations
(``operations.py``) change these records in place. Times are POSIX seconds from the sandbox's
injected clock; calendar dates (issue, due, promise dates) are ``datetime.date``. Money is
integer minor units. Every record carries ``seq``, its creation order, which list endpoints use
as the keyset for pagination.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

__all__ = [
    "CREDIT_MEMO_PREFIX",
    "AccountingConnection",
    "AccountingVendor",
    "ApprovalStatus",
    "Bill",
    "BillLine",
    "CustomField",
    "Entity",
    "EntityAccount",
    "ExportError",
    "FieldOption",
    "GLAccount",
    "InventoryLine",
    "PaymentStatus",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Selection",
    "SyncRecord",
    "SyncStatus",
    "Vendor",
    "VendorContact",
    "credit_memo",
]

# Ramp's Bill has no credit flag and its create body refuses negative amounts. The sandbox
# models a vendor credit as a bill with positive amounts whose memo starts with this marker
# (see docs/sandbox/ramp.md, "Vendor credits").
CREDIT_MEMO_PREFIX = "[CREDIT]"


def credit_memo(memo: str | None, is_credit: bool) -> str | None:
    """The memo a bill is stored with: marked when it is a vendor credit."""
    if not is_credit:
        return memo or None
    if memo and memo.startswith(CREDIT_MEMO_PREFIX):
        return memo
    return f"{CREDIT_MEMO_PREFIX} {memo}".strip() if memo else CREDIT_MEMO_PREFIX


class ApprovalStatus(StrEnum):
    """Where a bill stands in Ramp's approval workflow."""

    INITIALIZED = "INITIALIZED"  # created, workflow not started
    PENDING = "PENDING"  # waiting for an approver
    APPROVED = "APPROVED"  # approved (API-created bills start here)
    REJECTED = "REJECTED"  # an approver said no
    TERMINATED = "TERMINATED"  # workflow stopped, e.g. the bill was withdrawn


class PaymentStatus(StrEnum):
    """The bill's payment state, ``Bill.status`` in the API."""

    OPEN = "OPEN"  # not paid yet
    PAID = "PAID"  # paid; ``paid_at`` is set


class SyncStatus(StrEnum):
    """How far a bill has been exported to the ERP (marked through ``/accounting/syncs``)."""

    NOT_SYNCED = "NOT_SYNCED"  # nothing exported yet
    BILL_SYNCED = "BILL_SYNCED"  # the bill was exported (BILL_SYNC)
    BILL_AND_PAYMENT_SYNCED = "BILL_AND_PAYMENT_SYNCED"  # and its payment (BILL_PAYMENT_SYNC)


@dataclass(frozen=True)
class Selection:
    """A coding choice: a GL account (``kind`` "gl") or a custom field option ("option")."""

    kind: str  # "gl" | "option"
    ramp_id: str


@dataclass(frozen=True)
class EntityAccount:
    """An account on an entity's accounting settings (``EntityProviderAccount``)."""

    internal_id: str
    usage_type: str
    external_id: str | None = None
    external_name: str | None = None
    classification: str | None = None
    created_at: float = 0.0


@dataclass
class Entity:
    id: str
    name: str
    currency: str
    is_primary: bool
    seq: int = 0
    accounts: list[EntityAccount] = field(default_factory=list)


@dataclass
class VendorContact:
    id: str
    vendor_id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    is_default: bool = True
    seq: int = 0


@dataclass
class Vendor:
    """A bill-pay vendor. ``org_number``/``vat_number`` surface as onboarding form answers
    under the business's form labels, followed by ``form_answers`` (label, text)."""

    id: str
    name: str
    country: str
    created_at: float
    owner_id: str
    address_line_1: str | None = None
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    description: str | None = None
    name_legal: str | None = None
    currency: str | None = None
    org_number: str | None = None
    vat_number: str | None = None
    form_answers: list[tuple[str, str]] = field(default_factory=list)
    net_payment_terms: int | None = None
    accounting_vendor_remote_id: str | None = None
    is_active: bool = True
    contact_ids: list[str] = field(default_factory=list)
    seq: int = 0


@dataclass
class BillLine:
    amount_minor: int
    memo: str | None = None
    selections: list[Selection] = field(default_factory=list)


@dataclass
class InventoryLine:
    unit_price_minor: int
    unit_quantity: int
    memo: str | None = None
    selections: list[Selection] = field(default_factory=list)

    @property
    def amount_minor(self) -> int:
        return self.unit_price_minor * self.unit_quantity


@dataclass
class Bill:
    id: str
    vendor_id: str
    vendor_contact_id: str | None
    entity_id: str
    invoice_number: str
    currency: str
    issued_at: date
    due_at: date
    created_at: float
    payment_method: str = "ACH"
    lines: list[BillLine] = field(default_factory=list)
    inventory_lines: list[InventoryLine] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)
    approval_status: ApprovalStatus = ApprovalStatus.APPROVED
    status: PaymentStatus = PaymentStatus.OPEN
    sync_status: SyncStatus = SyncStatus.NOT_SYNCED
    memo: str | None = None
    vendor_memo: str | None = None
    remote_id: str | None = None
    deep_link_url: str | None = None
    posting_date: date | None = None
    paid_at: float | None = None
    payment_date: date | None = None
    manual_payment_method: str | None = None
    archived_at: float | None = None
    purchase_order_id: str | None = None
    is_credit: bool = False  # sandbox-only: see docs/sandbox/ramp.md "Vendor credits"
    sync_reference: str | None = None  # reference_id of the last successful BILL_SYNC
    seq: int = 0

    @property
    def amount_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines) + sum(
            line.amount_minor for line in self.inventory_lines
        )


@dataclass
class PurchaseOrderLine:
    id: str
    unit_price_minor: int
    unit_quantity: int
    description: str | None = None
    selections: list[Selection] = field(default_factory=list)

    @property
    def amount_minor(self) -> int:
        return self.unit_price_minor * self.unit_quantity


@dataclass
class PurchaseOrder:
    id: str
    entity_id: str
    currency: str
    created_at: float
    number: str | None = None
    vendor_id: str | None = None
    memo: str | None = None
    promise_date: date | None = None
    net_payment_terms: int | None = None
    lines: list[PurchaseOrderLine] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)
    creation_source: str = "RAMP"
    three_way_match_enabled: bool = False
    archived_at: float | None = None
    archived_reason: str | None = None
    seq: int = 0

    @property
    def amount_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)


@dataclass
class AccountingConnection:
    id: str
    remote_provider_name: str
    created_at: float
    is_active: bool = True
    last_linked_at: float | None = None
    seq: int = 0


@dataclass
class GLAccount:
    """A GL account pushed to Ramp; ``remote_id`` is the ERP's id (the API's ``id``)."""

    ramp_id: str
    remote_id: str
    name: str
    classification: str
    connection_id: str | None
    created_at: float
    updated_at: float
    code: str | None = None
    is_active: bool = True
    seq: int = 0


@dataclass
class AccountingVendor:
    ramp_id: str
    remote_id: str
    name: str
    connection_id: str | None
    created_at: float
    updated_at: float
    code: str | None = None
    is_active: bool = True
    seq: int = 0


@dataclass
class CustomField:
    """An accounting dimension (custom field) pushed by the ERP integration."""

    ramp_id: str
    remote_id: str
    name: str
    input_type: str
    connection_id: str | None
    created_at: float
    updated_at: float
    display_name: str | None = None
    is_required_for: list[str] = field(default_factory=list)
    is_splittable: bool = False
    is_active: bool = True
    category_type: str | None = None  # selections' category_info.type; None: from the id
    seq: int = 0


@dataclass
class FieldOption:
    ramp_id: str
    field_ramp_id: str
    remote_id: str
    value: str
    created_at: float
    updated_at: float
    code: str | None = None
    display_name: str | None = None
    visibility: str = "VISIBLE"
    is_active: bool = True
    seq: int = 0


@dataclass(frozen=True)
class ExportError:
    """A ``failed_syncs`` entry: what Ramp's UI lists under "Export Errors"."""

    object_id: str
    sync_type: str
    message: str
    at: float
    sync_id: str


@dataclass(frozen=True)
class SyncRecord:
    """One accepted ``POST /accounting/syncs`` call."""

    sync_id: str
    idempotency_key: str
    sync_type: str
    successful_ids: tuple[str, ...]
    failed_ids: tuple[str, ...]
    at: float
