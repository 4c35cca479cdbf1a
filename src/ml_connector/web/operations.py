"""What the admin API and the dashboard do, once, with scope and role checks and the audit trail.

Both edges call these functions with the authenticated :class:`~ml_connector.web.auth.Principal`;
the edges only translate HTTP in and out. Everything returned is safe to show: credentials are
reported as the list of fields that are set, never their values, and every text passes through
the runtime's redactor.

A connection outside the caller's scope answers exactly like one that does not exist, so a
scoped user cannot even learn another tenant's connection names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.errors import ConnectorError, StoreError
from ml_connector.runtime import records as record_ops
from ml_connector.runtime.chart import chart_status
from ml_connector.runtime.mappings import load_table
from ml_connector.runtime.wiring import CREDENTIAL_FIELDS, Runtime
from ml_connector.store import Connection, SyncRecord, SyncStatus
from ml_connector.web.auth import Principal

__all__ = [
    "ExceptionGroup",
    "Forbidden",
    "NotFound",
    "RecordFilter",
    "chart",
    "connection_overview",
    "events",
    "exception_groups",
    "exclude",
    "mappings",
    "record_detail",
    "replace_credentials",
    "replay",
    "search_records",
    "visible_connection",
    "visible_connections",
]

_SEARCH_WINDOW = 5_000  # records scanned for a free-text search, most recently changed first
# Ids and numbers that differ between records of one cause: folded so the causes group.
_VARIABLE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f-]{27,}\b|\b[0-9a-f]{16,}\b|\b\d{5,}\b", re.I)


class NotFound(Exception):
    """No such thing, or not in the caller's scope (the same answer, on purpose)."""


class Forbidden(Exception):
    """The caller's role does not allow the action."""


def _audit_identity(principal: Principal) -> dict[str, Any]:
    return {"user": principal.user.email, "role": principal.user.role.value, "via": principal.via}


async def visible_connections(rt: Runtime, principal: Principal) -> list[Connection]:
    return [c for c in await rt.store.list_connections() if principal.user.may_see(c.id)]


async def visible_connection(rt: Runtime, principal: Principal, name: str) -> Connection:
    """The named connection if the caller may see it; NotFound otherwise."""
    try:
        connection = await rt.store.get_connection(name)
    except ConnectorError:
        raise NotFound(f"no connection {name!r}") from None
    if not principal.user.may_see(connection.id):
        raise NotFound(f"no connection {name!r}")
    return connection


def _credentials_set(rt: Runtime, connection: Connection) -> list[str]:
    try:
        creds = rt.credentials(connection)
    except ConnectorError:
        return []
    return sorted(k for k, v in creds.items() if v)


async def connection_overview(rt: Runtime, connection: Connection) -> dict[str, Any]:
    """Health, counts per state, the oldest waiting record. No credential values."""
    counts = await rt.store.count_by_status(connection.id)
    waiting = await rt.store.list_records(
        connection.id, status=(SyncStatus.PENDING, SyncStatus.RETRY_WAIT), limit=_SEARCH_WINDOW
    )
    oldest = min((r.created_at for r in waiting), default=None)
    succeeded = await rt.store.list_records(connection.id, status=SyncStatus.SUCCEEDED, limit=1)
    return {
        "id": connection.id,
        "name": connection.name,
        "status": str(connection.status),
        "health_message": rt.redactor.scrub_text(connection.health_message),
        "ramp_base_url": connection.ramp_base_url,
        "visma_base_url": connection.visma_base_url,
        "credentials_set": _credentials_set(rt, connection),
        "settings": rt.redactor.scrub(connection.settings),
        "counts": {str(k): v for k, v in counts.items()},
        "oldest_pending_at": oldest.isoformat() if oldest else None,
        "last_success_at": succeeded[0].updated_at.isoformat() if succeeded else None,
    }


async def replace_credentials(
    rt: Runtime, principal: Principal, connection: Connection, changes: dict[str, str]
) -> list[str]:
    """Admins only: overwrite some credential fields (write-only); returns the fields set."""
    if not principal.can_admin:
        raise Forbidden("only an admin may change credentials")
    unknown = sorted(set(changes) - set(CREDENTIAL_FIELDS))
    if unknown or not changes or not all(isinstance(v, str) and v for v in changes.values()):
        raise ValueError(f"give non-empty values for credential fields {', '.join(unknown)}")
    creds = rt.credentials(connection)
    creds.update(changes)
    await rt.store.update_connection_credentials(connection.id, rt.vault.encrypt(creds))
    rt.forget(connection.id)
    await rt.store.append_audit(
        connection.id,
        None,
        AuditKind.USER_ACTION.value,
        {**_audit_identity(principal), "action": "credentials", "fields": sorted(changes)},
    )
    return sorted(k for k, v in creds.items() if v)


@dataclass(frozen=True)
class RecordFilter:
    """The records list's filters; all optional. ``query`` matches Ramp id or Visma reference."""

    object_type: str | None = None
    state: SyncStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    query: str = ""
    limit: int = 100
    offset: int = 0


def record_summary(rt: Runtime, record: SyncRecord) -> dict[str, Any]:
    out = record_ops.record_to_dict(record)
    out["error"] = rt.redactor.scrub_text(out["error"]) if out["error"] else None
    out["created_at"] = record.created_at.isoformat()
    return out


async def search_records(
    rt: Runtime, connection: Connection, flt: RecordFilter
) -> list[dict[str, Any]]:
    """Records matching the filter, most recently changed first."""
    text = flt.query.strip().lower()
    scanning = bool(text) or flt.until is not None
    found = await rt.store.list_records(
        connection.id,
        status=flt.state,
        object_type=flt.object_type,
        updated_since=flt.since,
        limit=_SEARCH_WINDOW if scanning else flt.limit,
        offset=0 if scanning else flt.offset,
    )
    if scanning:
        found = [
            r
            for r in found
            if (flt.until is None or r.updated_at < flt.until)
            and (not text or text in r.object_id.lower() or text in (r.visma_ref or "").lower())
        ][flt.offset : flt.offset + flt.limit]
    return [record_summary(rt, r) for r in found]


async def _record(rt: Runtime, connection: Connection, record_id: int) -> SyncRecord:
    try:
        record = await rt.store.get_record(record_id)
    except StoreError:
        raise NotFound(f"no record {record_id}") from None
    if record.connection_id != connection.id:
        raise NotFound(f"no record {record_id}")
    return record


async def record_detail(rt: Runtime, connection: Connection, record_id: int) -> dict[str, Any]:
    """One record: both sides' ids, attempts, the audit timeline, the last payload and error."""
    record = await _record(rt, connection, record_id)
    attempts = await rt.store.list_attempts(record.id)
    timeline = await rt.store.list_audit(connection.id, record_id=record.id)
    return {
        **record_summary(rt, record),
        "connection": connection.name,
        "last_payload": rt.redactor.scrub(record.payload),
        "attempt_history": [
            {
                "n": a.number,
                "outcome": a.outcome,
                "status": str(a.status),
                "error": rt.redactor.scrub_text(a.error) if a.error else None,
            }
            for a in attempts
        ],
        "timeline": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "kind": e.kind,
                "data": rt.redactor.scrub(e.data),
            }
            for e in timeline
        ],
    }


@dataclass(frozen=True)
class ExceptionGroup:
    """Records needing attention for one cause."""

    key: str
    error_code: str
    message: str
    hint: str
    record_ids: tuple[int, ...]
    ramp_ids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "error_code": self.error_code,
            "message": self.message,
            "hint": self.hint,
            "count": len(self.record_ids),
            "record_ids": list(self.record_ids),
            "ramp_ids": list(self.ramp_ids),
        }


async def exception_groups(rt: Runtime, connection: Connection) -> list[ExceptionGroup]:
    """needs_attention records grouped by error code and message pattern, biggest group first."""
    records = await rt.store.list_records(
        connection.id, status=SyncStatus.NEEDS_ATTENTION, limit=100_000
    )
    buckets: dict[tuple[str, str], list[SyncRecord]] = {}
    for record in records:
        message = rt.redactor.scrub_text(record.last_error or "no error recorded")
        pattern = _VARIABLE.sub("#", message)
        buckets.setdefault((record.error_code or "unknown", pattern), []).append(record)
    groups = [
        ExceptionGroup(
            key=hashlib.sha256(f"{code}\n{pattern}".encode()).hexdigest()[:16],
            error_code=code,
            message=pattern,
            hint=rt.redactor.scrub_text(members[0].hint or ""),
            record_ids=tuple(r.id for r in members),
            ramp_ids=tuple(r.object_id for r in members),
        )
        for (code, pattern), members in buckets.items()
    ]
    return sorted(groups, key=lambda g: (-len(g.record_ids), g.error_code, g.message))


async def replay(
    rt: Runtime,
    principal: Principal,
    connection: Connection,
    record_ids: Sequence[int],
    *,
    dry_run: bool,
) -> list[dict[str, Any]]:
    """Replay records (operators and admins); a dry run shows payload diffs and changes nothing."""
    if not dry_run and not principal.can_act:
        raise Forbidden("a viewer cannot replay records")
    records = [await _record(rt, connection, rid) for rid in record_ids]
    if not records:
        raise ValueError("name at least one record to replay")
    if not dry_run:
        await rt.store.append_audit(
            connection.id,
            None,
            AuditKind.USER_ACTION.value,
            {**_audit_identity(principal), "action": "replay", "record_ids": list(record_ids)},
        )
    items = await record_ops.replay(rt, connection.name, records, dry_run=dry_run)
    return [
        {
            "ramp_id": item.ramp_id,
            "status_before": item.status_before,
            "status_after": item.status_after,
            "diff": rt.redactor.scrub_text(item.diff),
            "error": rt.redactor.scrub_text(item.error),
        }
        for item in items
    ]


async def exclude(
    rt: Runtime,
    principal: Principal,
    connection: Connection,
    record_ids: Sequence[int],
    reason: str,
) -> list[dict[str, Any]]:
    """Exclude records from sync with a required reason (operators and admins)."""
    if not principal.can_act:
        raise Forbidden("a viewer cannot exclude records")
    if not reason.strip():
        raise ValueError("excluding records needs a reason")
    records = [await _record(rt, connection, rid) for rid in record_ids]
    out = []
    for record in records:
        after = await rt.store.exclude(record.id, reason=reason.strip())
        await rt.store.append_audit(
            connection.id,
            record.id,
            AuditKind.USER_ACTION.value,
            {**_audit_identity(principal), "action": "exclude", "reason": reason.strip()},
        )
        out.append(record_summary(rt, after))
    return out


async def mappings(rt: Runtime, connection: Connection) -> dict[str, Any]:
    table, version = await load_table(rt, connection.name)
    return {
        "version": version.version if version else None,
        "author": version.author if version else None,
        "saved_at": version.created_at.isoformat() if version else None,
        "document": table.to_document(),
    }


async def chart(rt: Runtime, connection: Connection) -> dict[str, Any]:
    return (await chart_status(rt, connection.name)).as_dict()


async def events(rt: Runtime, connection: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """The connection's newest inbox events (type and ids; payloads stay out of listings)."""
    return [
        {
            "id": e.id,
            "source": str(e.source),
            "event_id": e.event_id,
            "type": e.type,
            "object_id": e.object_id,
            "status": str(e.status),
            "received_at": e.received_at.isoformat(),
        }
        for e in await rt.store.list_events(connection.id, limit=limit)
    ]


def parse_time(value: str | None) -> datetime | None:
    """An ISO date or datetime from a query string (naive means UTC); None when empty."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
