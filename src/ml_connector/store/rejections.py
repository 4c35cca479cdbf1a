"""The rejection log: webhook requests the receivers refused, kept apart from the inbox.

Rejected requests (bad signature, oversized, malformed, wrong content type, unknown
connection) never enter the inbox. A rejection keeps the body's size, its sha256 and at most a
short excerpt the receiver chose to keep; never headers, so no signature or secret can end up
here. ``InboxRepository.prune_inbox`` deletes old rejections together with old events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ml_connector.store.engine import Repository
from ml_connector.store.inbox import MAX_KEY, EventSource
from ml_connector.store.tables import RejectionRow

__all__ = ["Rejection", "RejectionRepository"]


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused webhook request (see the module docstring for what is kept)."""

    id: int
    connection: str
    source: EventSource
    http_status: int
    reason: str
    body_size: int
    body_sha256: str | None
    excerpt: str | None
    received_at: datetime


def _to_rejection(row: RejectionRow) -> Rejection:
    return Rejection(
        id=row.id,
        connection=row.connection,
        source=EventSource(row.source),
        http_status=row.http_status,
        reason=row.reason,
        body_size=row.body_size,
        body_sha256=row.body_sha256,
        excerpt=row.excerpt,
        received_at=row.received_at,
    )


class RejectionRepository(Repository):
    """Log refused webhook requests and list them."""

    async def insert_rejection(
        self,
        connection: str,
        source: EventSource,
        *,
        http_status: int,
        reason: str,
        body_size: int,
        body_sha256: str | None,
        excerpt: str | None = None,
        now: datetime | None = None,
    ) -> Rejection:
        """Log a refused request. ``connection`` is kept as given (cut to 200 characters)."""
        now = self._now(now)
        row = RejectionRow(
            connection=connection[:MAX_KEY],
            source=EventSource(source).value,
            http_status=http_status,
            reason=reason,
            body_size=body_size,
            body_sha256=body_sha256,
            excerpt=excerpt,
            received_at=now,
        )
        async with self._db.write() as session:
            session.add(row)
            await session.flush()
            return _to_rejection(row)

    async def list_rejections(
        self,
        connection: str | None = None,
        *,
        source: EventSource | None = None,
        limit: int = 100,
    ) -> list[Rejection]:
        """Rejections, newest first; ``connection`` filters on the name as it was given."""
        query = select(RejectionRow)
        if connection is not None:
            query = query.where(RejectionRow.connection == connection)
        if source is not None:
            query = query.where(RejectionRow.source == EventSource(source).value)
        async with self._db.read() as session:
            rows = await session.scalars(query.order_by(RejectionRow.id.desc()).limit(limit))
            return [_to_rejection(row) for row in rows]
