"""The Ramp write-back outbox (revision 0011): what Ramp must be told, kept until it was told.

A flow that finishes a bill does not post ``POST /accounting/syncs`` itself. It adds a row here,
in the same transaction that confirms the invoice link (``LinkRepository.confirm_link(...,
outbox=...)``), so a crash between "the invoice exists" and "Ramp was told" loses nothing: the
row is still pending after a restart. A sender (``runtime.outbox``) claims due rows in batches
and posts them.

Each row is one **occurrence**: a bill to mark synced (``success``, with its ERP reference) or a
failure to report (``failure``, with its message), under a sync type (``BILL_SYNC``,
``BILL_PAYMENT_SYNC``). Its ``occurrence`` is a random id, so a bill unsynced in Ramp and synced
again, or a failure that recurs, is a new row with a new idempotency key.

Claiming (``claim_writebacks``):

- due rows of the given connections, oldest first, with a lease (``next_at`` moves past the
  lease, ``claimed_by`` names the sender); PostgreSQL skips rows other senders hold
  (``FOR UPDATE SKIP LOCKED``), SQLite claims inside its one write transaction;
- a payment sync waits while its bill's own sync is still pending (Ramp takes a bill's payment
  only after the bill);
- of several unposted rows for one (object, sync type), the newest success wins: an older
  duplicate, or a failure a later success overtook, becomes ``superseded``;
- rows without a batch key are put into batches of at most ``batch_size`` per (connection,
  sync type, kind) and each batch gets its key from the caller's ``key_of``. Rows that already
  carry a key (a POST whose outcome is unknown: a timeout, a crash) are claimed with it, so the
  retry reuses the key of the same POST, as Ramp expects.

Settling (``settle_writebacks``) records, per group of rows: sent (with Ramp's sync id and the
time), due again later (keeping or replacing the key), or refused by Ramp for good.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column

from ml_connector.store.engine import Repository
from ml_connector.store.outbox_values import (
    BILL_PAYMENT_SYNC,
    BILL_SYNC,
    KeyOf,
    OutboxKind,
    OutboxState,
    Settlement,
    WriteBackEntry,
    WriteBackItem,
)
from ml_connector.store.tables import Base

__all__ = [
    "BILL_PAYMENT_SYNC",
    "BILL_SYNC",
    "KeyOf",
    "OutboxKind",
    "OutboxRepository",
    "OutboxState",
    "Settlement",
    "WriteBackEntry",
    "WriteBackItem",
    "enqueue_writebacks_in",
]


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(member.value) for member in values)})"


class RampOutboxRow(Base):
    __tablename__ = "ramp_outbox"
    __table_args__ = (
        Index(None, "state", "next_at"),
        Index(None, "connection_id", "object_id"),
        CheckConstraint(_one_of("kind", OutboxKind), name="kind"),
        CheckConstraint(_one_of("state", OutboxState), name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    sync_type: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(200))
    reference_id: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    occurrence: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    batch_key: Mapped[str | None] = mapped_column(String(64))
    sync_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


def _to_entry(row: RampOutboxRow) -> WriteBackEntry:
    return WriteBackEntry(
        id=row.id,
        connection_id=row.connection_id,
        sync_type=row.sync_type,
        kind=OutboxKind(row.kind),
        object_id=row.object_id,
        reference_id=row.reference_id,
        message=row.message,
        occurrence=row.occurrence,
        state=OutboxState(row.state),
        attempts=row.attempts,
        next_at=row.next_at,
        claimed_by=row.claimed_by,
        batch_key=row.batch_key,
        sync_id=row.sync_id,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def _rows(
    connection_id: int, items: Iterable[WriteBackItem], now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "connection_id": connection_id,
            "sync_type": item.sync_type,
            "kind": item.kind.value,
            "object_id": item.object_id,
            "reference_id": item.reference_id,
            "message": item.message,
            "occurrence": str(uuid.uuid4()),
            "state": OutboxState.PENDING.value,
            "attempts": 0,
            "next_at": now,
            "claimed_by": None,
            "batch_key": None,
            "sync_id": None,
            "last_error": None,
            "created_at": now,
            "sent_at": None,
        }
        for item in items
    ]


async def enqueue_writebacks_in(
    conn: AsyncConnection | AsyncSession,
    connection_id: int,
    items: Sequence[WriteBackItem],
    now: datetime,
) -> None:
    """Add write-backs inside the caller's write transaction (one multi-row INSERT)."""
    if items:
        await conn.execute(insert(RampOutboxRow), _rows(connection_id, items, now))


def _waits_for_bill() -> Any:
    """True for a payment sync whose bill's own sync is still pending in the outbox."""
    bill = aliased(RampOutboxRow)
    return and_(
        RampOutboxRow.sync_type == BILL_PAYMENT_SYNC,
        exists().where(
            bill.connection_id == RampOutboxRow.connection_id,
            bill.object_id == RampOutboxRow.object_id,
            bill.sync_type == BILL_SYNC,
            bill.state == OutboxState.PENDING.value,
        ),
    )


def _supersede(rows: list[RampOutboxRow]) -> list[RampOutboxRow]:
    """Mark rows a newer unposted row replaces; returns the rows still to post.

    Per (connection, sync type, object): a success replaces every older row (an older
    duplicate, or a failure it overtook); a failure replaces older reports of a failure. Rows
    with a batch key are a POST already made (its outcome unknown) and always stay.
    """
    newest: dict[tuple[int, str, str, str], int] = {}
    for row in rows:
        key = (row.connection_id, row.sync_type, row.object_id, row.kind)
        newest[key] = max(newest.get(key, 0), row.id)
    kept: list[RampOutboxRow] = []
    for row in rows:
        base = (row.connection_id, row.sync_type, row.object_id)
        success = newest.get((*base, OutboxKind.SUCCESS.value), 0)
        failure = newest.get((*base, OutboxKind.FAILURE.value), 0)
        later = success if row.kind == OutboxKind.SUCCESS.value else max(success, failure)
        if row.id < later and row.batch_key is None:
            row.state = OutboxState.SUPERSEDED.value
            row.claimed_by = None
        else:
            kept.append(row)
    return kept


def _assign_keys(rows: list[RampOutboxRow], batch_size: int, key_of: KeyOf) -> None:
    """Give rows without a key their batch's key (batches per connection, type and kind)."""
    groups: dict[tuple[int, str, str], list[RampOutboxRow]] = defaultdict(list)
    for row in rows:
        if row.batch_key is None:
            groups[(row.connection_id, row.sync_type, row.kind)].append(row)
    for (cid, sync_type, kind), members in groups.items():
        for start in range(0, len(members), batch_size):
            batch = members[start : start + batch_size]
            key = key_of(
                cid, sync_type, OutboxKind(kind), [(r.object_id, r.occurrence) for r in batch]
            )
            for row in batch:
                row.batch_key = key


class OutboxRepository(Repository):
    """Add, claim and settle Ramp write-backs."""

    async def enqueue_writebacks(
        self,
        connection_id: int,
        items: Sequence[WriteBackItem],
        *,
        now: datetime | None = None,
    ) -> None:
        """Add write-backs in a transaction of their own."""
        if not items:
            return
        now = self._now(now)
        async with self._db.write() as session:
            await enqueue_writebacks_in(await session.connection(), connection_id, items, now)

    async def claim_writebacks(
        self,
        owner: str,
        connection_ids: Iterable[int],
        *,
        key_of: KeyOf,
        batch_size: int = 100,
        limit: int = 1000,
        lease_s: float = 60.0,
        now: datetime | None = None,
    ) -> list[WriteBackEntry]:
        """Claim the due write-backs of these connections (see the module docstring).

        Returns the rows to post, each carrying its batch key, oldest first. The usual call
        finds nothing due and costs one read transaction.
        """
        ids = sorted(set(connection_ids))
        if not ids:
            return []
        now = self._now(now)
        due = (
            RampOutboxRow.state == OutboxState.PENDING.value,
            RampOutboxRow.next_at <= now,
            RampOutboxRow.connection_id.in_(ids),
        )
        async with self._db.read() as session:
            probe = select(RampOutboxRow.id).where(*due).limit(1)
            if (await session.execute(probe)).first() is None:
                return []
        query = (
            select(RampOutboxRow)
            .where(*due, ~_waits_for_bill())
            .order_by(RampOutboxRow.id)
            .limit(limit)
        )
        if self._db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=RampOutboxRow)
        async with self._db.write() as session:
            rows = _supersede(list(await session.scalars(query)))
            _assign_keys(rows, max(batch_size, 1), key_of)
            for row in rows:
                row.attempts += 1
                row.claimed_by = owner
                row.next_at = now + timedelta(seconds=lease_s)
            await session.flush()
            return [_to_entry(row) for row in rows]

    async def settle_writebacks(
        self, settlements: Sequence[Settlement], *, now: datetime | None = None
    ) -> None:
        """Record what became of claimed rows, all in one transaction."""
        if not settlements:
            return
        now = self._now(now)
        async with self._db.write() as session:
            for done in settlements:
                values: dict[str, Any] = {"state": done.state.value, "claimed_by": None}
                if done.state is OutboxState.SENT:
                    values |= {"sync_id": done.sync_id, "sent_at": now, "last_error": done.error}
                elif done.state is OutboxState.PENDING:
                    values["next_at"] = self._now(done.next_at or now)
                    values["last_error"] = done.error
                    if done.batch_key is not None:
                        values["batch_key"] = done.batch_key
                else:
                    values["last_error"] = done.error
                await session.execute(
                    update(RampOutboxRow)
                    .where(RampOutboxRow.id.in_(list(done.ids)))
                    .values(**values)
                )

    async def list_writebacks(
        self,
        connection_id: int,
        *,
        object_id: str | None = None,
        state: OutboxState | None = None,
        limit: int = 100,
    ) -> list[WriteBackEntry]:
        """Outbox rows of a connection (of one object, in one state), newest first."""
        query = select(RampOutboxRow).where(RampOutboxRow.connection_id == connection_id)
        if object_id is not None:
            query = query.where(RampOutboxRow.object_id == object_id)
        if state is not None:
            query = query.where(RampOutboxRow.state == OutboxState(state).value)
        query = query.order_by(RampOutboxRow.id.desc()).limit(limit)
        async with self._db.read() as session:
            return [_to_entry(row) for row in await session.scalars(query)]

    async def writeback_backlog(self) -> dict[int, tuple[int, datetime]]:
        """Per connection with pending write-backs: how many, and when the oldest was queued."""
        query = (
            select(
                RampOutboxRow.connection_id,
                func.count(),
                func.min(RampOutboxRow.created_at),
            )
            .where(RampOutboxRow.state == OutboxState.PENDING.value)
            .group_by(RampOutboxRow.connection_id)
        )
        async with self._db.read() as session:
            rows = (await session.execute(query)).all()
        found: dict[int, tuple[int, datetime]] = {}
        for cid, count, oldest in rows:
            found[int(cid)] = (int(count), self._now(_aware(oldest)))
        return found

    async def prune_writebacks(self, before: datetime) -> int:
        """Delete settled rows (sent, refused, superseded) created before ``before``."""
        cutoff = self._now(before)
        async with self._db.write() as session:
            result = await session.execute(
                delete(RampOutboxRow)
                .where(
                    RampOutboxRow.created_at < cutoff,
                    RampOutboxRow.state != OutboxState.PENDING.value,
                )
                .returning(RampOutboxRow.id)
            )
            return len(result.all())


def _aware(value: Any) -> datetime:
    """An aggregate over a UTC column may come back naive, or as text, on SQLite."""
    found: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)
