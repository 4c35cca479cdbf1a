"""The alert outbox (revision 0007): one row per alert message and channel, until it is sent.

``run_alert_pass`` (``store/alerts.py``) queues the rows. Senders claim due rows with a short
lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two processes never send the same message;
each claim counts as an attempt, and a send is recorded as sent, due again, or failed for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from ml_connector.errors import StoreError
from ml_connector.store.engine import Repository
from ml_connector.store.tables import Base, JSONType

__all__ = ["AlertDelivery", "AlertOutboxRepository", "AlertOutboxRow"]


class AlertOutboxRow(Base):
    __tablename__ = "alert_outbox"
    __table_args__ = (
        Index(None, "state", "next_at"),
        CheckConstraint("channel IN ('webhook', 'email')", name="channel"),
        CheckConstraint("state IN ('pending', 'sent', 'failed')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    attempts: Mapped[int] = mapped_column(Integer)
    next_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """One outbox row."""

    id: int
    connection_id: int
    group_id: int
    channel: str
    state: str  # pending | sent | failed
    payload: dict[str, Any]
    attempts: int
    next_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def _to_delivery(row: AlertOutboxRow) -> AlertDelivery:
    return AlertDelivery(
        id=row.id,
        connection_id=row.connection_id,
        group_id=row.group_id,
        channel=row.channel,
        state=row.state,
        payload=dict(row.payload),
        attempts=row.attempts,
        next_at=row.next_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


class AlertOutboxRepository(Repository):
    """The alert outbox: list, claim, finish and count messages."""

    async def list_alert_deliveries(
        self, connection_id: int | None = None, *, limit: int = 50
    ) -> list[AlertDelivery]:
        """The newest outbox rows first."""
        query = select(AlertOutboxRow).order_by(AlertOutboxRow.id.desc()).limit(limit)
        if connection_id is not None:
            query = query.where(AlertOutboxRow.connection_id == connection_id)
        async with self._db.read() as session:
            return [_to_delivery(row) for row in await session.scalars(query)]

    async def claim_alert_deliveries(
        self, *, lease_s: float = 60.0, limit: int = 20, now: datetime | None = None
    ) -> list[AlertDelivery]:
        """Take up to ``limit`` due messages for sending; nobody else gets them for ``lease_s``.

        Each claim counts as an attempt; a sender that dies leaves the row to be retried when
        the lease runs out.
        """
        now = self._now(now)
        due = (AlertOutboxRow.state == "pending", AlertOutboxRow.next_at <= now)
        async with self._db.read() as session:
            if (
                await session.execute(select(AlertOutboxRow.id).where(*due).limit(1))
            ).first() is None:
                return []  # the usual case: no write transaction
        query = (
            select(AlertOutboxRow)
            .where(*due)
            .order_by(AlertOutboxRow.next_at, AlertOutboxRow.id)
            .limit(limit)
        )
        if self._db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        async with self._db.write() as session:
            rows = list(await session.scalars(query))
            for row in rows:
                row.attempts += 1
                row.next_at = now + timedelta(seconds=lease_s)
            return [_to_delivery(row) for row in rows]

    async def finish_alert_delivery(
        self,
        delivery_id: int,
        *,
        error: str | None,
        retry_at: datetime | None = None,
        now: datetime | None = None,
    ) -> AlertDelivery:
        """Record a send: sent (``error`` None), due again at ``retry_at``, or failed for good."""
        now = self._now(now)
        async with self._db.write() as session:
            row = await session.get(AlertOutboxRow, delivery_id, with_for_update=True)
            if row is None:
                raise StoreError(f"no alert delivery with id {delivery_id}")
            row.last_error = error
            if error is None:
                row.state, row.sent_at = "sent", now
            elif retry_at is not None:
                row.next_at = self._now(retry_at)
            else:
                row.state = "failed"
            return _to_delivery(row)

    async def pending_alert_deliveries(self, connection_ids: Sequence[int] = ()) -> int:
        """How many messages wait to be sent (of the given connections, or all)."""
        query = select(func.count()).where(AlertOutboxRow.state == "pending")
        if connection_ids:
            query = query.where(AlertOutboxRow.connection_id.in_(list(connection_ids)))
        async with self._db.read() as session:
            return int((await session.execute(query)).scalar_one())
