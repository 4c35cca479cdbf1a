"""Aggregate counts for the dashboard and ``/metrics``: one cheap GROUP BY per question.

These read the work table and the webhook inbox without loading rows, so a scrape or an
overview page costs a few indexed queries however large the tables grow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ml_connector.store.engine import Repository
from ml_connector.store.states import SyncStatus
from ml_connector.store.tables import EventRow, RejectionRow, SyncRecordRow

__all__ = ["RecordStats", "StatsRepository"]

_QUEUED = (SyncStatus.PENDING.value, SyncStatus.RETRY_WAIT.value)


@dataclass(frozen=True, slots=True)
class RecordStats:
    """One connection's records: how many per status, and its oldest queued record's age."""

    connection_id: int
    counts: dict[SyncStatus, int]
    oldest_pending_at: datetime | None


class StatsRepository(Repository):
    """Counts over records, events and rejections."""

    async def record_stats(self) -> list[RecordStats]:
        """Per connection that has records: counts per status and the oldest queued record."""
        counts: dict[int, dict[SyncStatus, int]] = {}
        oldest: dict[int, datetime] = {}
        by_status = select(
            SyncRecordRow.connection_id, SyncRecordRow.status, func.count()
        ).group_by(SyncRecordRow.connection_id, SyncRecordRow.status)
        queued = (
            select(SyncRecordRow.connection_id, func.min(SyncRecordRow.created_at))
            .where(SyncRecordRow.status.in_(_QUEUED))
            .group_by(SyncRecordRow.connection_id)
        )
        async with self._db.read(snapshot=True) as session:
            for connection_id, status, count in await session.execute(by_status):
                per = counts.setdefault(connection_id, dict.fromkeys(SyncStatus, 0))
                per[SyncStatus(status)] = count
            for connection_id, first in await session.execute(queued):
                if first is not None:
                    oldest[connection_id] = first
        return [RecordStats(cid, per, oldest.get(cid)) for cid, per in sorted(counts.items())]

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
