"""Load a dataset's people and spend into a ``RampState`` (no webhooks: it all happened before).

Departments, locations, then users (each gets one card; a user whose id another user names as
manager is a manager), card transactions and reimbursements coded by ERP id (coding the chart
lacks is created on the Ramp side, as for bills), card statements (which take the cleared
transactions made in their period) and transfers (which join the statement whose period holds
their date, unless they name one). ``sync_ready`` marks an object ready as an accountant would
have; a transfer is ready once completed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from ml_connector.sandbox import seed
from ml_connector.sandbox.ramp.chart import ensure_selection
from ml_connector.sandbox.ramp.model import EntityAccount, Selection
from ml_connector.sandbox.ramp.seeding_lines import line_selections
from ml_connector.sandbox.ramp.spend_model import (
    Department,
    Location,
    SpendLine,
    SpendSync,
    User,
)
from ml_connector.sandbox.ramp.spend_records import (
    NewReimbursement,
    NewTransaction,
    add_reimbursement,
    add_transaction,
)
from ml_connector.sandbox.ramp.state import RampState
from ml_connector.sandbox.ramp.statements import create_statement, create_transfer

__all__ = ["card_id_of", "coding", "load_entity_accounts", "load_spend"]


def card_id_of(user_id: str) -> str:
    """The id of a user's card (one card per card holder in the sandbox)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ramp-card:{user_id}"))


def coding(
    state: RampState,
    clock: Callable[[], float],
    lines: tuple[seed.SeedBillLine, ...] | list[seed.SeedBillLine],
    selections: tuple[tuple[str, str], ...] | list[tuple[str, str]],
) -> tuple[list[Selection], list[SpendLine]]:
    """(object-level selections, line items) of seeded spend: one line is unsplit (its coding
    is the object's, no line items); several are a split."""
    header = [ensure_selection(state, clock, f, v) for f, v in selections]
    if len(lines) == 1:
        return header + line_selections(state, clock, lines[0]), []
    split = [
        SpendLine(line.amount_minor, line.memo or None, line_selections(state, clock, line))
        for line in lines
    ]
    return header, split


def load_entity_accounts(state: RampState, dataset: seed.Dataset, now: float) -> None:
    for entity in dataset.entities:
        state.entities[entity.id].accounts = [
            EntityAccount(
                a.internal_id,
                a.usage_type,
                a.external_id,
                a.external_name,
                a.classification,
                created_at=now,
            )
            for a in entity.accounts
        ]


def load_spend(
    state: RampState, dataset: seed.Dataset, clock: Callable[[], float], now: float
) -> None:
    """Add the dataset's people, card spend, reimbursements, statements and transfers."""
    for dept in dataset.departments:
        state.departments[dept.id] = Department(dept.id, dept.name, seq=state.next_seq())
    for place in dataset.locations:
        state.locations[place.id] = Location(
            place.id, place.name, place.entity_id, seq=state.next_seq()
        )
    managers = {u.manager_id for u in dataset.users if u.manager_id}
    for person in dataset.users:
        state.users[person.id] = User(
            id=person.id,
            first_name=person.first_name,
            last_name=person.last_name,
            email=person.email,
            entity_id=person.entity_id or state.primary_entity_id(),
            card_id=card_id_of(person.id),
            department_id=person.department_id,
            location_id=person.location_id,
            employee_id=person.employee_id,
            role=person.role,
            manager_id=person.manager_id,
            is_manager=person.id in managers,
            seq=state.next_seq(),
        )
    for card in dataset.card_transactions:
        _load_transaction(state, card, clock, now)
    for claim in dataset.reimbursements:
        _load_reimbursement(state, claim, clock, now)
    for period in dataset.statements:
        create_statement(state, clock, period.start, period.end, period.id)
    for pay in dataset.transfers:
        create_transfer(
            state,
            entity_id=pay.entity_id or state.primary_entity_id(),
            amount_minor=pay.amount_minor,
            currency=pay.currency,
            created_at=min(now, _ts(pay.created_at)),
            status=pay.status,
            statement_id=pay.statement_id,
            sync_ready=pay.sync_ready,
            transfer_id=pay.id,
        )


def _ts(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _load_transaction(
    state: RampState, card: seed.SeedCardTransaction, clock: Callable[[], float], now: float
) -> None:
    holder = state.users[card.user_id]
    header, split = coding(state, clock, card.lines, card.selections)
    item = add_transaction(
        state,
        NewTransaction(
            user_id=holder.id,
            entity_id=card.entity_id or holder.entity_id or state.primary_entity_id(),
            card_id=holder.card_id,
            amount_minor=card.amount_minor,
            currency=card.currency,
            transacted_at=min(now, _ts(card.transacted_at)),
            merchant_name=card.merchant_name,
            lines=split,
            selections=header,
            original_amount_minor=card.original_amount_minor,
            original_currency=card.original_currency,
            state=card.state,
            memo=card.memo,
            merchant_category_code=card.merchant_category_code,
            sk_category_id=card.sk_category_id,
            sk_category_name=card.sk_category_name,
            merchant_country=card.merchant_country,
            merchant_city=card.merchant_city,
            receipts=card.receipts,
            refund_of=card.refund_of,
            transaction_id=card.id,
        ),
        now,
    )
    if card.sync_ready:
        item.sync_status = SpendSync.SYNC_READY


def _load_reimbursement(
    state: RampState, claim: seed.SeedReimbursement, clock: Callable[[], float], now: float
) -> None:
    person = state.users[claim.user_id]
    header, split = coding(state, clock, claim.lines, claim.selections)
    item = add_reimbursement(
        state,
        NewReimbursement(
            user_id=person.id,
            entity_id=claim.entity_id or person.entity_id or state.primary_entity_id(),
            amount_minor=claim.amount_minor,
            currency=claim.currency,
            transaction_date=claim.transaction_date,
            type=claim.type,
            merchant=claim.merchant,
            lines=split,
            selections=header,
            original_amount_minor=claim.original_amount_minor,
            original_currency=claim.original_currency,
            distance=claim.distance_miles,
            start_location=claim.start_location,
            end_location=claim.end_location,
            waypoints=list(claim.waypoints),
            state=claim.state,
            memo=claim.memo,
            receipts=claim.receipts,
            reimbursement_id=claim.id,
        ),
        now,
    )
    if claim.sync_ready:
        item.sync_status = SpendSync.SYNC_READY
