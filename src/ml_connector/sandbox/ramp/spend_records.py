"""Storing card transactions, reimbursements and receipts, without side effects.

``SpendOperations`` (``spend_ops.py``) wraps these with the webhooks each change emits; the
seed loader (``seeding_spend.py``) calls them directly, since seeded objects existed before
anyone could subscribe. A split's lines must add up to the object's total (400 otherwise).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import Selection
from ml_connector.sandbox.ramp.spend_model import (
    APPROVED_REIMBURSEMENT_STATES,
    CardTransaction,
    Receipt,
    Reimbursement,
    SpendLine,
)
from ml_connector.sandbox.ramp.state import RampState, new_id

__all__ = [
    "NewReimbursement",
    "NewTransaction",
    "add_receipt_record",
    "add_reimbursement",
    "add_transaction",
    "day_of",
    "payment_id",
]


def day_of(ts: float) -> date:
    """The UTC calendar day of a POSIX time."""
    return datetime.fromtimestamp(ts, UTC).date()


@dataclass
class NewTransaction:
    """Everything a card transaction is created from; ids resolved and checked."""

    user_id: str
    entity_id: str
    card_id: str
    amount_minor: int
    currency: str
    transacted_at: float
    merchant_name: str
    lines: list[SpendLine] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)
    original_amount_minor: int | None = None
    original_currency: str | None = None
    state: str = "CLEARED"
    memo: str | None = None
    merchant_category_code: str | None = None
    sk_category_id: int | None = None
    sk_category_name: str | None = None
    merchant_country: str | None = None
    merchant_city: str | None = None
    receipts: int = 1
    refund_of: str | None = None
    transaction_id: str | None = None


@dataclass
class NewReimbursement:
    """Everything a reimbursement is created from; ids resolved and checked."""

    user_id: str
    entity_id: str
    amount_minor: int
    currency: str
    transaction_date: date
    type: str = "OUT_OF_POCKET"
    merchant: str | None = None
    lines: list[SpendLine] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)
    original_amount_minor: int | None = None
    original_currency: str | None = None
    distance: Decimal | None = None  # miles, for MILEAGE
    start_location: str | None = None
    end_location: str | None = None
    waypoints: list[str] = field(default_factory=list)
    state: str = "APPROVED"
    memo: str | None = None
    receipts: int = 1
    reimbursement_id: str | None = None


def add_transaction(state: RampState, new: NewTransaction, now: float) -> CardTransaction:
    """Store a card transaction (and its receipts) without emitting anything: the seed loader
    uses this directly, ``SpendOperations`` adds the webhooks."""
    _check_split(new.amount_minor, new.lines)
    item = CardTransaction(
        id=new.transaction_id or new_id(),
        entity_id=new.entity_id,
        user_id=new.user_id,
        card_id=new.card_id,
        amount_minor=new.amount_minor,
        currency=new.currency,
        transacted_at=new.transacted_at,
        created_at=min(now, new.transacted_at),
        merchant_name=new.merchant_name,
        merchant_id=_merchant_id(new.merchant_name),
        original_amount_minor=new.original_amount_minor,
        original_currency=new.original_currency,
        state=new.state,
        merchant_category_code=new.merchant_category_code,
        sk_category_id=new.sk_category_id,
        sk_category_name=new.sk_category_name,
        merchant_country=new.merchant_country,
        merchant_city=new.merchant_city,
        memo=new.memo,
        selections=list(new.selections),
        lines=list(new.lines),
        refund_of=new.refund_of,
        seq=state.next_seq(),
    )
    if new.state == "CLEARED":
        # Card networks settle a day or so after the purchase (never in the future).
        item.settled_at = max(new.transacted_at, min(now, new.transacted_at + 86_400))
        item.accounting_date = day_of(item.settled_at)
    state.transactions[item.id] = item
    for _ in range(new.receipts):
        add_receipt_record(state, "transaction", item.id, item.user_id, item.created_at)
    return item


def add_reimbursement(state: RampState, new: NewReimbursement, now: float) -> Reimbursement:
    """Store a reimbursement (and its receipts) without emitting anything."""
    _check_split(new.amount_minor, new.lines)
    submitted = min(now, _noon(new.transaction_date))
    item = Reimbursement(
        id=new.reimbursement_id or new_id(),
        entity_id=new.entity_id,
        user_id=new.user_id,
        type=new.type,
        # Paybacks are the employee paying the business back (the spec's USER_TO_BUSINESS).
        direction="USER_TO_BUSINESS" if new.type.startswith("PAYBACK") else "BUSINESS_TO_USER",
        state=new.state,
        amount_minor=new.amount_minor,
        currency=new.currency,
        transaction_date=new.transaction_date,
        created_at=submitted,
        updated_at=submitted,
        submitted_at=None if new.state in ("DRAFT", "INIT") else submitted,
        approved_at=submitted if new.state in APPROVED_REIMBURSEMENT_STATES else None,
        original_amount_minor=new.original_amount_minor,
        original_currency=new.original_currency,
        merchant=new.merchant,
        memo=new.memo,
        selections=list(new.selections),
        lines=list(new.lines),
        distance=new.distance,
        start_location=new.start_location,
        end_location=new.end_location,
        waypoints=list(new.waypoints),
        seq=state.next_seq(),
    )
    if new.state in ("REIMBURSED", "MANUALLY_REIMBURSED"):
        item.payment_id = payment_id(item.id)
    state.reimbursements[item.id] = item
    for _ in range(new.receipts):
        add_receipt_record(state, "reimbursement", item.id, item.user_id, item.created_at)
    return item


def add_receipt_record(
    state: RampState, kind: str, owner_id: str, user_id: str, at: float
) -> Receipt:
    """Store a receipt on a transaction or reimbursement (``kind``)."""
    receipt = Receipt(new_id(), kind, owner_id, user_id, at, seq=state.next_seq())
    state.receipts[receipt.id] = receipt
    owner = state.transactions.get(owner_id) if kind == "transaction" else None
    target = owner or state.reimbursements.get(owner_id)
    if target is not None:
        target.receipt_ids.append(receipt.id)
    return receipt


def _check_split(total: int, lines: list[SpendLine]) -> None:
    if lines and sum(line.amount_minor for line in lines) != total:
        raise RampApiError(
            400,
            f"The line amounts add up to {sum(line.amount_minor for line in lines)}, "
            f"not to the total {total}.",
        )


def _noon(day: date) -> float:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()


def _merchant_id(name: str) -> str:
    """A stable merchant id per merchant name (Ramp recognises merchants across cards)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ramp-merchant:{name.lower()}"))


def payment_id(reimbursement_id: str) -> str:
    """A ten-character payment batch reference, like the spec example's ``NDPHKHCN6G``."""
    digest = hashlib.sha256(reimbursement_id.encode()).hexdigest().upper()
    return "".join(ch for ch in digest if ch.isalpha())[:6] + digest[:4]
