"""The receivers' path into the inbox: a batch of verified events in ONE write transaction.

``ingest_events`` (group commit, ``web/ingest.py``) inserts the events with ON CONFLICT DO
NOTHING, learns which are new, and for the new ones only queues their records (``replay``, as
``upsert_record``), appends their ``event_received`` audit entries and stores them already
settled; duplicates change nothing. In the same transaction it refuses, as ``stale``, events
that must be checked against the keys of pruned events (``store/inbox_guard.py``) and are
found there, and stamps the poll-hint cursors the batch's events name (new or repeated). Either
all of it commits or none of it does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncSession

from ml_connector.audit import AuditKind
from ml_connector.store.audit import append_audit_in
from ml_connector.store.engine import Repository
from ml_connector.store.inbox import EventSource, EventStatus, Ingested, NewEvent
from ml_connector.store.inbox_guard import seen_key, seen_keys_in
from ml_connector.store.tables import CursorRow, EventRow
from ml_connector.store.work import RecordKey, upsert_records_in

__all__ = ["IngestRepository"]


class IngestRepository(Repository):
    """Store batches of verified webhook events (see the module docstring)."""

    _ingest_statement: Executable | None = None

    def _ingest_insert(self) -> Executable:
        """The receivers' INSERT … ON CONFLICT DO NOTHING … RETURNING, built once.

        Run as a Core executemany: SQLAlchemy sends the rows in one multi-row statement and
        compiles it once (cached), where ``.values([...])`` would compile anew for each batch
        size; reusing the object also spares computing its cache key on every batch.
        """
        if self._ingest_statement is None:
            insert = self._db.insert(EventRow).on_conflict_do_nothing(
                index_elements=[EventRow.connection_id, EventRow.source, EventRow.event_id]
            )
            self._ingest_statement = insert.returning(
                EventRow.id, EventRow.connection_id, EventRow.source, EventRow.event_id
            )
        return self._ingest_statement

    async def ingest_events(
        self, events: Sequence[NewEvent], *, now: datetime | None = None
    ) -> list[Ingested]:
        """Store a batch of verified events in one transaction; one answer per event, in order.

        An event whose key is already stored, or named earlier in the same batch, is a
        duplicate and changes nothing. Every new event is stored with its ``status``
        (``processed_at`` set unless ``received``); a new one with ``object_type`` queues its
        record as ``upsert_record(..., replay=True)`` would and appends an ``event_received``
        audit entry naming it. An event with ``check_seen`` whose key belongs to a pruned event
        is stored nowhere and answered ``stale``. Every ``poll_hint`` of the batch's events (new
        or repeated) is stamped with the time. Raises StoreError, with nothing written, when any
        of it fails.
        """
        if not events:
            return []
        now = self._now(now)
        async with self._db.write() as session:
            stale = await self._stale_keys(session, events)
            first: dict[tuple[int, str, str], NewEvent] = {}
            for item in events:
                if item.key not in stale:
                    first.setdefault(item.key, item)
            stored, queued = await self._store_new(session, first, now)
            await self._stamp_hints(session, [e for e in events if e.key not in stale], now)
        answers: list[Ingested] = []
        claimed: set[tuple[int, str, str]] = set()
        for item in events:
            pk = stored.get(item.key)
            if item.key in stale:
                answers.append(Ingested(None, stale=True))
            elif pk is None or item.key in claimed:
                answers.append(Ingested(None))
            else:
                claimed.add(item.key)
                answers.append(Ingested(pk, queued.get(pk)))
        return answers

    async def _stale_keys(
        self, session: AsyncSession, events: Sequence[NewEvent]
    ) -> set[tuple[int, str, str]]:
        """The keys of ``events`` (those to check) whose inbox rows the retention pruned."""
        asked = {
            (e.connection_id, e.key[1], seen_key(e.key[1], e.event_id)): e.key
            for e in events
            if e.check_seen
        }
        if not asked:
            return set()
        return {asked[found] for found in await seen_keys_in(session, asked)}

    async def _store_new(
        self,
        session: AsyncSession,
        first: Mapping[tuple[int, str, str], NewEvent],
        now: datetime,
    ) -> tuple[dict[tuple[int, str, str], int], dict[int, int]]:
        """Insert the events, queue the new ones' work and audit it: (inbox ids, records)."""
        if not first:
            return {}, {}
        values = [
            {
                "connection_id": item.connection_id,
                "source": key[1],
                "event_id": item.event_id,
                "type": item.type,
                "object_id": item.object_id,
                "payload": item.payload,
                "received_at": now,
                "status": EventStatus(item.status).value,
                "processed_at": None if item.status is EventStatus.RECEIVED else now,
            }
            for key, item in first.items()
        ]
        conn = await session.connection()
        stored = {
            (cid, src, eid): pk
            for pk, cid, src, eid in await conn.execute(self._ingest_insert(), values)
        }
        # Only the event that stored the row does the work; the rest of its key's are copies.
        fresh = [
            (pk, item)
            for key, item in first.items()
            if (pk := stored.get(key)) is not None and item.object_type is not None
        ]
        work: list[tuple[RecordKey, str]] = [
            (
                (item.connection_id, str(item.object_type), str(item.object_id)),
                f"webhook {item.type}",
            )
            for _, item in fresh
        ]
        record_ids = await upsert_records_in(self._db, session, work, replay=True, now=now)
        queued = {pk: rid for (pk, _), rid in zip(fresh, record_ids, strict=True)}
        notes: dict[int, list[tuple[int | None, str, Mapping[str, Any], datetime]]] = {}
        for (pk, item), rid in zip(fresh, record_ids, strict=True):
            data = {
                "source": EventSource(item.source).value,
                "event_id": item.event_id,
                "type": item.type,
                "inbox_id": pk,
            }
            notes.setdefault(item.connection_id, []).append(
                (rid, AuditKind.EVENT_RECEIVED, data, now)
            )
        for connection_id in sorted(notes):  # a fixed order: chains lock in the same order
            await append_audit_in(self._db, session, connection_id, notes[connection_id])
        return stored, queued

    async def _stamp_hints(
        self, session: AsyncSession, events: Sequence[NewEvent], now: datetime
    ) -> None:
        """Stamp each poll-hint cursor the batch names, once per (connection, cursor)."""
        hinted = sorted({(e.connection_id, e.poll_hint) for e in events if e.poll_hint})
        if not hinted:
            return
        insert = self._db.insert(CursorRow)
        upsert = insert.on_conflict_do_update(
            index_elements=[CursorRow.connection_id, CursorRow.name],
            set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
        )
        conn = await session.connection()
        stamp = now.isoformat()
        for connection_id, name in hinted:
            await conn.execute(
                upsert,
                {"connection_id": connection_id, "name": name, "value": stamp, "updated_at": now},
            )
