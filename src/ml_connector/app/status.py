"""``ml-connector status NAME``: a connection's health, queue and cost at a glance.

Everything comes from the store, so every process (and the CLI) reports the same figures:
records per state and per object type, the record that has waited longest, the newest error,
vendor calls per synced bill (issue #8) and the alert groups that are firing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ml_connector import metrics
from ml_connector.app.connections import connection_named
from ml_connector.app.principal import Actor, Permission
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import SyncRecord, SyncStatus

__all__ = [
    "OBJECT_TYPES",
    "FiringAlert",
    "NewestError",
    "OldestPending",
    "StatusReport",
    "connection_status",
]

# The object types status always lists (others appear when records of them exist).
OBJECT_TYPES = ("bill", "purchase_order", "payment")


@dataclass(frozen=True)
class OldestPending:
    """The record that has waited longest, and for how many seconds."""

    id: int
    object_type: str
    object_id: str
    status: str
    queued_at: str
    age_s: float

    @classmethod
    def of(cls, record: SyncRecord, now: datetime) -> OldestPending:
        return cls(
            id=record.id,
            object_type=record.object_type,
            object_id=record.object_id,
            status=str(record.status),
            queued_at=record.updated_at.isoformat(),
            age_s=round(max(0.0, (now - record.updated_at).total_seconds()), 1),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NewestError:
    """The newest record that needs attention: its error code and hint."""

    id: int
    object_type: str
    object_id: str
    code: str | None
    hint: str | None
    at: str

    @classmethod
    def of(cls, record: SyncRecord) -> NewestError:
        return cls(
            id=record.id,
            object_type=record.object_type,
            object_id=record.object_id,
            code=record.error_code,
            hint=record.hint,
            at=record.updated_at.isoformat(),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FiringAlert:
    """One alert group that is firing."""

    cause: str
    occurrences: int
    summary: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StatusReport:
    """Records per state and per object type, the oldest pending record, the newest error,
    vendor calls per synced bill and the firing alerts of one connection."""

    connection: str
    connection_status: str
    health_message: str
    counts: dict[str, int]
    by_type: dict[str, dict[str, int]]
    oldest_pending: str | None
    oldest_pending_record: OldestPending | None
    last_error: str | None
    last_error_record: NewestError | None
    bills_synced: int
    vendor_calls: dict[str, dict[str, int]]
    calls_per_bill: dict[str, float | None]
    alerts_firing: tuple[FiringAlert, ...]

    def as_dict(self) -> dict[str, Any]:
        oldest, newest = self.oldest_pending_record, self.last_error_record
        return {
            "connection": self.connection,
            "connection_status": self.connection_status,
            "health_message": self.health_message,
            "counts": self.counts,
            "by_type": self.by_type,
            "oldest_pending": self.oldest_pending,
            "oldest_pending_record": oldest.as_dict() if oldest is not None else None,
            "last_error": self.last_error,
            "last_error_record": newest.as_dict() if newest is not None else None,
            "bills_synced": self.bills_synced,
            "vendor_calls": self.vendor_calls,
            "calls_per_bill": self.calls_per_bill,
            "alerts_firing": [a.as_dict() for a in self.alerts_firing],
        }


def _calls_by_system(
    counters: dict[tuple[int, str, str], float], connection_id: int
) -> dict[str, dict[str, int]]:
    calls: dict[str, dict[str, int]] = {}
    for (cid, name, labels), value in sorted(counters.items()):
        if cid != connection_id or name != metrics.CALLS:
            continue
        parsed = metrics.parse_labels(labels)
        per = calls.setdefault(parsed["system"], {})
        per[parsed["object_type"]] = per.get(parsed["object_type"], 0) + int(value)
    return calls


async def connection_status(actor: Actor, rt: Runtime, name: str, *, now: datetime) -> StatusReport:
    """The status report of one connection (nothing secret in it)."""
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
    return StatusReport(
        connection=connection.name,
        connection_status=str(connection.status),
        health_message=connection.health_message,
        counts={str(state): n for state, n in counts.items()},
        by_type={
            kind: {str(state): n for state, n in by_type.get(kind, empty).items()} for kind in types
        },
        oldest_pending=oldest.updated_at.isoformat() if oldest else None,
        oldest_pending_record=OldestPending.of(oldest, now) if oldest else None,
        last_error=newest_error.last_error if newest_error else None,
        last_error_record=NewestError.of(newest_error) if newest_error else None,
        bills_synced=int(bills_synced),
        vendor_calls=_calls_by_system(counters, connection.id),
        calls_per_bill={
            system: round(ratio, 2) if ratio is not None else None
            for system, ratio in metrics.calls_per_bill(counters, connection.id).items()
        },
        alerts_firing=tuple(FiringAlert(g.cause, g.occurrences, g.summary) for g in firing),
    )
