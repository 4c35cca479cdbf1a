"""The webhook inbox: verified events, de-duplicated by event id, and the rejection log.

An event enters the inbox only after its signature verified. It is unique per (connection,
source, event id), so a vendor's retries and duplicate deliveries collapse into one row:
``insert_event`` is a single INSERT … ON CONFLICT DO NOTHING and says whether the row is new.

``ingest_events`` (``store/ingest.py``) is the receivers' path: a whole batch of verified events
in one write transaction, stored, queued and settled together.

Each event moves once, from ``received`` to ``processed`` or ``ignored``
(:class:`EventStatus`); events still ``received`` are either waiting for a flow that consumes
them or were interrupted (a crash between storing and acting), and can be swept with
``list_events(status=EventStatus.RECEIVED, received_before=…)``.

Rejected requests (bad signature, oversized, malformed, wrong content type, unknown
connection) go to a separate ``rejections`` table and never into the inbox
(``store/rejections.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select, update

from ml_connector.errors import StoreError
from ml_connector.store.engine import Repository
from ml_connector.store.inbox_guard import InboxSeenRow, remember_seen_in, seen_key
from ml_connector.store.tables import EventRow, RejectionRow

__all__ = [
    "MAX_KEY",
    "EventReceipt",
    "EventSource",
    "EventStatus",
    "InboxEvent",
    "InboxRepository",
    "Ingested",
    "NewEvent",
]

MAX_KEY = 200  # event ids, types, object ids and connection names are kept to this length


class EventSource(StrEnum):
    """Which vendor sent the event."""

    RAMP = "ramp"  # Ramp's outbound webhooks (hex HMAC)
    VISMA = "visma"  # Visma's webhook dispatcher (base64 HMAC)


class EventStatus(StrEnum):
    """Where an inbox event stands."""

    RECEIVED = "received"  # stored; not acted on yet (or waiting for a flow that consumes it)
    PROCESSED = "processed"  # acted on: work queued, a challenge answered, a change noted
    IGNORED = "ignored"  # a type the connector does not act on; kept for the record


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """One verified webhook event; ``payload`` is the parsed body, as received."""

    id: int
    connection_id: int
    source: EventSource
    event_id: str
    type: str
    object_id: str | None
    payload: dict[str, Any]
    received_at: datetime
    status: EventStatus
    processed_at: datetime | None


@dataclass(frozen=True, slots=True)
class EventReceipt:
    """The answer to ``insert_event``: the stored event, and whether this call stored it."""

    event: InboxEvent
    new: bool


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A verified event for ``ingest_events``, with what it becomes when it is new.

    ``status`` is the inbox status it is stored with (``received`` leaves it for later);
    ``object_type`` (with ``object_id``) names the record it queues. Raises StoreError when a
    key is empty or too long, or when work is asked for without an object id.
    """

    connection_id: int
    source: EventSource
    event_id: str
    type: str
    object_id: str | None
    payload: dict[str, Any]
    status: EventStatus = EventStatus.RECEIVED
    object_type: str | None = None
    # True when nothing signed dates the event: its id is checked against the keys of pruned
    # events (``inbox_seen``), so a replay older than the retention is not taken for new.
    check_seen: bool = False
    # A cursor to stamp with the time, new event or repeat (a Visma notification asks for a
    # poll even when its body repeats an earlier one; see ``runtime.chart``).
    poll_hint: str | None = None

    def __post_init__(self) -> None:
        _check_key("event id", self.event_id)
        _check_key("type", self.type)
        if self.object_id is not None:
            _check_key("object id", self.object_id)
        if self.object_type is not None and self.object_id is None:
            raise StoreError("an inbox event that queues work needs an object id")

    @property
    def key(self) -> tuple[int, str, str]:
        """What makes the event unique in the inbox: (connection, source, event id)."""
        return (self.connection_id, EventSource(self.source).value, self.event_id)


@dataclass(frozen=True, slots=True)
class Ingested:
    """What ``ingest_events`` did with one event: its inbox id when this call stored it (None
    for a duplicate), and the record it queued."""

    inbox_id: int | None
    record_id: int | None = None
    # True when the event's key belongs to an event the retention pruned: a replay, refused.
    stale: bool = False

    @property
    def new(self) -> bool:
        """True when this call stored the event."""
        return self.inbox_id is not None


def _to_event(row: EventRow) -> InboxEvent:
    return InboxEvent(
        id=row.id,
        connection_id=row.connection_id,
        source=EventSource(row.source),
        event_id=row.event_id,
        type=row.type,
        object_id=row.object_id,
        payload=dict(row.payload),
        received_at=row.received_at,
        status=EventStatus(row.status),
        processed_at=row.processed_at,
    )


def _check_key(what: str, value: str) -> None:
    if not value or len(value) > MAX_KEY:
        raise StoreError(f"an inbox event's {what} must be 1-{MAX_KEY} characters")


class InboxRepository(Repository):
    """Store, read, settle and prune webhook events."""

    async def insert_event(
        self,
        connection_id: int,
        source: EventSource,
        event_id: str,
        event_type: str,
        object_id: str | None,
        payload: dict[str, Any],
        *,
        now: datetime | None = None,
    ) -> EventReceipt:
        """Store a verified event as ``received``, unless its id is already in the inbox.

        ``new`` is true for exactly one of any number of racing inserts of the same event;
        the others get the stored row, whatever its status by now.
        """
        source = EventSource(source)
        _check_key("event id", event_id)
        _check_key("type", event_type)
        if object_id is not None:
            _check_key("object id", object_id)
        now = self._now(now)
        async with self._db.write() as session:
            insert = self._db.insert(EventRow).values(
                connection_id=connection_id,
                source=source.value,
                event_id=event_id,
                type=event_type,
                object_id=object_id,
                payload=payload,
                received_at=now,
                status=EventStatus.RECEIVED.value,
                processed_at=None,
            )
            insert = insert.on_conflict_do_nothing(
                index_elements=[EventRow.connection_id, EventRow.source, EventRow.event_id]
            )
            inserted = (await session.scalars(insert.returning(EventRow))).one_or_none()
            if inserted is not None:
                return EventReceipt(_to_event(inserted), new=True)
            query = select(EventRow).where(
                EventRow.connection_id == connection_id,
                EventRow.source == source.value,
                EventRow.event_id == event_id,
            )
            row = (await session.scalars(query)).one()
            return EventReceipt(_to_event(row), new=False)

    async def get_event(self, event_pk: int) -> InboxEvent:
        """The inbox row with this (local) id. Raises StoreError when there is none."""
        async with self._db.read() as session:
            row = await session.get(EventRow, event_pk)
            if row is None:
                raise StoreError(f"no inbox event with id {event_pk}")
            return _to_event(row)

    async def find_event(
        self, connection_id: int, source: EventSource, event_id: str
    ) -> InboxEvent | None:
        """The event with the vendor's ``event_id``, or None."""
        async with self._db.read() as session:
            query = select(EventRow).where(
                EventRow.connection_id == connection_id,
                EventRow.source == EventSource(source).value,
                EventRow.event_id == event_id,
            )
            row = (await session.scalars(query)).one_or_none()
            return None if row is None else _to_event(row)

    async def list_events(
        self,
        connection_id: int | None = None,
        *,
        source: EventSource | None = None,
        event_type: str | None = None,
        type_prefix: str | None = None,
        status: EventStatus | None = None,
        received_since: datetime | None = None,
        received_before: datetime | None = None,
        after_id: int | None = None,
        limit: int = 100,
        oldest_first: bool = False,
    ) -> list[InboxEvent]:
        """Events matching every filter given, newest first unless ``oldest_first``.

        ``type_prefix`` matches a family (``"bills."``); ``received_since`` is inclusive,
        ``received_before`` exclusive; ``after_id`` pages on by id (with ``oldest_first``).
        """
        query = select(EventRow)
        if connection_id is not None:
            query = query.where(EventRow.connection_id == connection_id)
        if source is not None:
            query = query.where(EventRow.source == EventSource(source).value)
        if event_type is not None:
            query = query.where(EventRow.type == event_type)
        if type_prefix is not None:
            query = query.where(EventRow.type.startswith(type_prefix, autoescape=True))
        if status is not None:
            query = query.where(EventRow.status == EventStatus(status).value)
        if received_since is not None:
            query = query.where(EventRow.received_at >= self._now(received_since))
        if received_before is not None:
            query = query.where(EventRow.received_at < self._now(received_before))
        if after_id is not None:
            query = query.where(EventRow.id > after_id)
        query = query.order_by(EventRow.id if oldest_first else EventRow.id.desc())
        async with self._db.read() as session:
            rows = await session.scalars(query.limit(limit))
            return [_to_event(row) for row in rows]

    async def mark_event(
        self, event_pk: int, status: EventStatus, *, now: datetime | None = None
    ) -> InboxEvent:
        """Settle a ``received`` event as processed or ignored.

        Settling it again with the status it already has changes nothing (so racing sweeps
        are harmless); any other move raises StoreError.
        """
        status = EventStatus(status)
        if status is EventStatus.RECEIVED:
            raise StoreError("an inbox event cannot go back to 'received'")
        now = self._now(now)
        async with self._db.write() as session:
            settled = await session.scalars(
                update(EventRow)
                .where(EventRow.id == event_pk, EventRow.status == EventStatus.RECEIVED.value)
                .values(status=status.value, processed_at=now)
                .returning(EventRow)
            )
            row = settled.one_or_none() or await session.get(EventRow, event_pk)
            if row is None:
                raise StoreError(f"no inbox event with id {event_pk}")
            if row.status != status.value:
                raise StoreError(
                    f"inbox event {event_pk} is already {row.status}; cannot mark it {status}"
                )
            return _to_event(row)

    async def prune_inbox(
        self, before: datetime, *, seen_before: datetime | None = None
    ) -> tuple[int, int]:
        """Delete settled events and rejections received before ``before``.

        Events still ``received`` are kept whatever their age. Each deleted event leaves its
        compact key in ``inbox_seen`` (so a replay of it is recognised); keys recorded before
        ``seen_before`` are deleted. Returns (events, rejections) deleted.
        """
        cutoff = self._now(before)
        prunable = (
            EventRow.received_at < cutoff,
            EventRow.status != EventStatus.RECEIVED.value,
        )
        async with self._db.write() as session:
            doomed = await session.execute(
                select(EventRow.connection_id, EventRow.source, EventRow.event_id).where(*prunable)
            )
            now = self._now(None)
            await remember_seen_in(
                self._db,
                session,
                (((cid, src, seen_key(src, eid)), now) for cid, src, eid in doomed),
            )
            events = await session.execute(delete(EventRow).where(*prunable).returning(EventRow.id))
            rejections = await session.execute(
                delete(RejectionRow)
                .where(RejectionRow.received_at < cutoff)
                .returning(RejectionRow.id)
            )
            if seen_before is not None:
                await session.execute(
                    delete(InboxSeenRow).where(InboxSeenRow.seen_at < self._now(seen_before))
                )
            return len(events.all()), len(rejections.all())
