"""Operator alerts (revision 0007): where they go, what is firing, and what is still to send.

- ``alert_targets``: per connection, an e-mail address and the vault ciphertext of the webhook
  URL, its signing secret and the SMTP password (only the vault can read it), plus the URL's
  masked form (``https://hooks.example.com/…``, revision 0012) for showing and for knowing
  that a webhook is set. The ``webhook_url`` column only ever holds plaintext written before
  revision 0012, until the runtime seals it (``store.at_rest``).
- ``alert_groups``: one row per (connection, cause). The grouping policy is not decided here:
  :meth:`AlertRepository.run_alert_pass` reads a snapshot, hands it to the caller's planner
  (``runtime.alerts``) and writes the plan back, all in one transaction, so two processes never
  plan from the same state.
- ``alert_outbox``: one row per message and channel (``store/alert_outbox.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from ml_connector.errors import StoreError
from ml_connector.store.alert_outbox import AlertOutboxRepository, AlertOutboxRow
from ml_connector.store.records import ConnectionStatus
from ml_connector.store.states import SyncStatus
from ml_connector.store.tables import Base, ConnectionRow, SyncRecordRow

__all__ = [
    "AlertGroup",
    "AlertPlan",
    "AlertRepository",
    "AlertSnapshot",
    "AlertTarget",
    "AttentionGroup",
    "OutboxMessage",
]

# Serialises alert passes of several processes on PostgreSQL (an arbitrary constant).
_ALERT_LOCK_KEY = 7_204_151_932


class AlertTargetRow(Base):
    __tablename__ = "alert_targets"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    # Plaintext from before revision 0012 only; sealed into ``secrets`` at start-up.
    legacy_webhook_url: Mapped[str | None] = mapped_column("webhook_url", String(1000))
    webhook_hint: Mapped[str | None] = mapped_column(String(300))
    email_to: Mapped[str | None] = mapped_column(String(320))
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]


class AlertGroupRow(Base):
    __tablename__ = "alert_groups"
    __table_args__ = (
        UniqueConstraint("connection_id", "cause"),
        CheckConstraint("state IN ('firing', 'resolved')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    cause: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    occurrences: Mapped[int] = mapped_column(Integer)
    unsent: Mapped[int] = mapped_column(Integer)
    observed: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    last_sent_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


@dataclass(frozen=True, slots=True)
class AlertTarget:
    """Where a connection's alerts go. ``secrets_ciphertext`` is the vault's token (webhook
    URL, signing secret, SMTP password); ``webhook_hint`` the URL's masked form, None when no
    webhook is set."""

    connection_id: int
    webhook_hint: str | None
    email_to: str | None
    updated_at: datetime
    secrets_ciphertext: bytes | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class AlertGroup:
    """One (connection, cause) group: its state and counts for the current episode."""

    connection_id: int
    cause: str
    state: str  # firing | resolved
    summary: str
    occurrences: int  # seen during this episode, the first one included
    unsent: int  # seen since the last message, not yet reported
    observed: int  # how many were current at the last pass (records needing attention)
    opened_at: datetime
    last_seen_at: datetime
    last_sent_at: datetime | None
    resolved_at: datetime | None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AttentionGroup:
    """Records of one connection that need attention for one error code, with an example."""

    count: int  # records in needs_attention
    object_type: str
    object_id: str
    error: str
    # Records with the same error code that were replayed and wait or run again: the problem
    # is not over until they succeed (which clears their error) or are excluded.
    outstanding: int = 0


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    """What a planner sees: record failures, connection health, groups and targets now."""

    attention: dict[tuple[int, str], AttentionGroup]
    # connection id -> (name, status, health message)
    connections: dict[int, tuple[str, ConnectionStatus, str]]
    groups: dict[tuple[int, str], AlertGroup]
    targets: dict[int, AlertTarget]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message to send on one channel for the group (connection, cause)."""

    connection_id: int
    cause: str
    channel: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertPlan:
    """The planner's answer: groups to write (insert or replace) and messages to queue."""

    groups: list[AlertGroup] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)


def _to_target(row: AlertTargetRow) -> AlertTarget:
    return AlertTarget(
        row.connection_id, row.webhook_hint, row.email_to, row.updated_at, row.secrets
    )


def _to_group(row: AlertGroupRow) -> AlertGroup:
    return AlertGroup(
        connection_id=row.connection_id,
        cause=row.cause,
        state=row.state,
        summary=row.summary,
        occurrences=row.occurrences,
        unsent=row.unsent,
        observed=row.observed,
        opened_at=row.opened_at,
        last_seen_at=row.last_seen_at,
        last_sent_at=row.last_sent_at,
        resolved_at=row.resolved_at,
        id=row.id,
    )


class AlertRepository(AlertOutboxRepository):
    """Alert targets and groups, the alert pass, and (inherited) the alert outbox."""

    async def set_alert_target(
        self,
        connection_id: int,
        *,
        webhook_hint: str | None,
        email_to: str | None,
        secrets_ciphertext: bytes | None,
        now: datetime | None = None,
    ) -> AlertTarget:
        """Create or replace the connection's alert target (any legacy plaintext URL goes)."""
        now = self._now(now)
        values = {
            "webhook_url": None,  # the legacy plaintext column (see the module docstring)
            "webhook_hint": webhook_hint,
            "email_to": email_to,
            "secrets": secrets_ciphertext,
            "updated_at": now,
        }
        async with self._db.write() as session:
            if await session.get(ConnectionRow, connection_id) is None:
                raise StoreError(f"no connection with id {connection_id}")
            insert = self._db.insert(AlertTargetRow).values(connection_id=connection_id, **values)
            await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[AlertTargetRow.connection_id], set_=values
                )
            )
        return AlertTarget(connection_id, webhook_hint, email_to, now, secrets_ciphertext)

    async def get_alert_target(self, connection_id: int) -> AlertTarget | None:
        async with self._db.read() as session:
            row = await session.get(AlertTargetRow, connection_id)
            return None if row is None else _to_target(row)

    async def list_alert_groups(
        self, connection_id: int | None = None, *, firing_only: bool = False
    ) -> list[AlertGroup]:
        query = select(AlertGroupRow).order_by(AlertGroupRow.id)
        if connection_id is not None:
            query = query.where(AlertGroupRow.connection_id == connection_id)
        if firing_only:
            query = query.where(AlertGroupRow.state == "firing")
        async with self._db.read() as session:
            return [_to_group(row) for row in await session.scalars(query)]

    async def run_alert_pass(
        self, plan: Callable[[AlertSnapshot], AlertPlan], *, now: datetime | None = None
    ) -> AlertPlan:
        """Snapshot the alert inputs, let ``plan`` decide, and write its plan, atomically.

        On PostgreSQL an advisory lock serialises passes of several processes; on SQLite the
        write transaction does. The usual pass changes nothing: it is planned from a read
        transaction first, and only a plan with changes is planned again and written under the
        lock. Returns the plan that was written.
        """
        now = self._now(now)
        async with self._db.read() as session:
            first = plan(await self._snapshot(session))
        if not first.groups and not first.messages:
            return first
        async with self._db.write() as session:
            if self._db.dialect == "postgresql":
                await session.execute(select(func.pg_advisory_xact_lock(_ALERT_LOCK_KEY)))
            snapshot = await self._snapshot(session)
            decided = plan(snapshot)
            ids = {key: group.id for key, group in snapshot.groups.items()}
            for group in decided.groups:
                key = (group.connection_id, group.cause)
                row = await session.get(AlertGroupRow, ids[key]) if key in ids else None
                if row is None:
                    row = AlertGroupRow(connection_id=group.connection_id, cause=group.cause)
                    session.add(row)
                row.state = group.state
                row.summary = group.summary
                row.occurrences = group.occurrences
                row.unsent = group.unsent
                row.observed = group.observed
                row.opened_at = group.opened_at
                row.last_seen_at = group.last_seen_at
                row.last_sent_at = group.last_sent_at
                row.resolved_at = group.resolved_at
                await session.flush()
                ids[key] = row.id
            for message in decided.messages:
                group_id = ids.get((message.connection_id, message.cause))
                if group_id is None:
                    raise StoreError(f"alert message for an unknown group {message.cause!r}")
                session.add(
                    AlertOutboxRow(
                        connection_id=message.connection_id,
                        group_id=group_id,
                        channel=message.channel,
                        state="pending",
                        payload=message.payload,
                        attempts=0,
                        next_at=now,
                        created_at=now,
                    )
                )
        return decided

    async def _attention(self, session: Any) -> dict[tuple[int, str], AttentionGroup]:
        """Per (connection, error code): records needing attention (with the newest as the
        example) and records still being retried with that code."""
        attention_status = SyncStatus.NEEDS_ATTENTION.value
        open_statuses = [
            attention_status,
            SyncStatus.PENDING.value,
            SyncStatus.IN_FLIGHT.value,
            SyncStatus.RETRY_WAIT.value,
        ]
        counted = (
            select(
                SyncRecordRow.connection_id,
                SyncRecordRow.error_code,
                SyncRecordRow.status,
                func.count(),
                func.max(SyncRecordRow.id),
            )
            .where(SyncRecordRow.status.in_(open_statuses), SyncRecordRow.error_code.is_not(None))
            # By the status itself: PostgreSQL binds ``status = :x`` once per clause and then
            # refuses the select's comparison as not being the GROUP BY's.
            .group_by(SyncRecordRow.connection_id, SyncRecordRow.error_code, SyncRecordRow.status)
        )
        failing: dict[tuple[int, str], tuple[int, int]] = {}  # key -> (count, newest id)
        waiting: dict[tuple[int, str], int] = {}
        for cid, code, status, count, newest in await session.execute(counted):
            key = (int(cid), str(code))
            if status == attention_status:
                failing[key] = (int(count), int(newest))
            else:
                waiting[key] = waiting.get(key, 0) + int(count)
        examples: dict[int, SyncRecordRow] = {}
        if failing:
            ids = [newest for _, newest in failing.values()]
            rows = await session.scalars(select(SyncRecordRow).where(SyncRecordRow.id.in_(ids)))
            examples = {row.id: row for row in rows}
        attention: dict[tuple[int, str], AttentionGroup] = {}
        for key in failing.keys() | waiting.keys():
            count, newest = failing.get(key, (0, 0))
            example = examples.get(newest)
            attention[key] = AttentionGroup(
                count,
                example.object_type if example else "",
                example.object_id if example else "",
                (example.last_error or "") if example else "",
                waiting.get(key, 0),
            )
        return attention

    async def _snapshot(self, session: Any) -> AlertSnapshot:
        attention = await self._attention(session)
        connections = {
            cid: (name, ConnectionStatus(status), health or "")
            for cid, name, status, health in await session.execute(
                select(
                    ConnectionRow.id,
                    ConnectionRow.name,
                    ConnectionRow.status,
                    ConnectionRow.health_message,
                )
            )
        }
        groups = {
            (row.connection_id, row.cause): _to_group(row)
            for row in await session.scalars(select(AlertGroupRow))
        }
        targets = {
            row.connection_id: _to_target(row)
            for row in await session.scalars(select(AlertTargetRow))
        }
        return AlertSnapshot(attention, connections, groups, targets)
