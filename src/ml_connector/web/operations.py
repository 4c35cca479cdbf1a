"""What the admin API and the dashboard read, once, with scope checks: connections and records.

Both edges call these functions with the authenticated :class:`~ml_connector.web.auth.Principal`;
the edges only translate HTTP in and out. Everything returned is safe to show: credentials are
reported as the list of fields that are set, never their values, and every text passes through
the runtime's redactor. The actions (retry, replay, exclude) are in ``web/actions.py``; mapping
and chart operations in ``web/config_ops.py``; user management in ``web/user_ops.py``.

A connection outside the caller's scope answers exactly like one that does not exist, so a
scoped user cannot even learn another tenant's connection names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.errors import ConnectorError, StoreError
from ml_connector.runtime import records as record_ops
from ml_connector.runtime.admin import live_rate_limits
from ml_connector.runtime.wiring import CREDENTIAL_FIELDS, Runtime
from ml_connector.store import Connection, ConnectionStatus, LinkKind, SyncRecord, SyncStatus
from ml_connector.store.stats import RecordStats
from ml_connector.web.auth import Principal
from ml_connector.web.explain import explain, ramp_link, visma_link
from ml_connector.web.params import MAX_ID, check_id, parse_time

__all__ = [
    "MAX_ID",
    "Forbidden",
    "NotFound",
    "RecordFilter",
    "audit_identity",
    "connection_overview",
    "connection_overviews",
    "events",
    "find_record",
    "parse_time",
    "record_detail",
    "record_summary",
    "replace_credentials",
    "search_records",
    "visible_connection",
    "visible_connections",
]

_SEARCH_WINDOW = 5_000  # records scanned for a free-text search, most recently changed first


class NotFound(Exception):
    """No such thing, or not in the caller's scope (the same answer, on purpose)."""


class Forbidden(Exception):
    """The caller's role does not allow the action."""


def audit_identity(principal: Principal) -> dict[str, Any]:
    """Who acted, as every user action's audit entry records it."""
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


def _credentials_state(connection: Connection, fields: list[str]) -> str:
    """``ok``, ``incomplete``, ``rejected`` (paused by a refusal) or ``failing`` (a ping)."""
    if set(CREDENTIAL_FIELDS) - set(fields):
        return "incomplete"
    if connection.status == ConnectionStatus.PAUSED and connection.health_message:
        return "rejected"
    return "failing" if connection.health_message else "ok"


async def _rate_limits(rt: Runtime, connection: Connection) -> dict[str, Any]:
    """The live limiters' figures, or else the last rate-limit answer the store holds."""
    live = live_rate_limits(rt, connection.id)
    if live:
        return {"source": "live", "systems": live, "last_429_at": None}
    waiting = await rt.store.list_records(
        connection.id, status=(SyncStatus.RETRY_WAIT, SyncStatus.NEEDS_ATTENTION), limit=200
    )
    limited = [r for r in waiting if "HTTP 429" in (r.last_error or "")]
    last = max((r.updated_at for r in limited), default=None)
    return {
        "source": "store",
        "systems": {},
        "last_429_at": last.isoformat() if last else None,
    }


async def connection_overview(
    rt: Runtime, connection: Connection, stats: RecordStats | None = None
) -> dict[str, Any]:
    """Health, counts per state, the oldest waiting record. No credential values."""
    if stats is None:
        stats = next(
            (s for s in await rt.store.record_stats() if s.connection_id == connection.id),
            RecordStats(connection.id, dict.fromkeys(SyncStatus, 0), None),
        )
    counts, oldest = stats.counts, stats.oldest_pending_at
    succeeded = await rt.store.list_records(connection.id, status=SyncStatus.SUCCEEDED, limit=1)
    fields = _credentials_set(rt, connection)
    now = datetime.now(UTC)
    return {
        "id": connection.id,
        "name": connection.name,
        "status": str(connection.status),
        "health_message": rt.redactor.scrub_text(connection.health_message),
        "credentials": _credentials_state(connection, fields),
        "ramp_base_url": connection.ramp_base_url,
        "visma_base_url": connection.visma_base_url,
        "credentials_set": fields,
        "settings": rt.redactor.scrub(connection.settings.as_stored()),
        "counts": {str(k): v for k, v in counts.items()},
        "oldest_pending_at": oldest.isoformat() if oldest else None,
        "oldest_pending_age_s": int((now - oldest).total_seconds()) if oldest else None,
        "last_success_at": succeeded[0].updated_at.isoformat() if succeeded else None,
        "rate_limit": await _rate_limits(rt, connection),
    }


async def connection_overviews(rt: Runtime, principal: Principal) -> list[dict[str, Any]]:
    """Every visible connection's overview, with one aggregate query for the counts."""
    stats = {s.connection_id: s for s in await rt.store.record_stats()}
    rows = []
    for connection in await visible_connections(rt, principal):
        found = stats.get(connection.id) or RecordStats(
            connection.id, dict.fromkeys(SyncStatus, 0), None
        )
        rows.append(await connection_overview(rt, connection, found))
    return rows


async def replace_credentials(
    rt: Runtime, principal: Principal, connection: Connection, changes: dict[str, Any]
) -> list[str]:
    """Admins only: overwrite some credential fields (write-only); returns the fields set."""
    if not principal.can_admin:
        raise Forbidden("only an admin may change credentials")
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
        {**audit_identity(principal), "action": "credentials", "fields": sorted(changes)},
    )
    return sorted(k for k, v in creds.items() if v)


@dataclass(frozen=True)
class RecordFilter:
    """The records list's filters; all optional.

    ``query`` matches the Ramp id, the invoice number (the document's supplier reference) or
    the Visma reference; ``vendor`` the Visma supplier number or the Ramp vendor id.
    """

    object_type: str | None = None
    state: SyncStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    query: str = ""
    vendor: str = ""
    limit: int = 100
    offset: int = 0


def _payload_text(record: SyncRecord, key: str) -> str:
    payload = record.payload if isinstance(record.payload, dict) else {}
    return str(payload.get(key) or "").lower()


def record_summary(rt: Runtime, record: SyncRecord) -> dict[str, Any]:
    out = record_ops.record_to_dict(record)
    out["error"] = rt.redactor.scrub_text(out["error"]) if out["error"] else None
    out["hint"] = rt.redactor.scrub_text(out["hint"]) if out["hint"] else None
    out["created_at"] = record.created_at.isoformat()
    out["invoice_number"] = _payload_text(record, "supplier_reference") or None
    out["supplier"] = _payload_text(record, "supplier_number") or None
    return out


async def _vendor_suppliers(rt: Runtime, connection: Connection, vendor: str) -> set[str]:
    """Visma supplier numbers the text names: itself, and the supplier a Ramp vendor links to."""
    wanted = {vendor}
    for link in await rt.store.list_links(connection.id, LinkKind.VENDOR):
        if link.ramp_id.lower() == vendor and link.visma_id:
            wanted.add(link.visma_id.lower())
    return wanted


async def search_records(
    rt: Runtime, connection: Connection, flt: RecordFilter
) -> list[dict[str, Any]]:
    """Records matching the filter, most recently changed first."""
    text = flt.query.strip().lower()
    vendor = flt.vendor.strip().lower()
    scanning = bool(text or vendor) or flt.until is not None
    found = await rt.store.list_records(
        connection.id,
        status=flt.state,
        object_type=flt.object_type,
        updated_since=flt.since,
        limit=_SEARCH_WINDOW if scanning else flt.limit,
        offset=0 if scanning else flt.offset,
    )
    if scanning:
        suppliers = await _vendor_suppliers(rt, connection, vendor) if vendor else set()

        def wanted(r: SyncRecord) -> bool:
            if flt.until is not None and r.updated_at >= flt.until:
                return False
            if vendor and _payload_text(r, "supplier_number") not in suppliers:
                return False
            return not text or any(
                text in hay
                for hay in (
                    r.object_id.lower(),
                    (r.visma_ref or "").lower(),
                    _payload_text(r, "supplier_reference"),
                )
            )

        found = [r for r in found if wanted(r)][flt.offset : flt.offset + flt.limit]
    return [record_summary(rt, r) for r in found]


async def find_record(rt: Runtime, connection: Connection, record_id: int) -> SyncRecord:
    """The connection's record with this id; NotFound for another connection's record.

    An id no row can have (negative, or past 2**63-1) is ValueError (400).
    """
    check_id(record_id, "record id")
    try:
        record = await rt.store.get_record(record_id)
    except StoreError:
        raise NotFound(f"no record {record_id}") from None
    if record.connection_id != connection.id:
        raise NotFound(f"no record {record_id}")
    return record


async def record_detail(rt: Runtime, connection: Connection, record_id: int) -> dict[str, Any]:
    """One record: both sides' ids and links, attempts, the timeline, last payload and error,
    and whether Ramp was told (``ramp_write_back``)."""
    record = await find_record(rt, connection, record_id)
    attempts = await rt.store.list_attempts(record.id)
    timeline = await rt.store.list_audit(connection.id, record_id=record.id)
    summary = record_summary(rt, record)
    problem = None
    if record.status in (SyncStatus.NEEDS_ATTENTION, SyncStatus.RETRY_WAIT) and summary["error"]:
        problem = explain(record.error_code, summary["error"], summary["hint"]).as_dict()
    return {
        **summary,
        "connection": connection.name,
        "ramp_url": ramp_link(connection.settings, record.object_type, record.object_id),
        "visma_url": visma_link(connection.settings, record.object_type, record.visma_ref),
        "problem": problem,
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
        "ramp_write_back": rt.redactor.scrub(await record_ops.write_back_status(rt, record)),
    }


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
