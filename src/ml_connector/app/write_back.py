"""Whether Ramp was told about a record: the write-back (accounting sync) outbox, per record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ml_connector.flows.writeback import BILL_PAYMENT_SYNC, BILL_SYNC
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import OutboxKind, OutboxState, SyncRecord, WriteBackEntry

__all__ = ["write_back_status"]

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
