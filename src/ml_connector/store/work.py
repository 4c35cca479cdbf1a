"""Sync records, the work queue: queue, claim, settle, and the append-only attempts history.

The store is the queue. A record is unique per (connection, object type, object id), so at most
one unit of work per object is ever in flight and updates to one object apply in order.
Workers claim due records with a lease; a worker that dies simply lets its lease run out and
another worker reclaims the record. Claims are exclusive on both backends: PostgreSQL locks the
candidate rows with ``FOR UPDATE SKIP LOCKED`` (racing claimers skip each other's rows),
SQLite claims inside one ``BEGIN IMMEDIATE`` transaction (claimers take turns). On PostgreSQL a
transaction that queues or hands back work also sends a NOTIFY, delivered on commit, so workers in
other processes wake at once (:mod:`ml_connector.store.notify`).

Status changes go through :func:`ml_connector.store.states.advance` and nowhere else; each one
appends a row to ``attempts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from itertools import zip_longest
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ml_connector.errors import StoreError
from ml_connector.store.engine import Database, Repository
from ml_connector.store.notify import notify_work_in
from ml_connector.store.records import Attempt, ConnectionStatus, SyncRecord
from ml_connector.store.states import LEASED_TRANSITIONS, SyncStatus, Transition, advance
from ml_connector.store.tables import AttemptRow, ConnectionRow, SyncRecordRow

__all__ = ["RecordKey", "WorkRepository", "upsert_record_in", "upsert_records_in"]

_MISSING: Any = object()


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


def _replay(session: AsyncSession, row: SyncRecordRow, reason: str, now: datetime) -> None:
    """A replay of an existing record: back to pending, or flagged to rerun when in flight."""
    status = SyncStatus(row.status)
    if status is SyncStatus.IN_FLIGHT:
        row.rerun = True
        row.reason = reason
        row.updated_at = now
    elif status is not SyncStatus.PENDING:
        row.reason = reason
        _apply(session, row, Transition.REQUEUE, now)


def _pending_values(
    connection_id: int, object_type: str, object_id: str, reason: str, now: datetime
) -> dict[str, Any]:
    return {
        "connection_id": connection_id,
        "object_type": object_type,
        "object_id": object_id,
        "status": SyncStatus.PENDING.value,
        "reason": reason,
        "attempts": 0,
        "rerun": False,
        "created_at": now,
        "updated_at": now,
    }


_RECORD_KEY = [SyncRecordRow.connection_id, SyncRecordRow.object_type, SyncRecordRow.object_id]


async def upsert_record_in(
    db: Database,
    session: AsyncSession,
    connection_id: int,
    object_type: str,
    object_id: str,
    *,
    reason: str,
    replay: bool,
    now: datetime,
) -> SyncRecordRow:
    """``WorkRepository.upsert_record`` inside the caller's write transaction; returns the row."""
    insert = db.insert(SyncRecordRow).values(
        _pending_values(connection_id, object_type, object_id, reason, now)
    )
    insert = insert.on_conflict_do_nothing(index_elements=_RECORD_KEY)
    inserted = (await session.execute(insert.returning(SyncRecordRow.id))).scalar()
    query = select(SyncRecordRow).where(
        SyncRecordRow.connection_id == connection_id,
        SyncRecordRow.object_type == object_type,
        SyncRecordRow.object_id == object_id,
    )
    row = (await session.scalars(query.with_for_update())).one()
    if inserted is None and replay:
        _replay(session, row, reason, now)
    if inserted is not None or replay:
        await notify_work_in(db, session, [connection_id])
    return row


RecordKey = tuple[int, str, str]
"""(connection id, object type, object id): what identifies a sync record."""


async def upsert_records_in(
    db: Database,
    session: AsyncSession,
    items: Sequence[tuple[RecordKey, str]],
    *,
    replay: bool,
    now: datetime,
) -> list[int]:
    """Queue work for many objects, each ``(key, reason)``, inside the caller's transaction.

    The outcome equals calling ``upsert_record`` once per item, in order (a key named twice is
    created or replayed by its first item; a later item then finds it pending, or flags an
    in-flight record again), with one INSERT for every new key and one SELECT for the others.
    Returns the record id for each item.
    """
    if not items:
        return []
    first_reason: dict[RecordKey, str] = {}
    for key, reason in items:
        first_reason.setdefault(key, reason)
    insert = db.insert(SyncRecordRow).on_conflict_do_nothing(index_elements=_RECORD_KEY)
    returning = insert.returning(
        SyncRecordRow.id,
        SyncRecordRow.connection_id,
        SyncRecordRow.object_type,
        SyncRecordRow.object_id,
    )
    values = [_pending_values(*key, reason, now) for key, reason in first_reason.items()]
    # Core executemany: one multi-row INSERT, compiled once (see ``ingest_events``).
    conn = await session.connection()
    ids: dict[RecordKey, int] = {
        (cid, otype, oid): rid for rid, cid, otype, oid in await conn.execute(returning, values)
    }
    existing = [key for key in first_reason if key not in ids]
    rows: dict[RecordKey, SyncRecordRow] = {}
    if existing:
        # Over-selects (any combination of the values), then keeps exactly the wanted keys.
        query = select(SyncRecordRow).where(
            SyncRecordRow.connection_id.in_({k[0] for k in existing}),
            SyncRecordRow.object_type.in_({k[1] for k in existing}),
            SyncRecordRow.object_id.in_({k[2] for k in existing}),
        )
        wanted = set(existing)
        for row in await session.scalars(query.with_for_update()):
            key = (row.connection_id, row.object_type, row.object_id)
            if key in wanted:
                rows[key] = row
                ids[key] = row.id
    for key, reason in items:
        existing_row = rows.get(key)
        if existing_row is not None and replay:
            _replay(session, existing_row, reason, now)
    woken = first_reason if replay else [key for key in first_reason if key not in rows]
    await notify_work_in(db, session, {key[0] for key in woken})
    return [ids[key] for key, _ in items]


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


class WorkRepository(Repository):
    """Queue, claim and settle sync records."""

    async def upsert_record(
        self,
        connection_id: int,
        object_type: str,
        object_id: str,
        *,
        reason: str,
        replay: bool = False,
        now: datetime | None = None,
    ) -> SyncRecord:
        """Queue work for an object; safe to call for every duplicate event.

        A new object gets a ``pending`` record. An existing record is left as it is, unless
        ``replay``: then a succeeded, needs_attention, excluded or retry_wait record goes back
        to ``pending`` (attempt count reset), and an in-flight one is flagged to run again
        after its current attempt.
        """
        now = self._now(now)
        async with self._db.write() as session:
            row = await upsert_record_in(
                self._db,
                session,
                connection_id,
                object_type,
                object_id,
                reason=reason,
                replay=replay,
                now=now,
            )
            return _to_record(row)

    async def upsert_records(
        self,
        items: Sequence[tuple[RecordKey, str]],
        *,
        replay: bool = False,
        now: datetime | None = None,
    ) -> list[int]:
        """Queue many objects, each ``(key, reason)``, in one transaction; their record ids.

        The same outcome as :meth:`upsert_record` once per item (see ``upsert_records_in``).
        """
        now = self._now(now)
        async with self._db.write() as session:
            return await upsert_records_in(self._db, session, items, replay=replay, now=now)

    async def claim_due(
        self,
        owner: str,
        *,
        limit: int,
        lease_s: float,
        now: datetime | None = None,
        connection_id: int | None = None,
    ) -> list[SyncRecord]:
        """Lease up to ``limit`` due records to ``owner`` until ``now + lease_s``.

        Due means: pending; retry_wait with ``next_at <= now``; or in_flight with an expired
        lease. Records of paused connections wait. Oldest records first. No record is ever
        handed to two claimers at once, however many processes race.
        """
        if limit <= 0:
            return []
        now = self._now(now)
        query = _due_query(now).limit(limit)
        if connection_id is not None:
            query = query.where(SyncRecordRow.connection_id == connection_id)
        async with self._db.write() as session:
            rows = list(await session.scalars(query))
            return _claim_rows(session, rows, owner, now, lease_s)

    async def claim_fair(
        self,
        owner: str,
        quotas: Mapping[int, int],
        *,
        lease_s: float,
        now: datetime | None = None,
    ) -> list[SyncRecord]:
        """Lease up to ``quotas[c]`` due records of each connection ``c``, in one transaction.

        Each connection's share is taken on its own (oldest first), so one connection's
        backlog never crowds out another's records; the worker's round robin sets the quotas
        (``runtime.fairness``). The records come back interleaved, one per connection in turn
        (the first of each connection, then the second, …), so a worker starting them in order
        starts every connection's first record before anyone's second. Same exclusivity as
        :meth:`claim_due`.
        """
        wanted = {cid: n for cid, n in quotas.items() if n > 0}
        if not wanted:
            return []
        now = self._now(now)
        async with self._db.write() as session:
            shares: list[list[SyncRecordRow]] = []
            for connection_id, limit in sorted(wanted.items()):
                query = _due_query(now).where(SyncRecordRow.connection_id == connection_id)
                shares.append(list(await session.scalars(query.limit(limit))))
            rows = [row for turn in zip_longest(*shares) for row in turn if row is not None]
            return _claim_rows(session, rows, owner, now, lease_s)

    async def extend_lease(
        self, record_id: int, owner: str, *, lease_s: float, now: datetime | None = None
    ) -> SyncRecord:
        """Push ``owner``'s lease out to ``now + lease_s`` (a heartbeat for long work)."""
        now = self._now(now)
        async with self._db.write() as session:
            row = await _load(session, record_id)
            if row.status != SyncStatus.IN_FLIGHT.value or row.lease_owner != owner:
                raise StoreError(f"sync record {record_id} is not leased to {owner!r}")
            row.lease_until = now + timedelta(seconds=lease_s)
            row.updated_at = now
            return _to_record(row)

    async def complete(
        self,
        record_id: int,
        owner: str,
        *,
        visma_ref: str | None,
        payload: Any = _MISSING,
        now: datetime | None = None,
    ) -> SyncRecord:
        """Settle ``owner``'s record as succeeded, keeping the Visma reference and payload.

        Goes back to pending instead when the object changed meanwhile (``rerun``). Raises
        StoreError when ``owner`` no longer holds the lease.
        """
        now = self._now(now)
        async with self._db.write() as session:
            row = await _load(session, record_id)
            _apply(session, row, Transition.COMPLETE, now, owner=owner)
            row.visma_ref = visma_ref
            if payload is not _MISSING:
                row.payload = payload
            row.last_error = row.error_code = row.hint = None
            return _to_record(row)

    async def schedule_retry(
        self,
        record_id: int,
        owner: str,
        *,
        next_at: datetime,
        error: str,
        error_code: str,
        payload: Any = _MISSING,
        now: datetime | None = None,
    ) -> SyncRecord:
        """Settle ``owner``'s record as retry_wait, due again at ``next_at``."""
        now = self._now(now)
        next_at = self._now(next_at)
        async with self._db.write() as session:
            row = await _load(session, record_id)
            _apply(
                session, row, Transition.RETRY, now, owner=owner, error=error, error_code=error_code
            )
            row.next_at = next_at
            row.last_error, row.error_code, row.hint = error, error_code, None
            if payload is not _MISSING:
                row.payload = payload
            return _to_record(row)

    async def mark_needs_attention(
        self,
        record_id: int,
        owner: str,
        *,
        error: str,
        hint: str,
        error_code: str,
        payload: Any = _MISSING,
        now: datetime | None = None,
    ) -> SyncRecord:
        """Settle ``owner``'s record as needs_attention, with a message and a fix hint."""
        now = self._now(now)
        async with self._db.write() as session:
            row = await _load(session, record_id)
            _apply(
                session,
                row,
                Transition.ATTENTION,
                now,
                owner=owner,
                error=error,
                error_code=error_code,
            )
            row.last_error, row.error_code, row.hint = error, error_code, hint
            if payload is not _MISSING:
                row.payload = payload
            return _to_record(row)

    async def release(
        self, record_id: int, owner: str, *, now: datetime | None = None
    ) -> SyncRecord:
        """Hand ``owner``'s record back to the queue untouched (graceful shutdown)."""
        now = self._now(now)
        async with self._db.write() as session:
            row = await _load(session, record_id)
            _apply(session, row, Transition.RELEASE, now, owner=owner)
            # Another process's worker may take it at once.
            await notify_work_in(self._db, session, [row.connection_id])
            return _to_record(row)

    async def release_owned(self, owner: str, *, now: datetime | None = None) -> int:
        """Hand back every record still leased to ``owner``; returns how many.

        For a worker whose batch failed half way (the database went away): once the batch has
        ended nothing of it runs any more, so its leftover leases are released at once instead
        of waiting for them to expire. Releasing does not count as an attempt.
        """
        now = self._now(now)
        query = (
            select(SyncRecordRow)
            .where(
                SyncRecordRow.status == SyncStatus.IN_FLIGHT.value,
                SyncRecordRow.lease_owner == owner,
            )
            .order_by(SyncRecordRow.id)
            .with_for_update(skip_locked=True)
        )
        async with self._db.write() as session:
            rows = list(await session.scalars(query))
            for row in rows:
                _apply(session, row, Transition.RELEASE, now, owner=owner)
            await notify_work_in(self._db, session, {row.connection_id for row in rows})
            return len(rows)

    async def exclude(
        self,
        record_id: int,
        *,
        reason: str,
        owner: str | None = None,
        now: datetime | None = None,
    ) -> SyncRecord:
        """Park a record as excluded. An in-flight record can only be excluded by its holder."""
        now = self._now(now)
        async with self._db.write() as session:
            row = await _load(session, record_id)
            if row.status == SyncStatus.IN_FLIGHT.value and row.lease_owner != owner:
                raise StoreError(f"sync record {record_id} is in flight for another worker")
            _apply(session, row, Transition.EXCLUDE, now, owner=owner, error=reason)
            row.reason = reason
            return _to_record(row)

    async def get_record(self, record_id: int) -> SyncRecord:
        """The record with this id. Raises StoreError when there is none."""
        async with self._db.read() as session:
            row = await session.get(SyncRecordRow, record_id)
            if row is None:
                raise StoreError(f"no sync record with id {record_id}")
            return _to_record(row)

    async def find_record(
        self, connection_id: int, object_type: str, object_id: str
    ) -> SyncRecord | None:
        """The record for this object, or None."""
        async with self._db.read() as session:
            query = select(SyncRecordRow).where(
                SyncRecordRow.connection_id == connection_id,
                SyncRecordRow.object_type == object_type,
                SyncRecordRow.object_id == object_id,
            )
            row = (await session.scalars(query)).one_or_none()
            return None if row is None else _to_record(row)

    async def list_records(
        self,
        connection_id: int | None,
        *,
        status: SyncStatus | Sequence[SyncStatus] | None = None,
        object_type: str | None = None,
        updated_since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[SyncRecord]:
        """Records, most recently changed first; ``connection_id`` None means all connections."""
        query = select(SyncRecordRow)
        if connection_id is not None:
            query = query.where(SyncRecordRow.connection_id == connection_id)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            query = query.where(SyncRecordRow.status.in_([SyncStatus(s).value for s in wanted]))
        if object_type is not None:
            query = query.where(SyncRecordRow.object_type == object_type)
        if updated_since is not None:
            query = query.where(SyncRecordRow.updated_at >= self._now(updated_since))
        query = query.order_by(SyncRecordRow.updated_at.desc(), SyncRecordRow.id.desc())
        async with self._db.read() as session:
            rows = await session.scalars(query.limit(limit).offset(offset))
            return [_to_record(row) for row in rows]

    async def count_by_status(self, connection_id: int | None = None) -> dict[SyncStatus, int]:
        """How many records are in each status (every status present, zero included)."""
        query = select(SyncRecordRow.status, func.count()).group_by(SyncRecordRow.status)
        if connection_id is not None:
            query = query.where(SyncRecordRow.connection_id == connection_id)
        counts = dict.fromkeys(SyncStatus, 0)
        async with self._db.read() as session:
            for status, count in await session.execute(query):
                counts[SyncStatus(status)] = count
        return counts

    async def list_attempts(self, record_id: int) -> list[Attempt]:
        """A record's history, oldest first."""
        async with self._db.read() as session:
            query = select(AttemptRow).where(AttemptRow.record_id == record_id)
            rows = await session.scalars(query.order_by(AttemptRow.id))
            return [_to_attempt(row) for row in rows]
