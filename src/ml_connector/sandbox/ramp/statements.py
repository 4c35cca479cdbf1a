"""Card statements and the transfers that pay them (ramp-api.md §5.12; the spec's ``Statement``
and ``Transfer``).

A Ramp card program bills the business once per statement period. ``create_statement`` closes
a period: every cleared card transaction made in it (by ``user_transaction_time``) and every
transfer made in it that no statement holds yet joins it, so the statement's lines are the
period's card activity and its payments (``statement_lines``: ``CARD_TRANSACTION``,
``TRANSFER_PAYMENT``). Its figures are computed when it is read, per entity and currency
(``balance_sections``):

- ``charges``: purchases (positive amounts); ``credits``: refunds and merchant credits (the
  negative amounts, shown positive); ``payments``: completed transfers;
- ``opening_balance``: the previous statement's ending balance for that entity and currency;
  ``ending_balance`` = opening + charges - credits - payments.

The statement's own top-level figures add up the sections in the business's currency (a
documented guess: the spec's top level is one ``CurrencyAmount``).

A transfer is ready to sync once ``COMPLETED`` (§6, "once accepted"); one created in another
status becomes ready when ``complete_transfer`` completes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.spend_model import SpendSync, Statement, Transfer
from ml_connector.sandbox.ramp.spend_records import day_of
from ml_connector.sandbox.ramp.state import RampState, new_id

__all__ = [
    "Section",
    "complete_transfer",
    "create_statement",
    "create_transfer",
    "hash_text",
    "sections",
]


@dataclass(frozen=True)
class Section:
    """One entity's and currency's figures on a statement, in minor units."""

    entity_id: str
    currency: str
    opening: int
    charges: int
    credits: int
    payments: int

    @property
    def ending(self) -> int:
        return self.opening + self.charges - self.credits - self.payments


def create_statement(
    state: RampState,
    clock: Callable[[], float],
    start: date,
    end: date,
    statement_id: str | None = None,
) -> Statement:
    """Close the period ``start`` to ``end`` (both included) as a statement."""
    if end < start:
        raise RampApiError(400, f"A statement cannot end ({end}) before it starts ({start}).")
    for other in state.statements.values():
        if other.start <= end and start <= other.end:
            raise RampApiError(
                400,
                f"The period {start} to {end} overlaps statement {other.id} ({other.start} to "
                f"{other.end}).",
            )
    statement = Statement(statement_id or new_id(), start, end, clock(), seq=state.next_seq())
    state.statements[statement.id] = statement
    for item in state.transactions.values():
        if (
            item.state == "CLEARED"
            and item.statement_id is None
            and start <= day_of(item.transacted_at) <= end
        ):
            item.statement_id = statement.id
    for transfer in state.transfers.values():
        if transfer.statement_id is None and start <= day_of(transfer.created_at) <= end:
            transfer.statement_id = statement.id
    return statement


def create_transfer(
    state: RampState,
    *,
    entity_id: str,
    amount_minor: int,
    currency: str,
    created_at: float,
    status: str = "COMPLETED",
    statement_id: str | None = None,
    sync_ready: bool | None = None,
    transfer_id: str | None = None,
) -> Transfer:
    """A transfer; ready to sync when completed unless ``sync_ready`` says otherwise."""
    if amount_minor <= 0:
        raise RampApiError(400, "A transfer moves a positive amount.")
    if statement_id is not None and statement_id not in state.statements:
        raise RampApiError(400, f"Statement {statement_id} not found.")
    if statement_id is None:
        made_on = day_of(created_at)
        statement_id = next(
            (s.id for s in state.statements.values() if s.start <= made_on <= s.end), None
        )
    item = Transfer(
        id=transfer_id or new_id(),
        entity_id=entity_id,
        amount_minor=amount_minor,
        currency=currency,
        status=status,
        created_at=created_at,
        payment_id=f"RP{hash_text(transfer_id or str(created_at)) % 10**10:010d}",
        statement_id=statement_id,
        seq=state.next_seq(),
    )
    ready = status == "COMPLETED" if sync_ready is None else sync_ready
    item.sync_status = SpendSync.SYNC_READY if ready else SpendSync.NOT_SYNC_READY
    state.transfers[item.id] = item
    return item


def complete_transfer(item: Transfer) -> None:
    """The bank confirms the transfer: ``COMPLETED``, and ready to sync."""
    if item.status == "COMPLETED":
        raise RampApiError(400, f"Transfer {item.id} is already completed.")
    item.status = "COMPLETED"
    if item.sync_status is SpendSync.NOT_SYNC_READY:
        item.sync_status = SpendSync.SYNC_READY


def sections(state: RampState, statement: Statement) -> list[Section]:
    """The statement's figures per entity and currency, in a stable order."""
    figures: dict[tuple[str, str], list[int]] = {}
    for item in state.transactions.values():
        if item.statement_id == statement.id:
            row = figures.setdefault((item.entity_id, item.currency), [0, 0, 0])
            if item.amount_minor >= 0:
                row[0] += item.amount_minor
            else:
                row[1] -= item.amount_minor
    for transfer in state.transfers.values():
        if transfer.statement_id == statement.id and transfer.status == "COMPLETED":
            row = figures.setdefault((transfer.entity_id, transfer.currency), [0, 0, 0])
            row[2] += transfer.amount_minor
    previous = _previous(state, statement)
    opening = (
        {(s.entity_id, s.currency): s.ending for s in sections(state, previous)}
        if (previous is not None)
        else {}
    )
    keys = sorted(set(figures) | set(opening))
    return [
        Section(
            entity,
            currency,
            opening.get((entity, currency), 0),
            *figures.get((entity, currency), [0, 0, 0]),
        )
        for entity, currency in keys
    ]


def _previous(state: RampState, statement: Statement) -> Statement | None:
    earlier = [s for s in state.statements.values() if s.end < statement.start]
    return max(earlier, key=lambda s: s.end) if earlier else None


def hash_text(text: str) -> int:
    """A stable integer for ``text`` (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
