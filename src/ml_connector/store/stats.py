"""Aggregate counts for the dashboard, ``status`` and ``/metrics``, and the durable counters.

Counts over records, events and rejections are one cheap GROUP BY per question, so a scrape or
an overview page costs a few indexed queries however large the tables grow.

``obs_counters`` (revision 0007) holds sums that only ever grow: vendor calls, rate-limit waits,
sync-latency buckets. Each process adds its increments in one upsert (``add_counters``), so the
values are the same whichever process reads them, and they survive restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from ml_connector.store.engine import Repository
from ml_connector.store.records import SyncRecord
from ml_connector.store.states import SyncStatus, Transition
from ml_connector.store.tables import (
    AttemptRow,
    Base,
    EventRow,
    RejectionRow,
    SyncRecordRow,
)
from ml_connector.store.work import _to_record

__all__ = ["CounterKey", "CounterRow", "RecordStats", "StatsRepository"]

_QUEUED = (SyncStatus.PENDING.value, SyncStatus.RETRY_WAIT.value)

CounterKey = tuple[int, str, str]
"""(connection id, metric name, canonical label text such as ``system=visma,status=2xx``)."""


class CounterRow(Base):
    """One durable sum; the key is (connection, metric name, canonical labels)."""

    __tablename__ = "obs_counters"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    labels: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True, slots=True)
class RecordStats:
    """One connection's records: counts per status (overall and per object type), and when its
    longest-waiting queued record entered the queue (pending or retry_wait)."""

    connection_id: int
    counts: dict[SyncStatus, int]
    oldest_pending_at: datetime | None
    by_type: dict[str, dict[SyncStatus, int]] = field(default_factory=dict)


class StatsRepository(Repository):
    """Counts over records, events and rejections; durable counters."""

    async def record_stats(self, connection_id: int | None = None) -> list[RecordStats]:
        """Per connection that has records (or just ``connection_id``): counts per status and
        object type, and the oldest queued record's queue time.

        A queued record's ``updated_at`` is when it entered the queue (created, replayed, or
        scheduled for retry), so the age counts waiting, not the object's history.
        """
        counts: dict[int, dict[SyncStatus, int]] = {}
        by_type: dict[int, dict[str, dict[SyncStatus, int]]] = {}
        oldest: dict[int, datetime] = {}
        by_status = select(
            SyncRecordRow.connection_id,
            SyncRecordRow.object_type,
            SyncRecordRow.status,
            func.count(),
        ).group_by(SyncRecordRow.connection_id, SyncRecordRow.object_type, SyncRecordRow.status)
        queued = (
            select(SyncRecordRow.connection_id, func.min(SyncRecordRow.updated_at))
            .where(SyncRecordRow.status.in_(_QUEUED))
            .group_by(SyncRecordRow.connection_id)
        )
        if connection_id is not None:
            by_status = by_status.where(SyncRecordRow.connection_id == connection_id)
            queued = queued.where(SyncRecordRow.connection_id == connection_id)
        async with self._db.read(snapshot=True) as session:
            for cid, object_type, status, count in await session.execute(by_status):
                per = counts.setdefault(cid, dict.fromkeys(SyncStatus, 0))
                per[SyncStatus(status)] += count
                kinds = by_type.setdefault(cid, {})
                kinds.setdefault(object_type, dict.fromkeys(SyncStatus, 0))[SyncStatus(status)] = (
                    count
                )
            for cid, first in await session.execute(queued):
                if first is not None:
                    oldest[cid] = first
        return [
            RecordStats(cid, per, oldest.get(cid), by_type.get(cid, {}))
            for cid, per in sorted(counts.items())
        ]

    async def oldest_queued_record(self, connection_id: int) -> SyncRecord | None:
        """The connection's record that has waited longest in the queue, if any."""
        query = (
            select(SyncRecordRow)
            .where(
                SyncRecordRow.connection_id == connection_id,
                SyncRecordRow.status.in_(_QUEUED),
            )
            .order_by(SyncRecordRow.updated_at, SyncRecordRow.id)
            .limit(1)
        )
        async with self._db.read() as session:
            row = (await session.scalars(query)).first()
            return None if row is None else _to_record(row)

    async def event_counts(self) -> dict[tuple[int, str, str], int]:
        """Inbox events per (connection id, source, status)."""
        query = select(
            EventRow.connection_id, EventRow.source, EventRow.status, func.count()
        ).group_by(EventRow.connection_id, EventRow.source, EventRow.status)
        async with self._db.read() as session:
            return {(c, s, st): n for c, s, st, n in await session.execute(query)}

    async def rejection_counts(self) -> dict[tuple[str, str], int]:
        """Rejected webhook requests per (connection name as addressed, source)."""
        query = select(RejectionRow.connection, RejectionRow.source, func.count()).group_by(
            RejectionRow.connection, RejectionRow.source
        )
        async with self._db.read() as session:
            return {(c, s): n for c, s, n in await session.execute(query)}

    async def requeued_at(self, record_ids: Iterable[int]) -> dict[int, datetime]:
        """When each record was last put back in the queue (replayed), for those ever requeued."""
        ids = sorted(set(record_ids))
        if not ids:
            return {}
        query = (
            select(AttemptRow.record_id, func.max(AttemptRow.finished_at))
            .where(
                AttemptRow.record_id.in_(ids),
                AttemptRow.outcome == Transition.REQUEUE.value,
            )
            .group_by(AttemptRow.record_id)
        )
        async with self._db.read() as session:
            return {rid: at for rid, at in await session.execute(query) if at is not None}

    async def add_counters(self, increments: Mapping[CounterKey, float]) -> None:
        """Add each increment to its counter (creating it at zero), in one transaction.

        Rows are written in key order, so concurrent writers on PostgreSQL lock them in the
        same order and cannot deadlock.
        """
        values = [
            {"connection_id": cid, "name": name, "labels": labels, "value": float(amount)}
            for (cid, name, labels), amount in sorted(increments.items())
            if amount
        ]
        if not values:
            return
        insert = self._db.insert(CounterRow)
        upsert = insert.on_conflict_do_update(
            index_elements=[CounterRow.connection_id, CounterRow.name, CounterRow.labels],
            set_={"value": CounterRow.value + insert.excluded.value},
        )
        async with self._db.write() as session:
            conn = await session.connection()
            for value in values:
                await conn.execute(upsert, value)

    async def counters(
        self, connection_id: int | None = None, *, names: Iterable[str] | None = None
    ) -> dict[CounterKey, float]:
        """The durable counters, optionally of one connection and only the given names."""
        query = select(
            CounterRow.connection_id, CounterRow.name, CounterRow.labels, CounterRow.value
        )
        if connection_id is not None:
            query = query.where(CounterRow.connection_id == connection_id)
        if names is not None:
            query = query.where(CounterRow.name.in_(list(names)))
        async with self._db.read() as session:
            return {(c, n, lab): float(v) for c, n, lab, v in await session.execute(query)}
