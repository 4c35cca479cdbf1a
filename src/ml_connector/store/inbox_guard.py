"""What the webhook receivers remember beyond the inbox (revision 0011).

- ``inbox_seen``: a compact record (a sha256 of source and event id, and when it was received)
  of every event the inbox retention pruned. An event whose row was pruned is still known, so a
  replay of it is refused instead of being taken for a new event (``seen_event_keys``). The
  keys are kept ``seen_days`` after pruning (``prune_inbox``).
- ``rejection_tallies``: refused requests that were counted rather than logged one row each:
  requests addressed to a connection name that does not exist, and rejections beyond a
  connection's rate of logged rows. One row per (scope, source, HTTP status) holds the count
  and the first and last time, so a stranger's flood grows a number, never the table.
  ``scope`` is :data:`UNKNOWN_SCOPE` for unknown names, or the configured connection's name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ml_connector.store.engine import Database, Repository
from ml_connector.store.tables import Base

__all__ = [
    "UNKNOWN_SCOPE",
    "InboxGuardRepository",
    "RejectionTally",
    "SeenKey",
    "remember_seen_in",
    "seen_key",
]

UNKNOWN_SCOPE = "*unknown*"  # not a valid connection name, so it never clashes with one
SeenKey = tuple[int, str, str]  # (connection id, source, key digest)


def seen_key(source: str, event_id: str) -> str:
    """The compact key an event leaves behind once its inbox row is pruned."""
    return hashlib.sha256(f"{source}\x00{event_id}".encode()).hexdigest()


class InboxSeenRow(Base):
    __tablename__ = "inbox_seen"
    __table_args__ = (Index(None, "seen_at"),)

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime]


class RejectionTallyRow(Base):
    __tablename__ = "rejection_tallies"

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    http_status: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class RejectionTally:
    """Refused requests counted together (see the module docstring)."""

    scope: str
    source: str
    http_status: int
    count: int
    first_at: datetime
    last_at: datetime


async def remember_seen_in(
    db: Database, session: AsyncSession, keys: Iterable[tuple[SeenKey, datetime]]
) -> None:
    """Record pruned events' keys inside the caller's transaction (existing ones stay)."""
    values = [
        {"connection_id": cid, "source": source, "event_key": key, "seen_at": at}
        for (cid, source, key), at in keys
    ]
    if not values:
        return
    insert = db.insert(InboxSeenRow).on_conflict_do_nothing(
        index_elements=[InboxSeenRow.connection_id, InboxSeenRow.source, InboxSeenRow.event_key]
    )
    conn = await session.connection()
    for start in range(0, len(values), 500):
        await conn.execute(insert, values[start : start + 500])


async def seen_keys_in(session: AsyncSession, keys: Iterable[SeenKey]) -> set[SeenKey]:
    """Which of ``keys`` belong to pruned events, inside the caller's transaction."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    query = select(InboxSeenRow.connection_id, InboxSeenRow.source, InboxSeenRow.event_key).where(
        tuple_(InboxSeenRow.connection_id, InboxSeenRow.source, InboxSeenRow.event_key).in_(wanted)
    )
    return {(int(c), str(s), str(k)) for c, s, k in await session.execute(query)}


class InboxGuardRepository(Repository):
    """Pruned events' keys and the rejection tallies."""

    async def seen_event_keys(self, keys: Iterable[SeenKey]) -> set[SeenKey]:
        """Which of ``keys`` (see :func:`seen_key`) belong to events the retention pruned."""
        async with self._db.read() as session:
            return await seen_keys_in(session, keys)

    async def add_rejection_tallies(
        self, counts: Mapping[tuple[str, str, int], int], *, now: datetime | None = None
    ) -> None:
        """Add counted rejections, per (scope, source, HTTP status), in one transaction."""
        values = [
            {
                "scope": scope[:120],
                "source": source,
                "http_status": status,
                "count": int(n),
                "first_at": self._now(now),
                "last_at": self._now(now),
            }
            for (scope, source, status), n in sorted(counts.items())
            if n > 0
        ]
        if not values:
            return
        insert = self._db.insert(RejectionTallyRow)
        upsert = insert.on_conflict_do_update(
            index_elements=[
                RejectionTallyRow.scope,
                RejectionTallyRow.source,
                RejectionTallyRow.http_status,
            ],
            set_={
                "count": RejectionTallyRow.count + insert.excluded.count,
                "last_at": insert.excluded.last_at,
            },
        )
        async with self._db.write() as session:
            conn = await session.connection()
            for value in values:
                await conn.execute(upsert, value)

    async def list_rejection_tallies(self) -> list[RejectionTally]:
        """Every tally, by scope, source and status."""
        query = select(RejectionTallyRow).order_by(
            RejectionTallyRow.scope, RejectionTallyRow.source, RejectionTallyRow.http_status
        )
        async with self._db.read() as session:
            return [
                RejectionTally(
                    row.scope, row.source, row.http_status, row.count, row.first_at, row.last_at
                )
                for row in await session.scalars(query)
            ]
