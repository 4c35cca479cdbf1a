"""``ml-connector status NAME``: a connection's health, queue and cost at a glance.

Everything comes from the store, so every process (and the CLI) reports the same figures:
records per state and per object type, the record that has waited longest, the newest error,
vendor calls per synced bill (issue #8) and the alert groups that are firing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ml_connector import metrics
from ml_connector.app.connections import connection_named
from ml_connector.app.principal import Actor, Permission
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import SyncRecord, SyncStatus

__all__ = ["OBJECT_TYPES", "connection_status"]

# The object types status always lists (others appear when records of them exist).
OBJECT_TYPES = ("bill", "purchase_order", "payment")


def _calls_by_system(counters: dict[tuple[int, str, str], float], connection_id: int) -> Any:
    calls: dict[str, dict[str, int]] = {}
    for (cid, name, labels), value in sorted(counters.items()):
        if cid != connection_id or name != metrics.CALLS:
            continue
        parsed = metrics.parse_labels(labels)
        per = calls.setdefault(parsed["system"], {})
        per[parsed["object_type"]] = per.get(parsed["object_type"], 0) + int(value)
    return calls


def _oldest(oldest: SyncRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": oldest.id,
        "object_type": oldest.object_type,
        "object_id": oldest.object_id,
        "status": str(oldest.status),
        "queued_at": oldest.updated_at.isoformat(),
        "age_s": round(max(0.0, (now - oldest.updated_at).total_seconds()), 1),
    }


def _newest_error(record: SyncRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "code": record.error_code,
        "hint": record.hint,
        "at": record.updated_at.isoformat(),
    }


async def connection_status(
    actor: Actor, rt: Runtime, name: str, *, now: datetime
) -> dict[str, Any]:
    """The status report of one connection (JSON-ready; nothing secret in it)."""
    connection = await connection_named(actor, rt, name)
    actor.require_on(Permission.VIEW, connection.id, "show the status")
    found = await rt.store.record_stats(connection.id)
    empty = dict.fromkeys(SyncStatus, 0)
    counts = found[0].counts if found else empty
    by_type = found[0].by_type if found else {}
    types = [*OBJECT_TYPES, *sorted(set(by_type) - set(OBJECT_TYPES))]
    oldest = await rt.store.oldest_queued_record(connection.id)
    attention = await rt.store.list_records(
        connection.id, status=SyncStatus.NEEDS_ATTENTION, limit=1
    )
    newest_error = attention[0] if attention else None
    counters = await rt.store.counters(connection.id)
    bills_synced = counters.get(
        (connection.id, metrics.LATENCY_COUNT, metrics.labels_text(object_type="bill")), 0.0
    )
    firing = await rt.store.list_alert_groups(connection.id, firing_only=True)
    return {
        "connection": connection.name,
        "connection_status": str(connection.status),
        "health_message": connection.health_message,
        "counts": {str(state): n for state, n in counts.items()},
        "by_type": {
            kind: {str(state): n for state, n in by_type.get(kind, empty).items()} for kind in types
        },
        "oldest_pending": oldest.updated_at.isoformat() if oldest else None,
        "oldest_pending_record": _oldest(oldest, now) if oldest else None,
        "last_error": newest_error.last_error if newest_error else None,
        "last_error_record": _newest_error(newest_error) if newest_error else None,
        "bills_synced": int(bills_synced),
        "vendor_calls": _calls_by_system(counters, connection.id),
        "calls_per_bill": {
            system: round(ratio, 2) if ratio is not None else None
            for system, ratio in metrics.calls_per_bill(counters, connection.id).items()
        },
        "alerts_firing": [
            {"cause": g.cause, "occurrences": g.occurrences, "summary": g.summary} for g in firing
        ],
    }
