"""What can happen to card transactions and reimbursements, and the webhooks each change emits.

The control API and the seed loader both go through here, so a transaction cleared by a test
and one cleared by the (simulated) card network take the same path. Rules Ramp enforces raise
``RampApiError`` 400.

Transactions (ramp-api.md §5.8, §6, §8.4):
- created ``PENDING``: ``transactions.authorized``; created ``CLEARED``: ``authorized`` then
  ``cleared``; ``clear``: ``PENDING`` → ``CLEARED`` (settlement date now), ``cleared``;
  ``decline``: ``PENDING`` → ``DECLINED``, ``transactions.declined`` (a 2026 type);
- a refund is a new cleared transaction with a negative amount on the same card and merchant,
  carrying the original's coding (``cleared``);
- ``mark_ready`` plays the accountant's "mark ready to sync" in Ramp's UI: only a cleared, fully
  approved, unsynced transaction coded on every field required for ``TRANSACTION``; it emits
  ``transactions.ready_to_sync``. A receipt added emits ``transactions.receipt_added`` (2026).
Reimbursements (§5.9): created ``PENDING`` (submitted): ``reimbursements.ready_for_review``;
``approve``, ``reject``, ``pay``; ``mark_ready`` as for transactions (an approved state, the
fields required for ``REIMBURSEMENT``), emitting ``reimbursements.ready_to_sync``.
Both: ``unsync`` (an accountant undoing an export) puts a synced object back in the queue
(``SYNC_READY``) and emits its ``ready_to_sync`` again.

Events go out only to subscriptions that named their type (``webhooks.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.spend_model import (
    APPROVED_REIMBURSEMENT_STATES,
    CardTransaction,
    Receipt,
    Reimbursement,
    SpendLine,
    SpendSync,
)
from ml_connector.sandbox.ramp.spend_records import (
    NewReimbursement,
    NewTransaction,
    add_receipt_record,
    add_reimbursement,
    add_transaction,
    day_of,
    payment_id,
)
from ml_connector.sandbox.ramp.state import RampState
from ml_connector.sandbox.ramp.webhooks import WebhookHub

__all__ = ["NewReimbursement", "NewTransaction", "SpendOperations", "day_of"]


class SpendOperations:
    """State transitions of a business's card spend and reimbursements."""

    def __init__(
        self, state: Callable[[], RampState], hub: WebhookHub, clock: Callable[[], float]
    ) -> None:
        self._state = state
        self.hub = hub
        self.clock = clock

    @property
    def state(self) -> RampState:
        return self._state()

    # -- transactions ---------------------------------------------------------------------

    def create_transaction(self, new: NewTransaction) -> CardTransaction:
        """A card transaction in ``new.state``, with the webhooks of how it got there."""
        item = add_transaction(self.state, new, self.clock())
        if new.state != "DECLINED":
            self.hub.publish("transactions.authorized", item.id)
        if new.state == "CLEARED":
            self.hub.publish("transactions.cleared", item.id)
        elif new.state == "DECLINED":
            self.hub.publish("transactions.declined", item.id)
        return item

    def clear(self, item: CardTransaction) -> None:
        """The card network settles a pending transaction."""
        if item.state != "PENDING":
            raise RampApiError(400, f"Transaction {item.id} is {item.state}, not PENDING.")
        item.state = "CLEARED"
        item.settled_at = self.clock()
        item.accounting_date = day_of(item.settled_at)
        self.hub.publish("transactions.cleared", item.id)

    def decline(self, item: CardTransaction) -> None:
        if item.state != "PENDING":
            raise RampApiError(400, f"Transaction {item.id} is {item.state}, not PENDING.")
        item.state = "DECLINED"
        self.hub.publish("transactions.declined", item.id)

    def refund(
        self, item: CardTransaction, amount_minor: int | None = None, at: float | None = None
    ) -> CardTransaction:
        """A merchant refund: a new cleared transaction with a negative amount."""
        if item.state != "CLEARED" or item.amount_minor <= 0:
            raise RampApiError(400, f"Transaction {item.id} is not a cleared purchase.")
        given_back = -sum(
            t.amount_minor for t in self.state.transactions.values() if t.refund_of == item.id
        )
        amount = item.amount_minor - given_back if amount_minor is None else amount_minor
        if not 0 < amount <= item.amount_minor - given_back:
            raise RampApiError(
                400,
                f"A refund of {amount} on transaction {item.id} must be positive and at most "
                f"the {item.amount_minor - given_back} not yet refunded.",
            )
        original = None
        if item.original_amount_minor is not None:  # the same share of the merchant's amount
            exact = Decimal(item.original_amount_minor * amount) / item.amount_minor
            original = -int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return self.create_transaction(
            NewTransaction(
                user_id=item.user_id,
                entity_id=item.entity_id,
                card_id=item.card_id,
                amount_minor=-amount,
                currency=item.currency,
                transacted_at=self.clock() if at is None else at,
                merchant_name=item.merchant_name,
                lines=_refund_lines(item.lines, amount, item.amount_minor),
                selections=list(item.selections),
                original_amount_minor=original,
                original_currency=item.original_currency,
                memo=f"Refund: {item.memo}" if item.memo else "Refund",
                merchant_category_code=item.merchant_category_code,
                sk_category_id=item.sk_category_id,
                sk_category_name=item.sk_category_name,
                merchant_country=item.merchant_country,
                merchant_city=item.merchant_city,
                receipts=0,
                refund_of=item.id,
            )
        )

    def mark_transaction_ready(self, item: CardTransaction) -> None:
        """The accountant marks the transaction ready to sync (Ramp's UI)."""
        problems: list[str] = []
        if item.state != "CLEARED":
            problems.append(f"its state is {item.state}, not CLEARED")
        if item.approval_status != "FULLY_APPROVED":
            problems.append(f"its approval status is {item.approval_status}")
        self._ready(item, "TRANSACTION", "Transaction", problems)
        self.hub.publish("transactions.ready_to_sync", item.id)

    def add_receipt(self, kind: str, owner: CardTransaction | Reimbursement) -> Receipt:
        receipt = add_receipt_record(self.state, kind, owner.id, owner.user_id, self.clock())
        if kind == "transaction":
            self.hub.publish("transactions.receipt_added", owner.id)
        return receipt

    # -- reimbursements -------------------------------------------------------------------

    def create_reimbursement(self, new: NewReimbursement) -> Reimbursement:
        """A reimbursement in ``new.state``; a submitted one awaits review (webhook)."""
        item = add_reimbursement(self.state, new, self.clock())
        if new.state == "PENDING":
            self.hub.publish("reimbursements.ready_for_review", item.id)
        return item

    def set_reimbursement_state(self, item: Reimbursement, wanted: str) -> None:
        """``approve`` (PENDING → APPROVED), ``reject`` (→ REJECTED) or ``pay`` (→ REIMBURSED)."""
        allowed = {
            "APPROVED": {"PENDING"},
            "REJECTED": {"PENDING", "APPROVED"},
            "REIMBURSED": set(APPROVED_REIMBURSEMENT_STATES) - {"REIMBURSED"},
        }[wanted]
        if item.state not in allowed:
            raise RampApiError(400, f"Reimbursement {item.id} is {item.state}; cannot go {wanted}.")
        now = self.clock()
        item.state, item.updated_at = wanted, now
        if wanted == "APPROVED":
            item.approved_at = now
        elif wanted == "REIMBURSED":
            item.payment_id = payment_id(item.id)
        elif item.sync_status is SpendSync.SYNC_READY:
            item.sync_status = SpendSync.NOT_SYNC_READY

    def mark_reimbursement_ready(self, item: Reimbursement) -> None:
        problems: list[str] = []
        if item.state not in APPROVED_REIMBURSEMENT_STATES:
            problems.append(f"its state is {item.state}, not approved")
        self._ready(item, "REIMBURSEMENT", "Reimbursement", problems)
        item.updated_at = self.clock()
        self.hub.publish("reimbursements.ready_to_sync", item.id)

    # -- shared ---------------------------------------------------------------------------

    def unsync(self, item: CardTransaction | Reimbursement) -> None:
        """An accountant undoes the export in Ramp's UI: back to ``SYNC_READY``."""
        if item.sync_status is not SpendSync.SYNCED:
            raise RampApiError(400, f"{item.id} is not synced.")
        item.sync_status, item.synced_at, item.sync_reference = SpendSync.SYNC_READY, None, None
        family = "transactions" if isinstance(item, CardTransaction) else "reimbursements"
        self.hub.publish(f"{family}.ready_to_sync", item.id)

    def _ready(
        self,
        item: CardTransaction | Reimbursement,
        object_type: str,
        label: str,
        problems: list[str],
    ) -> None:
        if item.sync_status is not SpendSync.NOT_SYNC_READY:
            problems.append(f"its sync status is {item.sync_status}")
        lines = [line.selections for line in item.lines]
        missing = self.state.missing_required(object_type, item.selections, lines)
        if missing:
            problems.append(f"it is not coded on the required field(s) {', '.join(missing)}")
        if problems:
            raise RampApiError(
                400, f"{label} {item.id} cannot be marked ready to sync: {'; '.join(problems)}."
            )
        item.sync_status = SpendSync.SYNC_READY


def _refund_lines(lines: list[SpendLine], amount: int, total: int) -> list[SpendLine]:
    """The original split, scaled to the refunded share and negated. Largest remainders take
    the leftover units, so the lines add up to the refund exactly and keep their sign."""
    if not lines:
        return []
    shares = [line.amount_minor * amount // total for line in lines]
    leftover = amount - sum(shares)
    by_remainder = sorted(
        range(len(lines)), key=lambda i: (lines[i].amount_minor * amount) % total, reverse=True
    )
    for index in by_remainder[:leftover]:
        shares[index] += 1
    return [
        SpendLine(-share, line.memo, list(line.selections))
        for share, line in zip(shares, lines, strict=True)
    ]
