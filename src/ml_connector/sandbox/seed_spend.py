"""Seed records for the Ramp side of spend: people, card transactions, reimbursements, transfers.

All optional parts of a ``seed.Dataset`` (every field defaults to empty), so datasets written
before spend existed load unchanged. Money is integer minor units; a negative card amount is a
refund or merchant credit (Ramp's ``Transaction.amount`` has no sign restriction).

How the pieces refer to each other:
- a ``SeedUser`` belongs to an entity (None: the primary one) and may sit in a department and a
  location; card spend and reimbursements name the user, and take the user's entity unless they
  name one themselves;
- a card transaction settles in ``currency`` (the card's, i.e. its entity's); a purchase in
  another currency gives ``original_amount_minor``/``original_currency`` (what the merchant
  charged). Reimbursements likewise: ``currency`` is what the business pays, the original is
  what the receipt says;
- ``lines`` code the spend (``SeedBillLine``: amounts must add up to the total). One line is an
  unsplit object: its coding is the object's own and Ramp shows no ``line_items``. More than
  one line is a split, shown as ``line_items``. ``selections`` add object-level coding;
- ``sync_ready`` plays an accountant who already marked the object ready to sync in Ramp's UI;
- a statement covers the cleared card transactions made between its dates; a transfer that
  pays it names it (``statement_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ml_connector.sandbox.seed_lines import SeedBillLine

__all__ = [
    "SeedCardTransaction",
    "SeedDepartment",
    "SeedEntityAccount",
    "SeedLocation",
    "SeedReimbursement",
    "SeedStatement",
    "SeedTransfer",
    "SeedUser",
]


@dataclass(frozen=True)
class SeedEntityAccount:
    """An account configured on a Ramp entity (``EntityProviderAccount``): what Ramp's
    accounting settings use, e.g. ``usage_type`` ``CARD_LIABILITY_ACCOUNT`` with the ERP's
    account number as ``internal_id`` (ramp-api.md §5.11)."""

    internal_id: str
    usage_type: str
    external_id: str | None = None
    external_name: str | None = None
    classification: str | None = None


@dataclass(frozen=True)
class SeedDepartment:
    id: str
    name: str


@dataclass(frozen=True)
class SeedLocation:
    id: str
    name: str
    entity_id: str | None = None


@dataclass(frozen=True)
class SeedUser:
    """A Ramp user: a card holder, or an employee who is reimbursed."""

    id: str
    first_name: str
    last_name: str
    email: str
    department_id: str | None = None
    location_id: str | None = None
    entity_id: str | None = None  # None: the primary entity
    employee_id: str | None = None
    role: str = "BUSINESS_USER"
    manager_id: str | None = None


@dataclass(frozen=True)
class SeedCardTransaction:
    """A card transaction; ``amount_minor`` < 0 is a refund or merchant credit."""

    id: str
    user_id: str
    merchant_name: str
    amount_minor: int
    currency: str
    transacted_at: datetime  # user_transaction_time (UTC)
    lines: tuple[SeedBillLine, ...] = ()
    selections: tuple[tuple[str, str], ...] = ()
    original_amount_minor: int | None = None
    original_currency: str | None = None
    state: str = "CLEARED"
    sync_ready: bool = False
    memo: str | None = None
    merchant_category_code: str | None = None
    sk_category_id: int | None = None
    sk_category_name: str | None = None
    merchant_country: str | None = None
    merchant_city: str | None = None
    receipts: int = 1
    entity_id: str | None = None  # None: the card holder's entity
    refund_of: str | None = None  # the transaction a refund gives money back on


@dataclass(frozen=True)
class SeedReimbursement:
    """An employee reimbursement; ``type`` ``MILEAGE`` carries ``distance_miles`` (the spec's
    unit) and the trip's locations."""

    id: str
    user_id: str
    amount_minor: int
    currency: str
    transaction_date: date
    type: str = "OUT_OF_POCKET"
    merchant: str | None = None
    lines: tuple[SeedBillLine, ...] = ()
    selections: tuple[tuple[str, str], ...] = ()
    original_amount_minor: int | None = None
    original_currency: str | None = None
    distance_miles: Decimal | None = None
    start_location: str | None = None
    end_location: str | None = None
    waypoints: tuple[str, ...] = ()
    state: str = "APPROVED"
    sync_ready: bool = False
    memo: str | None = None
    receipts: int = 1
    entity_id: str | None = None  # None: the user's entity


@dataclass(frozen=True)
class SeedStatement:
    """A card statement period (both days included)."""

    id: str
    start: date
    end: date


@dataclass(frozen=True)
class SeedTransfer:
    """A transfer: Ramp pulling a statement's balance from the business's bank account.

    ``sync_ready`` None: ready to sync once ``COMPLETED`` (ramp-api.md §6, "once accepted").
    """

    id: str
    amount_minor: int
    currency: str
    created_at: datetime
    status: str = "COMPLETED"
    entity_id: str | None = None  # None: the primary entity
    statement_id: str | None = None
    sync_ready: bool | None = None
