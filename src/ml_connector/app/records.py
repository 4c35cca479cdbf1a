"""Sync records as people read them: list, search, one record in full, the inbox events.

Everything the dashboard and the admin API get here is safe to show: every text passes
through the runtime's redactor. The command line's ``records list`` and ``records show`` read
the stored values as they are (the operator runs on the host holding the database). Whether
Ramp was told about a record (``ramp_write_back``) is :func:`write_back_status`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ml_connector.app.connections import connection_named
from ml_connector.app.explain import explain, ramp_link, visma_link
from ml_connector.app.principal import Actor, NotFound, Permission
from ml_connector.app.status import OBJECT_TYPES
from ml_connector.app.views_records import (
    AttemptView,
    EventView,
    RecordDescription,
    RecordDetail,
    RecordRow,
    RecordSummary,
    TimelineEntry,
)
from ml_connector.app.write_back import write_back_status
from ml_connector.errors import ConfigurationError, StoreError
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection, LinkKind, SyncRecord, SyncStatus

__all__ = [
    "OBJECT_TYPES",
    "EventView",
    "RecordDescription",
    "RecordDetail",
    "RecordFilter",
    "RecordRow",
    "RecordSummary",
    "SyncStatus",
    "describe_record",
    "events",
    "find_record",
    "list_records",
    "record_detail",
    "record_summary",
    "search_records",
]

_SEARCH_WINDOW = 5_000  # records scanned for a free-text search, most recently changed first
MAX_ID = 2**63 - 1  # the largest id a row can have


async def list_records(
    actor: Actor, rt: Runtime, name: str, *, status: SyncStatus | None, limit: int
) -> list[RecordRow]:
    """The connection's records as stored, most recently changed first (the command line)."""
    actor.require(Permission.VIEW, "list records")
    connection = await connection_named(actor, rt, name)
    rows = await rt.store.list_records(connection.id, status=status, limit=limit)
    return [RecordRow.of(r) for r in rows]


async def describe_record(
    actor: Actor, rt: Runtime, connection_name: str, ramp_id: str
) -> RecordDescription:
    """One bill's record with its attempts, its audit timeline and whether Ramp was told."""
    actor.require(Permission.VIEW, "show a record")
    connection = await connection_named(actor, rt, connection_name)
    record = await rt.store.find_record(connection.id, "bill", ramp_id)
    if record is None:
        raise ConfigurationError(f"no record for Ramp object {ramp_id}")
    attempts = await rt.store.list_attempts(record.id)
    timeline = await rt.store.list_audit(connection.id, record_id=record.id)
    return RecordDescription(
        row=RecordRow.of(record),
        last_payload=record.payload,
        attempt_history=tuple(AttemptView.of(a, a.error) for a in attempts),
        timeline=tuple(TimelineEntry.of(e, e.data) for e in timeline),
        ramp_write_back=await write_back_status(rt, record),
    )


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


def record_summary(rt: Runtime, record: SyncRecord) -> RecordSummary:
    """One record as the dashboard and the API list it (texts redacted)."""
    row = RecordRow.of(record)
    return RecordSummary(
        **{
            **asdict(row),
            "error": rt.redactor.scrub_text(row.error) if row.error else None,
            "hint": rt.redactor.scrub_text(row.hint) if row.hint else None,
        },
        created_at=record.created_at.isoformat(),
        invoice_number=_payload_text(record, "supplier_reference") or None,
        supplier=_payload_text(record, "supplier_number") or None,
    )


async def _vendor_suppliers(rt: Runtime, connection: Connection, vendor: str) -> set[str]:
    """Visma supplier numbers the text names: itself, and the supplier a Ramp vendor links to."""
    wanted = {vendor}
    for link in await rt.store.list_links(connection.id, LinkKind.VENDOR):
        if link.ramp_id.lower() == vendor and link.visma_id:
            wanted.add(link.visma_id.lower())
    return wanted


def _matches(flt: RecordFilter, text: str, vendor: str, suppliers: set[str]) -> Any:
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

    return wanted


async def search_records(
    actor: Actor, rt: Runtime, connection: Connection, flt: RecordFilter
) -> list[RecordSummary]:
    """Records matching the filter, most recently changed first."""
    actor.require_on(Permission.VIEW, connection.id, "list records")
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
        wanted = _matches(flt, text, vendor, suppliers)
        found = [r for r in found if wanted(r)][flt.offset : flt.offset + flt.limit]
    return [record_summary(rt, r) for r in found]


async def find_record(rt: Runtime, connection: Connection, record_id: int) -> SyncRecord:
    """The connection's record with this id; NotFound for another connection's record.

    An id no row can have (negative, or past 2**63-1) is ValueError (400).
    """
    if not 0 <= record_id <= MAX_ID:
        raise ValueError(f"record id {record_id} is out of range (0 to {MAX_ID})")
    try:
        record = await rt.store.get_record(record_id)
    except StoreError:
        raise NotFound(f"no record {record_id}") from None
    if record.connection_id != connection.id:
        raise NotFound(f"no record {record_id}")
    return record


async def record_detail(
    actor: Actor, rt: Runtime, connection: Connection, record_id: int
) -> RecordDetail:
    """One record: both sides' ids and links, attempts, the timeline, last payload and error,
    and whether Ramp was told (``ramp_write_back``)."""
    actor.require_on(Permission.VIEW, connection.id, "show a record")
    record = await find_record(rt, connection, record_id)
    attempts = await rt.store.list_attempts(record.id)
    timeline = await rt.store.list_audit(connection.id, record_id=record.id)
    summary = record_summary(rt, record)
    problem = None
    if record.status in (SyncStatus.NEEDS_ATTENTION, SyncStatus.RETRY_WAIT) and summary.error:
        problem = explain(record.error_code, summary.error, summary.hint)
    scrub, scrub_text = rt.redactor.scrub, rt.redactor.scrub_text
    return RecordDetail(
        summary=summary,
        connection=connection.name,
        ramp_url=ramp_link(connection.settings, record.object_type, record.object_id),
        visma_url=visma_link(connection.settings, record.object_type, record.visma_ref),
        problem=problem,
        last_payload=scrub(record.payload),
        attempt_history=tuple(
            AttemptView.of(a, scrub_text(a.error) if a.error else None) for a in attempts
        ),
        timeline=tuple(TimelineEntry.of(e, scrub(e.data)) for e in timeline),
        ramp_write_back=(await write_back_status(rt, record)).scrubbed(scrub_text),
    )


async def events(
    actor: Actor, rt: Runtime, connection: Connection, *, limit: int = 100
) -> list[EventView]:
    """The connection's newest inbox events (type and ids; payloads stay out of listings)."""
    actor.require_on(Permission.VIEW, connection.id, "list events")
    return [EventView.of(e) for e in await rt.store.list_events(connection.id, limit=limit)]
