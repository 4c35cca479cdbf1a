"""Sync records, the work queue: queue, claim, settle, and the append-only attempts history.

The store is the queue (see :mod:`ml_connector.store.queueing` for how work is queued, and
:mod:`ml_connector.store.claims` for claims, leases and the one place a status moves).
:class:`WorkRepository` is the interface; a transaction that hands work back also sends a
NOTIFY on PostgreSQL, so workers in other processes wake at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from itertools import zip_longest
from typing import Any

from sqlalchemy import func, select

from ml_connector.errors import StoreError
from ml_connector.store.claims import _apply, _claim_rows, _due_query, _load, _to_attempt
from ml_connector.store.claims import _to_record as _to_record
from ml_connector.store.engine import Repository
from ml_connector.store.notify import notify_work_in
from ml_connector.store.queueing import RecordKey as RecordKey
from ml_connector.store.queueing import upsert_record_in as upsert_record_in
from ml_connector.store.queueing import upsert_records_in as upsert_records_in
from ml_connector.store.records import Attempt, SyncRecord
from ml_connector.store.states import SyncStatus, Transition
from ml_connector.store.tables import AttemptRow, SyncRecordRow

__all__ = ["RecordKey", "WorkRepository", "upsert_record_in", "upsert_records_in"]

_MISSING: Any = object()


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
