"""The webhook inbox as people read it: what arrived, what became of it, what was refused.

Events are listed per connection (newest first, by type, family, status or vendor) and shown
one at a time with their payload. Refused deliveries are listed one by one (bodies are never
kept, only their size, hash and a redacted excerpt) or as the tallies counted instead of
logged: requests to unknown connection names, and floods past a connection's logging rate.
Reading the refusals is an admin's action, since they span every connection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ml_connector.app.principal import Actor, Permission
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import UNKNOWN_SCOPE, Connection, EventSource, EventStatus, InboxEvent

__all__ = [
    "EventSource",
    "EventStatus",
    "InboxEntry",
    "RefusalTally",
    "RefusedDelivery",
    "event_summary",
    "find_event",
    "list_events",
    "refusal_tallies",
    "refused_deliveries",
]


@dataclass(frozen=True)
class RefusedDelivery:
    """One webhook request a receiver refused (the body itself is never kept)."""

    id: int
    received_at: str
    connection: str
    source: str
    http_status: int
    reason: str
    body_size: int
    body_sha256: str | None
    excerpt: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RefusalTally:
    """Refusals counted rather than logged, per name addressed, vendor and HTTP status."""

    scope: str
    source: str
    http_status: int
    count: int
    first_at: str
    last_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _connection(actor: Actor, rt: Runtime, name: str, action: str) -> Connection:
    actor.require(Permission.VIEW, action)
    connection = await rt.store.get_connection(name)
    actor.require_on(Permission.VIEW, connection.id, action)
    return connection


@dataclass(frozen=True)
class InboxEntry:
    """An inbox event as ``events list`` and ``events show`` print it (``payload`` only when
    it was asked for; ``as_dict()`` leaves it out otherwise)."""

    id: int
    source: str
    event_id: str
    type: str
    object_id: str | None
    status: str
    received_at: str
    processed_at: str | None
    payload: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.payload is None:
            del out["payload"]
        return out


def event_summary(event: InboxEvent, *, payload: bool = False) -> InboxEntry:
    """An inbox event as people read it (the payload only when asked for)."""
    return InboxEntry(
        id=event.id,
        source=str(event.source),
        event_id=event.event_id,
        type=event.type,
        object_id=event.object_id,
        status=str(event.status),
        received_at=event.received_at.isoformat(),
        processed_at=event.processed_at.isoformat() if event.processed_at else None,
        payload=event.payload if payload else None,
    )


async def list_events(
    actor: Actor,
    rt: Runtime,
    name: str,
    *,
    event_type: str | None = None,
    status: EventStatus | None = None,
    source: EventSource | None = None,
    limit: int = 50,
) -> list[InboxEntry]:
    """The connection's inbox events, newest first; ``event_type`` ending in ``*`` is a family."""
    connection = await _connection(actor, rt, name, "list inbox events")
    exact = prefix = None
    if event_type is not None and event_type.endswith("*"):
        prefix = event_type[:-1]
    else:
        exact = event_type
    events = await rt.store.list_events(
        connection.id,
        source=source,
        event_type=exact,
        type_prefix=prefix,
        status=status,
        limit=limit,
    )
    return [event_summary(e) for e in events]


async def find_event(actor: Actor, rt: Runtime, name: str, ident: str) -> InboxEntry:
    """One of the connection's events with its payload, by inbox id (digits) or by the
    vendor's event id."""
    connection = await _connection(actor, rt, name, "show an inbox event")
    if ident.isdigit():
        event = await rt.store.get_event(int(ident))
        if event.connection_id == connection.id:
            return event_summary(event, payload=True)
    else:
        for source in EventSource:
            found = await rt.store.find_event(connection.id, source, ident)
            if found is not None:
                return event_summary(found, payload=True)
    raise ConfigurationError(f"connection {connection.name!r} has no event {ident!r}")


async def refused_deliveries(
    actor: Actor, rt: Runtime, name: str | None, *, limit: int
) -> list[RefusedDelivery]:
    """Refused webhook requests, newest first; ``name`` filters on the name as it was given."""
    actor.require(Permission.ADMIN, "list refused webhook requests")
    return [
        RefusedDelivery(
            id=r.id,
            received_at=r.received_at.isoformat(),
            connection=r.connection,
            source=str(r.source),
            http_status=r.http_status,
            reason=r.reason,
            body_size=r.body_size,
            body_sha256=r.body_sha256,
            excerpt=r.excerpt,
        )
        for r in await rt.store.list_rejections(name, limit=limit)
    ]


async def refusal_tallies(actor: Actor, rt: Runtime) -> list[RefusalTally]:
    """Every tally of refusals counted rather than logged."""
    actor.require(Permission.ADMIN, "count refused webhook requests")
    return [
        RefusalTally(
            scope="(unknown connection names)" if t.scope == UNKNOWN_SCOPE else t.scope,
            source=t.source,
            http_status=t.http_status,
            count=t.count,
            first_at=t.first_at.isoformat(),
            last_at=t.last_at.isoformat(),
        )
        for t in await rt.store.list_rejection_tallies()
    ]
