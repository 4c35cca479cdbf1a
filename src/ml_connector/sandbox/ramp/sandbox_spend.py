"""``SpendControl``: the Python control methods of a Ramp sandbox for people and spend.

``RampSandbox`` inherits these. They play what people and the card network do in Ramp (a
purchase clears, a merchant refunds, an accountant marks a transaction ready to sync or undoes
an export) and return each object as the public API renders it. The ``/_sandbox`` HTTP routes
(``control_spend.py``) call the same methods.

Lines are ``LineSpec`` (a ``seed.SeedBillLine`` or a mapping with its field names, see
``seeding_lines.py``); one line codes an unsplit object, several make a split. ``selections``
are object-level coding {field ERP id: option ERP id}. Coding the chart lacks is created on
demand, so spend can be coded to an account the ERP never had.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ml_connector.sandbox.ramp import render_spend
from ml_connector.sandbox.ramp.api import ApiContext
from ml_connector.sandbox.ramp.chart import ensure_selection
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.filehost import FileHost
from ml_connector.sandbox.ramp.model import Selection
from ml_connector.sandbox.ramp.seeding_lines import LineSpec, control_line
from ml_connector.sandbox.ramp.seeding_spend import card_id_of
from ml_connector.sandbox.ramp.spend_model import (
    REIMBURSEMENT_STATES,
    REIMBURSEMENT_TYPES,
    TRANSACTION_STATES,
    CardTransaction,
    Department,
    Location,
    Reimbursement,
    SpendLine,
    User,
)
from ml_connector.sandbox.ramp.spend_ops import NewReimbursement, NewTransaction, SpendOperations
from ml_connector.sandbox.ramp.state import RampState, new_id
from ml_connector.sandbox.ramp.statements import (
    complete_transfer,
    create_statement,
    create_transfer,
)
from ml_connector.sandbox.ramp.syncs import describe_sync

__all__ = ["SpendControl"]


class SpendControl:
    """Control methods for people and spend (mixed into ``RampSandbox``)."""

    clock: Callable[[], float]
    spend: SpendOperations
    context: ApiContext
    files: FileHost
    base_url: str
    _state: RampState

    # -- people ---------------------------------------------------------------------------

    def create_department(self, *, name: str, department_id: str | None = None) -> dict[str, Any]:
        state = self._state
        item = Department(department_id or new_id(), name, seq=state.next_seq())
        state.departments[item.id] = item
        return render_spend.department(item)

    def create_location(
        self, *, name: str, entity_id: str | None = None, location_id: str | None = None
    ) -> dict[str, Any]:
        state = self._state
        item = Location(
            location_id or new_id(), name, self._entity_or_none(entity_id), seq=state.next_seq()
        )
        state.locations[item.id] = item
        return render_spend.location(item)

    def create_user(
        self,
        *,
        first_name: str,
        last_name: str,
        email: str | None = None,
        department_id: str | None = None,
        location_id: str | None = None,
        entity_id: str | None = None,
        employee_id: str | None = None,
        role: str = "BUSINESS_USER",
        manager_id: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """A user with one card; the entity defaults to the primary one."""
        state = self._state
        for what, wanted, known in (
            ("Department", department_id, state.departments),
            ("Location", location_id, state.locations),
            ("User", manager_id, state.users),
        ):
            if wanted is not None and wanted not in known:
                raise RampApiError.not_found(what, wanted)
        person = User(
            id=user_id or new_id(),
            first_name=first_name,
            last_name=last_name,
            email=email or f"{first_name}.{last_name}@example.com".lower().replace(" ", ""),
            entity_id=self._entity_or_none(entity_id) or state.primary_entity_id(),
            card_id="",
            department_id=department_id,
            location_id=location_id,
            employee_id=employee_id,
            role=role,
            manager_id=manager_id,
            seq=state.next_seq(),
        )
        person.card_id = card_id_of(person.id)
        state.users[person.id] = person
        if manager_id is not None:
            state.users[manager_id].is_manager = True
        return render_spend.user(state, person)

    # -- card transactions ----------------------------------------------------------------

    def create_transaction(
        self,
        *,
        user_id: str,
        merchant_name: str,
        amount_minor: int,
        currency: str | None = None,
        lines: Sequence[LineSpec] = (),
        selections: Mapping[str, str] | None = None,
        transacted_at: datetime | None = None,
        original_amount_minor: int | None = None,
        original_currency: str | None = None,
        state: str = "CLEARED",
        memo: str | None = None,
        merchant_category_code: str | None = None,
        sk_category_id: int | None = None,
        sk_category_name: str | None = None,
        merchant_country: str | None = None,
        merchant_city: str | None = None,
        receipts: int = 1,
        entity_id: str | None = None,
        transaction_id: str | None = None,
        sync_ready: bool = False,
    ) -> dict[str, Any]:
        """A card transaction by ``user_id``'s card; the currency defaults to the card's
        entity's. ``sync_ready`` marks it ready as the accountant would (checked)."""
        if state not in TRANSACTION_STATES:
            raise ValueError(f"unknown transaction state {state!r}")
        holder = self.context.find("User", self._state.users, user_id)
        entity = self._entity_or_none(entity_id) or holder.entity_id or self._primary()
        header, split = self._coding(lines, selections)
        item = self.spend.create_transaction(
            NewTransaction(
                user_id=holder.id,
                entity_id=entity,
                card_id=holder.card_id,
                amount_minor=amount_minor,
                currency=currency or self._state.entities[entity].currency,
                transacted_at=self._instant(transacted_at),
                merchant_name=merchant_name,
                lines=split,
                selections=header,
                original_amount_minor=original_amount_minor,
                original_currency=original_currency,
                state=state,
                memo=memo,
                merchant_category_code=merchant_category_code,
                sk_category_id=sk_category_id,
                sk_category_name=sk_category_name,
                merchant_country=merchant_country,
                merchant_city=merchant_city,
                receipts=receipts,
                transaction_id=transaction_id,
            )
        )
        if sync_ready:
            self.spend.mark_transaction_ready(item)
        return render_spend.transaction(self._state, item)

    def clear_transaction(self, transaction_id: str) -> dict[str, Any]:
        item = self._transaction(transaction_id)
        self.spend.clear(item)
        return render_spend.transaction(self._state, item)

    def decline_transaction(self, transaction_id: str) -> dict[str, Any]:
        item = self._transaction(transaction_id)
        self.spend.decline(item)
        return render_spend.transaction(self._state, item)

    def refund_transaction(
        self, transaction_id: str, *, amount_minor: int | None = None
    ) -> dict[str, Any]:
        """The merchant gives money back: a new transaction with a negative amount (all of
        what is not yet refunded unless ``amount_minor`` says otherwise). Returns the refund."""
        refund = self.spend.refund(self._transaction(transaction_id), amount_minor)
        return render_spend.transaction(self._state, refund)

    def mark_transaction_ready(self, transaction_id: str) -> dict[str, Any]:
        """The accountant marks it ready to sync (400 when it cannot be: not cleared, not
        approved, already ready or synced, or a required field uncoded)."""
        item = self._transaction(transaction_id)
        self.spend.mark_transaction_ready(item)
        return render_spend.transaction(self._state, item)

    def unsync_transaction(self, transaction_id: str) -> dict[str, Any]:
        item = self._transaction(transaction_id)
        self.spend.unsync(item)
        return render_spend.transaction(self._state, item)

    def add_receipt(self, object_id: str) -> str:
        """Attach one more receipt to a transaction or reimbursement; returns its id."""
        card = self._state.transactions.get(object_id)
        if card is not None:
            return self.spend.add_receipt("transaction", card).id
        claim = self.context.find(
            "Transaction or reimbursement", self._state.reimbursements, object_id
        )
        return self.spend.add_receipt("reimbursement", claim).id

    # -- reimbursements -------------------------------------------------------------------

    def create_reimbursement(
        self,
        *,
        user_id: str,
        amount_minor: int,
        transaction_date: date | None = None,
        currency: str | None = None,
        type: str = "OUT_OF_POCKET",
        merchant: str | None = None,
        lines: Sequence[LineSpec] = (),
        selections: Mapping[str, str] | None = None,
        original_amount_minor: int | None = None,
        original_currency: str | None = None,
        distance_miles: Decimal | int | str | None = None,
        start_location: str | None = None,
        end_location: str | None = None,
        waypoints: Sequence[str] = (),
        state: str = "APPROVED",
        memo: str | None = None,
        receipts: int = 1,
        entity_id: str | None = None,
        reimbursement_id: str | None = None,
        sync_ready: bool = False,
    ) -> dict[str, Any]:
        """A reimbursement to ``user_id``; ``type`` ``MILEAGE`` takes ``distance_miles``."""
        if type not in REIMBURSEMENT_TYPES:
            raise ValueError(f"unknown reimbursement type {type!r}")
        if state not in REIMBURSEMENT_STATES:
            raise ValueError(f"unknown reimbursement state {state!r}")
        person = self.context.find("User", self._state.users, user_id)
        entity = self._entity_or_none(entity_id) or person.entity_id or self._primary()
        header, split = self._coding(lines, selections)
        item = self.spend.create_reimbursement(
            NewReimbursement(
                user_id=person.id,
                entity_id=entity,
                amount_minor=amount_minor,
                currency=currency or self._state.entities[entity].currency,
                transaction_date=transaction_date or self._today(),
                type=type,
                merchant=merchant,
                lines=split,
                selections=header,
                original_amount_minor=original_amount_minor,
                original_currency=original_currency,
                distance=None if distance_miles is None else Decimal(str(distance_miles)),
                start_location=start_location,
                end_location=end_location,
                waypoints=list(waypoints),
                state=state,
                memo=memo,
                receipts=receipts,
                reimbursement_id=reimbursement_id,
            )
        )
        if sync_ready:
            self.spend.mark_reimbursement_ready(item)
        return render_spend.reimbursement(self._state, item)

    def approve_reimbursement(self, reimbursement_id: str) -> dict[str, Any]:
        return self._reimbursement_to(reimbursement_id, "APPROVED")

    def reject_reimbursement(self, reimbursement_id: str) -> dict[str, Any]:
        return self._reimbursement_to(reimbursement_id, "REJECTED")

    def pay_reimbursement(self, reimbursement_id: str) -> dict[str, Any]:
        return self._reimbursement_to(reimbursement_id, "REIMBURSED")

    def mark_reimbursement_ready(self, reimbursement_id: str) -> dict[str, Any]:
        item = self._reimbursement(reimbursement_id)
        self.spend.mark_reimbursement_ready(item)
        return render_spend.reimbursement(self._state, item)

    def unsync_reimbursement(self, reimbursement_id: str) -> dict[str, Any]:
        item = self._reimbursement(reimbursement_id)
        self.spend.unsync(item)
        return render_spend.reimbursement(self._state, item)

    # -- statements and transfers ---------------------------------------------------------

    def create_statement(
        self, *, start: date, end: date, statement_id: str | None = None
    ) -> dict[str, Any]:
        """Close a statement period; its cleared transactions and transfers join it."""
        item = create_statement(self._state, self.clock, start, end, statement_id)
        link = self.files.url(item.id, "statement", self.base_url)
        return render_spend.statement(self._state, item, link)

    def create_transfer(
        self,
        *,
        amount_minor: int,
        currency: str | None = None,
        entity_id: str | None = None,
        status: str = "COMPLETED",
        created_at: datetime | None = None,
        statement_id: str | None = None,
        transfer_id: str | None = None,
    ) -> dict[str, Any]:
        """A transfer (a statement payment); ready to sync once ``COMPLETED``."""
        entity = self._entity_or_none(entity_id) or self._primary()
        item = create_transfer(
            self._state,
            entity_id=entity,
            amount_minor=amount_minor,
            currency=currency or self._state.entities[entity].currency,
            created_at=self._instant(created_at),
            status=status,
            statement_id=statement_id,
            transfer_id=transfer_id,
        )
        return render_spend.transfer(item)

    def complete_transfer(self, transfer_id: str) -> dict[str, Any]:
        item = self.context.find("Transfer", self._state.transfers, transfer_id)
        complete_transfer(item)
        return render_spend.transfer(item)

    # -- inspection -----------------------------------------------------------------------

    def sync_status(self, object_id: str) -> dict[str, Any]:
        """Where any syncable object stands: kind, ``sync_status``, when it was synced, the
        ERP reference it was synced with, and its export errors (failed syncs)."""
        return describe_sync(self._state, object_id)

    # -- helpers --------------------------------------------------------------------------

    def _coding(
        self, lines: Sequence[LineSpec], selections: Mapping[str, str] | None
    ) -> tuple[list[Selection], list[SpendLine]]:
        state = self._state
        header = [
            ensure_selection(state, self.clock, str(f), str(v))
            for f, v in (selections or {}).items()
        ]
        parsed = [control_line(state, self.clock, spec) for spec in lines]
        if len(parsed) == 1:
            return header + parsed[0][2], []
        return header, [SpendLine(amount, memo, chosen) for amount, memo, chosen in parsed]

    def _transaction(self, transaction_id: str) -> CardTransaction:
        return self.context.find("Transaction", self._state.transactions, transaction_id)

    def _reimbursement(self, reimbursement_id: str) -> Reimbursement:
        return self.context.find("Reimbursement", self._state.reimbursements, reimbursement_id)

    def _reimbursement_to(self, reimbursement_id: str, wanted: str) -> dict[str, Any]:
        item = self._reimbursement(reimbursement_id)
        self.spend.set_reimbursement_state(item, wanted)
        return render_spend.reimbursement(self._state, item)

    def _entity_or_none(self, entity_id: str | None) -> str | None:
        if entity_id is not None and entity_id not in self._state.entities:
            raise RampApiError.not_found("Entity", entity_id)
        return entity_id

    def _primary(self) -> str:
        return self._state.primary_entity_id()

    def _instant(self, moment: datetime | None) -> float:
        if moment is None:
            return self.clock()
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    def _today(self) -> date:
        return datetime.fromtimestamp(self.clock(), UTC).date()
