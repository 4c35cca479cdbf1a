"""Claims and leases of sync records: what is due, taking it, and every status move.

A worker claims due records with a lease; a worker that dies simply lets its lease run out and
another worker reclaims the record. Claims are exclusive on both backends: PostgreSQL locks the
candidate rows with ``FOR UPDATE SKIP LOCKED`` (racing claimers skip each other's rows), SQLite
claims inside one ``BEGIN IMMEDIATE`` transaction (claimers take turns).

Status changes go through :func:`ml_connector.store.states.advance`, called only by ``_apply``
here; each one appends a row to ``attempts``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ml_connector.errors import StoreError
from ml_connector.store.records import Attempt, ConnectionStatus, SyncRecord
from ml_connector.store.states import LEASED_TRANSITIONS, SyncStatus, Transition, advance
from ml_connector.store.tables import AttemptRow, ConnectionRow, SyncRecordRow

__all__: list[str] = []  # the work queue's internals; WorkRepository is the interface


def _to_record(row: SyncRecordRow) -> SyncRecord:
    return SyncRecord(
        id=row.id,
        connection_id=row.connection_id,
        object_type=row.object_type,
        object_id=row.object_id,
        status=SyncStatus(row.status),
        reason=row.reason,
        attempts=row.attempts,
        rerun=row.rerun,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        claimed_at=row.claimed_at,
        next_at=row.next_at,
        last_error=row.last_error,
        error_code=row.error_code,
        hint=row.hint,
        visma_ref=row.visma_ref,
        payload=row.payload,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _to_attempt(row: AttemptRow) -> Attempt:
    return Attempt(
        id=row.id,
        record_id=row.record_id,
        number=row.number,
        outcome=row.outcome,
        status=SyncStatus(row.status),
        owner=row.owner,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        error_code=row.error_code,
    )


def _apply(
    session: AsyncSession,
    row: SyncRecordRow,
    transition: Transition,
    now: datetime,
    *,
    owner: str | None = None,
    error: str | None = None,
    error_code: str | None = None,
    lease_until: datetime | None = None,
) -> None:
    """Move ``row`` along ``transition`` and append the attempts row; the one place it happens.

    ``owner`` is the worker making the move (for leased transitions, the lease holder; for a
    claim, the new holder, leased until ``lease_until``).
    """
    current = SyncStatus(row.status)
    if transition in LEASED_TRANSITIONS and (
        current is not SyncStatus.IN_FLIGHT or row.lease_owner != owner
    ):
        holder = "held by another worker" if current is SyncStatus.IN_FLIGHT else "not leased"
        raise StoreError(
            f"sync record {row.id} is not leased to {owner!r} ({current.value}, {holder}): "
            f"refusing the {transition.value!r} transition"
        )
    target = advance(current, transition, rerun=row.rerun)
    # Rows of one attempt share its number; a claim opens the next attempt.
    number = row.attempts + 1 if transition is Transition.CLAIM else row.attempts
    started_at = row.claimed_at or now
    if transition is Transition.CLAIM:
        row.attempts = number
        row.lease_owner, row.lease_until, row.claimed_at = owner, lease_until, now
        started_at = now
    elif transition is Transition.RELEASE:
        # A graceful hand-back is not a failed attempt; it must not burn the retry budget.
        row.attempts = max(row.attempts - 1, 0)
    elif transition is Transition.REQUEUE:
        row.attempts = 0
    if target is not SyncStatus.IN_FLIGHT:
        row.lease_owner = None
        row.lease_until = None
    if target is not SyncStatus.RETRY_WAIT:
        row.next_at = None
    if current is SyncStatus.IN_FLIGHT and transition is not Transition.EXPIRE:
        row.rerun = False
    row.status = target.value
    row.updated_at = now
    session.add(
        AttemptRow(
            record_id=row.id,
            number=number,
            outcome=transition.value,
            status=target.value,
            owner=owner,
            started_at=started_at,
            finished_at=None if transition is Transition.CLAIM else now,
            error=error,
            error_code=error_code,
        )
    )


async def _load(session: AsyncSession, record_id: int) -> SyncRecordRow:
    row = await session.get(SyncRecordRow, record_id, with_for_update=True)
    if row is None:
        raise StoreError(f"no sync record with id {record_id}")
    return row


def _due_query(now: datetime) -> Select[SyncRecordRow]:
    """Due records of active connections, oldest first, locked for the claiming transaction.

    Due means: pending; retry_wait with ``next_at <= now``; or in_flight with an expired lease.
    """
    due = or_(
        SyncRecordRow.status == SyncStatus.PENDING.value,
        and_(SyncRecordRow.status == SyncStatus.RETRY_WAIT.value, SyncRecordRow.next_at <= now),
        and_(
            SyncRecordRow.status == SyncStatus.IN_FLIGHT.value,
            SyncRecordRow.lease_until <= now,
        ),
    )
    return (
        select(SyncRecordRow)
        .join(ConnectionRow, ConnectionRow.id == SyncRecordRow.connection_id)
        .where(due, ConnectionRow.status == ConnectionStatus.ACTIVE.value)
        .order_by(SyncRecordRow.id)
        # SKIP LOCKED: a row another claimer is taking is not waited for, just skipped.
        # SQLite ignores FOR UPDATE; its write transaction already excludes other claimers.
        .with_for_update(skip_locked=True, of=SyncRecordRow)
    )


def _claim_rows(
    session: AsyncSession, rows: list[SyncRecordRow], owner: str, now: datetime, lease_s: float
) -> list[SyncRecord]:
    """Lease ``rows`` to ``owner``; an expired lease is closed as such first."""
    lease_until = now + timedelta(seconds=lease_s)
    for row in rows:
        if row.status == SyncStatus.IN_FLIGHT.value:
            _apply(session, row, Transition.EXPIRE, now, owner=row.lease_owner)
        _apply(session, row, Transition.CLAIM, now, owner=owner, lease_until=lease_until)
    return [_to_record(row) for row in rows]
