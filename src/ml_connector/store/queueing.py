"""Queueing work: one sync record per object, created or replayed inside a write transaction.

A record is unique per (connection, object type, object id), so at most one unit of work per
object is ever in flight and updates to one object apply in order. On PostgreSQL a transaction
that queues work also sends a NOTIFY, delivered on commit, so workers in other processes wake at
once (:mod:`ml_connector.store.notify`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ml_connector.store.claims import _apply
from ml_connector.store.engine import Database
from ml_connector.store.notify import notify_work_in
from ml_connector.store.states import SyncStatus, Transition
from ml_connector.store.tables import SyncRecordRow

__all__ = ["RecordKey", "upsert_record_in", "upsert_records_in"]


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
