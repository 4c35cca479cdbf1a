"""The records of a Ramp business's people and spend: users, departments, locations, card
transactions, reimbursements, receipts, card statements and transfers.

Like ``model.py``: plain mutable dataclasses changed in place by ``spend_ops.py``; times are
POSIX seconds from the injected clock, calendar dates are ``datetime.date``, money is integer
minor units (a negative card amount is a refund or merchant credit), and ``seq`` is the
creation order list endpoints page by.

Spend shares one sync state machine (ramp-api.md §6): ``NOT_SYNC_READY`` → ``SYNC_READY`` (an
accountant marks it ready in Ramp's UI; transfers once completed) → ``SYNCED`` (the ERP
integration reports it through ``POST /accounting/syncs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from ml_connector.sandbox.ramp.model import Selection

__all__ = [
    "APPROVED_REIMBURSEMENT_STATES",
    "REIMBURSEMENT_STATES",
    "REIMBURSEMENT_TYPES",
    "TRANSACTION_STATES",
    "TRANSFER_STATUSES",
    "CardTransaction",
    "Department",
    "Location",
    "Receipt",
    "Reimbursement",
    "SpendLine",
    "SpendSync",
    "Statement",
    "Transfer",
    "User",
]

TRANSACTION_STATES = frozenset(
    {"CLEARED", "COMPLETION", "DECLINED", "ERROR", "PENDING", "PENDING_INITIATION"}
)
REIMBURSEMENT_TYPES = frozenset(
    {"MILEAGE", "OUT_OF_POCKET", "PAYBACK_FULL", "PAYBACK_PARTIAL", "PER_DIEM"}
)
REIMBURSEMENT_STATES = frozenset(
    {
        "APPROVED",
        "AWAITING_EXPORT",
        "AWAITING_PAYMENT",
        "AWAITING_PUSH_PAYMENT",
        "CANCELED",
        "DELETED",
        "DRAFT",
        "EXPORTED",
        "EXPORT_FAILED",
        "EXPORT_INITIATED",
        "EXPORT_SUCCESSFUL",
        "FAILED_REIMBURSEMENT",
        "INIT",
        "MANUALLY_REIMBURSED",
        "MISSING_ACH",
        "PENDING",
        "PROCESSING",
        "PUSH_PAYMENT_FAILED",
        "PUSH_PAYMENT_INITIATED",
        "REIMBURSED",
        "REIMBURSED_VIA_PUSH",
        "REJECTED",
    }
)
# States of a reimbursement an approver has accepted: only those can be marked ready to sync.
APPROVED_REIMBURSEMENT_STATES = frozenset(
    {
        "APPROVED",
        "AWAITING_EXPORT",
        "AWAITING_PAYMENT",
        "AWAITING_PUSH_PAYMENT",
        "MANUALLY_REIMBURSED",
        "PROCESSING",
        "PUSH_PAYMENT_INITIATED",
        "REIMBURSED",
        "REIMBURSED_VIA_PUSH",
    }
)
TRANSFER_STATUSES = frozenset(
    {
        "ACH_CONFIRMED",
        "CANCELED",
        "COMPLETED",
        "ERROR",
        "INITIATED",
        "NOT_ACKED",
        "NOT_ENOUGH_FUNDS",
        "PROCESSING_BY_ODFI",
        "REJECTED_BY_ODFI",
        "RETURNED_BY_RDFI",
        "SUBMITTED_TO_FED",
        "SUBMITTED_TO_RDFI",
        "UNNECESSARY",
        "UPLOADED",
    }
)


class SpendSync(StrEnum):
    """``sync_status`` of transactions, reimbursements and transfers."""

    NOT_SYNC_READY = "NOT_SYNC_READY"
    SYNC_READY = "SYNC_READY"
    SYNCED = "SYNCED"


@dataclass
class Department:
    id: str
    name: str
    seq: int = 0


@dataclass
class Location:
    id: str
    name: str
    entity_id: str | None = None
    seq: int = 0


@dataclass
class User:
    id: str
    first_name: str
    last_name: str
    email: str
    entity_id: str | None
    card_id: str
    department_id: str | None = None
    location_id: str | None = None
    employee_id: str | None = None
    role: str = "BUSINESS_USER"
    status: str = "USER_ACTIVE"
    manager_id: str | None = None
    is_manager: bool = False
    seq: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class SpendLine:
    """One line of a split: its amount (settled currency) and its own coding."""

    amount_minor: int
    memo: str | None = None
    selections: list[Selection] = field(default_factory=list)


@dataclass
class Receipt:
    """A receipt image on a transaction or a reimbursement (``owner_kind``)."""

    id: str
    owner_kind: str  # "transaction" | "reimbursement"
    owner_id: str
    user_id: str
    created_at: float
    seq: int = 0


@dataclass
class _Syncable:
    sync_status: SpendSync = SpendSync.NOT_SYNC_READY
    synced_at: float | None = None
    sync_reference: str | None = None  # reference_id of the last successful sync


@dataclass
class CardTransaction(_Syncable):
    id: str = ""
    entity_id: str = ""
    user_id: str = ""
    card_id: str = ""
    amount_minor: int = 0  # settled amount in ``currency``; < 0 for refunds
    currency: str = "NOK"
    transacted_at: float = 0.0  # user_transaction_time
    created_at: float = 0.0
    merchant_name: str = ""
    merchant_id: str | None = None
    original_amount_minor: int | None = None
    original_currency: str | None = None
    state: str = "CLEARED"
    approval_status: str = "FULLY_APPROVED"
    settled_at: float | None = None  # settlement_date; set when cleared
    accounting_date: date | None = None
    merchant_category_code: str | None = None
    sk_category_id: int | None = None
    sk_category_name: str | None = None
    merchant_country: str | None = None
    merchant_city: str | None = None
    memo: str | None = None
    selections: list[Selection] = field(default_factory=list)
    lines: list[SpendLine] = field(default_factory=list)
    receipt_ids: list[str] = field(default_factory=list)
    statement_id: str | None = None
    limit_id: str | None = None
    spend_program_id: str | None = None
    refund_of: str | None = None  # sandbox-only: the transaction a refund gives back on
    seq: int = 0


@dataclass
class Reimbursement(_Syncable):
    id: str = ""
    entity_id: str = ""
    user_id: str = ""
    type: str = "OUT_OF_POCKET"
    direction: str = "BUSINESS_TO_USER"
    state: str = "APPROVED"
    amount_minor: int = 0  # what the business pays, in ``currency``
    currency: str = "NOK"
    transaction_date: date = date.min
    created_at: float = 0.0
    updated_at: float = 0.0
    submitted_at: float | None = None
    approved_at: float | None = None
    original_amount_minor: int | None = None
    original_currency: str | None = None
    merchant: str | None = None
    memo: str | None = None
    selections: list[Selection] = field(default_factory=list)
    lines: list[SpendLine] = field(default_factory=list)
    receipt_ids: list[str] = field(default_factory=list)
    distance: Decimal | None = None  # miles, as the spec says
    start_location: str | None = None
    end_location: str | None = None
    waypoints: list[str] = field(default_factory=list)
    payment_id: str | None = None
    accounting_date: date | None = None
    seq: int = 0


@dataclass
class Statement:
    """A card statement: the period it covers (both days included)."""

    id: str
    start: date
    end: date
    created_at: float
    seq: int = 0


@dataclass
class Transfer(_Syncable):
    """A transfer from the business's bank account, e.g. paying a card statement."""

    id: str = ""
    entity_id: str = ""
    amount_minor: int = 0
    currency: str = "NOK"
    status: str = "COMPLETED"
    created_at: float = 0.0
    payment_id: str = ""
    statement_id: str | None = None
    seq: int = 0
