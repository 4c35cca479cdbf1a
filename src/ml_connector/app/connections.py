"""Connections as the actor sees them: which ones, by name, within the actor's scope.

A connection outside a scoped user's access answers exactly like one that does not exist
(:class:`~ml_connector.app.principal.NotFound`), so a scoped user cannot even learn another
tenant's connection names. The command line names connections as the store does (by name or
id) and sees every one. An overview reports credentials as the list of fields that are set,
never their values, and every text passes through the runtime's redactor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ml_connector.app.principal import Actor, Forbidden, NotFound, Permission
from ml_connector.audit import AuditKind
from ml_connector.errors import ConnectorError
from ml_connector.runtime.wiring import CREDENTIAL_FIELDS, Runtime, live_rate_limits
from ml_connector.store import Connection, ConnectionStatus, SyncStatus
from ml_connector.store.stats import RecordStats

__all__ = [
    "Connection",
    "ConnectionOverview",
    "RateLimits",
    "connection_named",
    "connection_overview",
    "connection_overviews",
    "replace_credentials",
    "visible_connection",
    "visible_connections",
]


@dataclass(frozen=True)
class RateLimits:
    """The vendors' quotas: ``live`` limiter figures per system, or ``store`` (the newest 429)."""

    source: str
    systems: dict[str, dict[str, float]]
    last_429_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "systems": self.systems, "last_429_at": self.last_429_at}


@dataclass(frozen=True)
class ConnectionOverview:
    """One connection as the overview shows it (texts redacted, no credential values).

    ``credentials`` is ``ok``, ``incomplete``, ``rejected`` or ``failing``; ``counts`` holds
    the records per state; ``oldest_pending_*`` the record that has waited longest.
    """

    id: int
    name: str
    status: str
    health_message: str
    credentials: str
    ramp_base_url: str
    visma_base_url: str
    credentials_set: list[str]
    settings: dict[str, Any]
    counts: dict[str, int]
    oldest_pending_at: str | None
    oldest_pending_age_s: int | None
    last_success_at: str | None
    rate_limit: RateLimits

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "health_message": self.health_message,
            "credentials": self.credentials,
            "ramp_base_url": self.ramp_base_url,
            "visma_base_url": self.visma_base_url,
            "credentials_set": self.credentials_set,
            "settings": self.settings,
            "counts": self.counts,
            "oldest_pending_at": self.oldest_pending_at,
            "oldest_pending_age_s": self.oldest_pending_age_s,
            "last_success_at": self.last_success_at,
            "rate_limit": self.rate_limit.as_dict(),
        }


async def visible_connections(actor: Actor, rt: Runtime) -> list[Connection]:
    """Every connection inside the actor's scope."""
    return [c for c in await rt.store.list_connections() if actor.sees(c.id)]


async def visible_connection(actor: Actor, rt: Runtime, name: str) -> Connection:
    """The named connection if the actor may see it; NotFound otherwise."""
    try:
        connection = await rt.store.get_connection(name)
    except ConnectorError:
        raise NotFound(f"no connection {name!r}") from None
    if not actor.sees(connection.id):
        raise NotFound(f"no connection {name!r}")
    return connection


async def connection_named(actor: Actor, rt: Runtime, name_or_id: str | int) -> Connection:
    """The connection by name or id, as the command line names it; ConfigurationError (the
    store's message) when there is none, NotFound when it is outside the actor's scope."""
    connection = await rt.store.get_connection(name_or_id)
    if not actor.sees(connection.id):
        raise NotFound(f"no connection {name_or_id!r}")
    return connection


def _credentials_set(rt: Runtime, connection: Connection) -> list[str]:
    try:
        creds = rt.credentials(connection)
    except ConnectorError:
        return []
    return sorted(k for k, v in creds.items() if v)


def _credentials_state(connection: Connection, fields: list[str]) -> str:
    """``ok``, ``incomplete``, ``rejected`` (paused by a refusal) or ``failing`` (a ping)."""
    if set(CREDENTIAL_FIELDS) - set(fields):
        return "incomplete"
    if connection.status == ConnectionStatus.PAUSED and connection.health_message:
        return "rejected"
    return "failing" if connection.health_message else "ok"


async def _rate_limits(rt: Runtime, connection: Connection) -> RateLimits:
    """The live limiters' figures, or else the last rate-limit answer the store holds."""
    live = live_rate_limits(rt, connection.id)
    if live:
        return RateLimits("live", live, None)
    waiting = await rt.store.list_records(
        connection.id, status=(SyncStatus.RETRY_WAIT, SyncStatus.NEEDS_ATTENTION), limit=200
    )
    limited = [r for r in waiting if "HTTP 429" in (r.last_error or "")]
    last = max((r.updated_at for r in limited), default=None)
    return RateLimits("store", {}, last.isoformat() if last else None)


async def connection_overview(
    actor: Actor, rt: Runtime, connection: Connection, stats: RecordStats | None = None
) -> ConnectionOverview:
    """Health, counts per state, the oldest waiting record. No credential values."""
    actor.require_on(Permission.VIEW, connection.id, "show a connection")
    if stats is None:
        stats = next(
            (s for s in await rt.store.record_stats() if s.connection_id == connection.id),
            RecordStats(connection.id, dict.fromkeys(SyncStatus, 0), None),
        )
    counts, oldest = stats.counts, stats.oldest_pending_at
    succeeded = await rt.store.list_records(connection.id, status=SyncStatus.SUCCEEDED, limit=1)
    fields = _credentials_set(rt, connection)
    now = datetime.now(UTC)
    return ConnectionOverview(
        id=connection.id,
        name=connection.name,
        status=str(connection.status),
        health_message=rt.redactor.scrub_text(connection.health_message),
        credentials=_credentials_state(connection, fields),
        ramp_base_url=connection.ramp_base_url,
        visma_base_url=connection.visma_base_url,
        credentials_set=fields,
        settings=rt.redactor.scrub(connection.settings.as_stored()),
        counts={str(k): v for k, v in counts.items()},
        oldest_pending_at=oldest.isoformat() if oldest else None,
        oldest_pending_age_s=int((now - oldest).total_seconds()) if oldest else None,
        last_success_at=succeeded[0].updated_at.isoformat() if succeeded else None,
        rate_limit=await _rate_limits(rt, connection),
    )


async def connection_overviews(actor: Actor, rt: Runtime) -> list[ConnectionOverview]:
    """Every visible connection's overview, with one aggregate query for the counts."""
    stats = {s.connection_id: s for s in await rt.store.record_stats()}
    rows: list[ConnectionOverview] = []
    for connection in await visible_connections(actor, rt):
        found = stats.get(connection.id) or RecordStats(
            connection.id, dict.fromkeys(SyncStatus, 0), None
        )
        rows.append(await connection_overview(actor, rt, connection, found))
    return rows


async def replace_credentials(
    actor: Actor, rt: Runtime, connection: Connection, changes: dict[str, Any]
) -> list[str]:
    """Admins only: overwrite some credential fields (write-only); returns the fields set."""
    if not actor.may(Permission.ADMIN):
        raise Forbidden("only an admin may change credentials")
    actor.require_on(Permission.ADMIN, connection.id, "change credentials")
    unknown = sorted(set(changes) - set(CREDENTIAL_FIELDS))
    if unknown or not changes or not all(isinstance(v, str) and v for v in changes.values()):
        names = ", ".join(unknown) if unknown else ", ".join(CREDENTIAL_FIELDS)
        raise ValueError(f"give non-empty text values for credential fields ({names})")
    creds = rt.credentials(connection)
    creds.update(changes)
    await rt.store.update_connection_credentials(connection.id, rt.vault.encrypt(creds))
    rt.forget(connection.id)
    await rt.store.append_audit(
        connection.id,
        None,
        AuditKind.USER_ACTION.value,
        {**actor.identity(), "action": "credentials", "fields": sorted(changes)},
    )
    return sorted(k for k, v in creds.items() if v)
