"""Operator actions on sync records: list, explain, replay, and the audit trail.

Replay puts records back in the queue (``pending``, attempt count reset) and works them at
once; a dry run sends nothing and shows, per record, the difference between the payload the
flow would send now and the payload last sent.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.csvcells import write_rows
from ml_connector.errors import ConfigurationError, NeedsAttention
from ml_connector.flows.bills import plan_bill
from ml_connector.flows.writeback import BILL_PAYMENT_SYNC, BILL_SYNC
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.wiring import Runtime
from ml_connector.runtime.worker import Worker, dispatcher
from ml_connector.store import OutboxKind, OutboxState, SyncRecord, SyncStatus, WriteBackEntry

__all__ = [
    "ReplayItem",
    "audit_rows",
    "describe_record",
    "export_audit",
    "record_to_dict",
    "replay",
    "select_records",
    "write_back_status",
]


def record_to_dict(record: SyncRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "object_type": record.object_type,
        "ramp_id": record.object_id,
        "status": str(record.status),
        "attempts": record.attempts,
        "visma_ref": record.visma_ref,
        "error": record.last_error,
        "hint": record.hint,
        "error_code": record.error_code,
        "next_at": record.next_at.isoformat() if record.next_at else None,
        "updated_at": record.updated_at.isoformat(),
    }


async def select_records(
    rt: Runtime,
    connection_id: int,
    *,
    ramp_ids: Sequence[str] = (),
    status: SyncStatus | None = None,
    failed_since: datetime | None = None,
) -> list[SyncRecord]:
    """The records a replay targets: by Ramp id, by status, or everything failed since T."""
    if ramp_ids:
        found = [await rt.store.find_record(connection_id, "bill", rid) for rid in ramp_ids]
        missing = [rid for rid, rec in zip(ramp_ids, found, strict=True) if rec is None]
        if missing:
            raise ConfigurationError(f"no record for: {', '.join(missing)}")
        return [rec for rec in found if rec is not None]
    if failed_since is not None:
        failed = (SyncStatus.NEEDS_ATTENTION, SyncStatus.RETRY_WAIT)
        return await rt.store.list_records(
            connection_id, status=failed, updated_since=failed_since, limit=100_000
        )
    if status is not None:
        return await rt.store.list_records(connection_id, status=status, limit=100_000)
    raise ConfigurationError("say which records: Ramp ids, --status, or --failed-since")


_WRITE_BACK_TYPES = {"bill": BILL_SYNC, "payment": BILL_PAYMENT_SYNC}
_TOLD = {
    OutboxState.SENT: "told",
    OutboxState.PENDING: "waiting",
    OutboxState.REFUSED: "refused",
}


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _outbox_row(row: WriteBackEntry) -> dict[str, Any]:
    return {
        "kind": str(row.kind),
        "state": str(row.state),
        "sync_id": row.sync_id,
        "queued_at": _stamp(row.created_at),
        "sent_at": _stamp(row.sent_at),
        "attempts": row.attempts,
        "error": row.last_error,
        "message": row.message,
    }


async def write_back_status(rt: Runtime, record: SyncRecord) -> dict[str, Any]:
    """Whether Ramp was told about the record: when, under which sync id, or what it waits on.

    ``status``: ``told`` (``sync_id``, ``told_at``), ``waiting`` (queued, ``attempts`` so far,
    ``last_error``, ``next_try_at``), ``refused`` (Ramp's ``error``), ``not queued`` (nothing
    to tell yet), or ``not applicable`` (an object type Ramp takes no sync for). ``history``
    lists the record's write-backs and failure reports, newest first.
    """
    sync_type = _WRITE_BACK_TYPES.get(record.object_type)
    if sync_type is None:
        return {"status": "not applicable"}
    rows = [
        row
        for row in await rt.store.list_writebacks(
            record.connection_id, object_id=record.object_id, limit=50
        )
        if row.sync_type == sync_type
    ]
    out: dict[str, Any] = {"status": "not queued", "sync_type": sync_type}
    current = next(
        (r for r in rows if r.kind is OutboxKind.SUCCESS and r.state in _TOLD),
        None,
    )
    if current is not None:
        out["status"] = _TOLD[current.state]
        out["queued_at"] = _stamp(current.created_at)
        if current.state is OutboxState.SENT:
            out["sync_id"] = current.sync_id
            out["told_at"] = _stamp(current.sent_at)
        elif current.state is OutboxState.PENDING:
            out["attempts"] = current.attempts
            out["next_try_at"] = _stamp(current.next_at)
            out["last_error"] = current.last_error
        else:
            out["error"] = current.last_error
    out["history"] = [_outbox_row(row) for row in rows]
    return out


async def describe_record(rt: Runtime, connection_name: str, ramp_id: str) -> dict[str, Any]:
    """One record with its attempts, its audit timeline and whether Ramp was told."""
    connection = await rt.store.get_connection(connection_name)
    record = await rt.store.find_record(connection.id, "bill", ramp_id)
    if record is None:
        raise ConfigurationError(f"no record for Ramp object {ramp_id}")
    attempts = await rt.store.list_attempts(record.id)
    timeline = await rt.store.list_audit(connection.id, record_id=record.id)
    return {
        **record_to_dict(record),
        "last_payload": record.payload,
        "attempt_history": [
            {"n": a.number, "outcome": a.outcome, "status": str(a.status), "error": a.error}
            for a in attempts
        ],
        "timeline": [
            {"seq": e.seq, "at": e.at.isoformat(), "kind": e.kind, "data": e.data} for e in timeline
        ],
        "ramp_write_back": await write_back_status(rt, record),
    }


@dataclass(frozen=True)
class ReplayItem:
    ramp_id: str
    status_before: str
    status_after: str
    diff: str = ""
    error: str = ""


def _diff(before: Any, after: Any) -> str:
    old = json.dumps(before, indent=2, sort_keys=True, default=str).splitlines()
    new = json.dumps(after, indent=2, sort_keys=True, default=str).splitlines()
    return "\n".join(difflib.unified_diff(old, new, "last sent", "would send now", lineterm=""))


async def replay(
    rt: Runtime, connection_name: str, records: Sequence[SyncRecord], *, dry_run: bool
) -> list[ReplayItem]:
    """Dry run: show payload diffs and change nothing. Otherwise requeue and work them now."""
    connection = await rt.store.get_connection(connection_name)
    ctx = await rt.context(connection)
    ctx.master.invalidate()  # replays usually follow a fix in Visma: read master data afresh
    items: list[ReplayItem] = []
    if dry_run:
        for record in records:
            if record.object_type != "bill":
                items.append(
                    ReplayItem(
                        record.object_id,
                        str(record.status),
                        "unchanged",
                        error=f"a dry run shows bill payloads only, not {record.object_type}s",
                    )
                )
                continue
            try:
                bill = await ctx.ramp.get_bill(record.object_id)
                payload = await plan_bill(ctx, bill)
                diff = _diff(record.payload, payload) or "(no change)"
                items.append(ReplayItem(record.object_id, str(record.status), "unchanged", diff))
            except NeedsAttention as exc:
                items.append(
                    ReplayItem(record.object_id, str(record.status), "unchanged", error=exc.message)
                )
        return items
    for record in records:
        await rt.store.upsert_record(
            connection.id, record.object_type, record.object_id, reason="replay", replay=True
        )
        await rt.store.append_audit(
            connection.id, record.id, AuditKind.USER_ACTION.value, {"action": "replay"}
        )
    worker = Worker(
        rt.store,
        {connection.id: ctx},
        owner=rt.owner,
        # A replay is asked for: it runs whatever the connection's settings turn on.
        handler=dispatcher(forced=frozenset(record.object_type for record in records)),
        policy=RetryPolicy(max_attempts=rt.settings.max_attempts),
    )
    await worker.run_until_idle(connection_id=connection.id)
    for record in records:
        after = await rt.store.get_record(record.id)
        items.append(
            ReplayItem(
                record.object_id,
                str(record.status),
                str(after.status),
                error=after.last_error or "",
            )
        )
    return items


async def audit_rows(rt: Runtime, connection_name: str) -> list[dict[str, Any]]:
    connection = await rt.store.get_connection(connection_name)
    return [
        {
            "seq": e.seq,
            "at": e.at.isoformat(),
            "record_id": e.record_id,
            "kind": e.kind,
            "data": e.data,
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }
        for e in await rt.store.list_audit(connection.id)
    ]


def export_audit(rows: list[dict[str, Any]], fmt: str) -> str:
    """The timeline as JSON lines or CSV (``data`` as a JSON column; formula-like cells
    escaped as :mod:`ml_connector.csvcells` describes)."""
    if fmt == "jsonl":
        return "".join(json.dumps(row, sort_keys=True, default=str) + "\n" for row in rows)
    if fmt == "csv":
        columns = ("seq", "at", "record_id", "kind", "data", "prev_hash", "hash")
        cells = (
            [
                _csv_text(json.dumps(row["data"], sort_keys=True) if name == "data" else row[name])
                for name in columns
            ]
            for row in rows
        )
        return write_rows(columns, cells, line_end="\r\n")
    raise ConfigurationError(f"unknown format {fmt!r}: use jsonl or csv")


def _csv_text(value: Any) -> str:
    return "" if value is None else str(value)
