"""The typed views of sync records: a stored row, its summary, its full detail, inbox events.

Each view holds what the API, the dashboard and the command line show, times already as ISO
text; ``as_dict()`` gives the exact JSON they emit (same keys, same order).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ml_connector.app.explain import Explanation
from ml_connector.app.write_back import WriteBackStatus
from ml_connector.store import Attempt, AuditEntry, InboxEvent, SyncRecord

__all__ = [
    "AttemptView",
    "EventView",
    "RecordDescription",
    "RecordDetail",
    "RecordRow",
    "RecordSummary",
    "TimelineEntry",
]


@dataclass(frozen=True)
class RecordRow:
    """A record as stored (the command line's ``records list``)."""

    id: int
    object_type: str
    ramp_id: str
    status: str
    attempts: int
    visma_ref: str | None
    error: str | None
    hint: str | None
    error_code: str | None
    next_at: str | None
    updated_at: str

    @classmethod
    def of(cls, record: SyncRecord) -> RecordRow:
        return cls(
            id=record.id,
            object_type=record.object_type,
            ramp_id=record.object_id,
            status=str(record.status),
            attempts=record.attempts,
            visma_ref=record.visma_ref,
            error=record.last_error,
            hint=record.hint,
            error_code=record.error_code,
            next_at=record.next_at.isoformat() if record.next_at else None,
            updated_at=record.updated_at.isoformat(),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RecordSummary(RecordRow):
    """A record as the dashboard and the API list it: texts redacted, invoice and supplier."""

    created_at: str
    invoice_number: str | None
    supplier: str | None


@dataclass(frozen=True)
class AttemptView:
    """One try at syncing the record."""

    n: int
    outcome: str
    status: str
    error: str | None

    @classmethod
    def of(cls, attempt: Attempt, error: str | None) -> AttemptView:
        return cls(attempt.number, attempt.outcome, str(attempt.status), error)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TimelineEntry:
    """One audit entry of the record's timeline."""

    seq: int
    at: str
    kind: str
    data: Any

    @classmethod
    def of(cls, entry: AuditEntry, data: Any) -> TimelineEntry:
        return cls(entry.seq, entry.at.isoformat(), entry.kind, data)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "kind": self.kind, "data": self.data}


@dataclass(frozen=True)
class RecordDescription:
    """One record as the command line's ``records show`` prints it (stored values as they are)."""

    row: RecordRow
    last_payload: Any
    attempt_history: tuple[AttemptView, ...]
    timeline: tuple[TimelineEntry, ...]
    ramp_write_back: WriteBackStatus

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.row.as_dict(),
            "last_payload": self.last_payload,
            "attempt_history": [a.as_dict() for a in self.attempt_history],
            "timeline": [e.as_dict() for e in self.timeline],
            "ramp_write_back": self.ramp_write_back.as_dict(),
        }


@dataclass(frozen=True)
class RecordDetail:
    """One record in full for the dashboard and the API (every text redacted)."""

    summary: RecordSummary
    connection: str
    ramp_url: str
    visma_url: str | None
    problem: Explanation | None
    last_payload: Any
    attempt_history: tuple[AttemptView, ...]
    timeline: tuple[TimelineEntry, ...]
    ramp_write_back: WriteBackStatus

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.summary.as_dict(),
            "connection": self.connection,
            "ramp_url": self.ramp_url,
            "visma_url": self.visma_url,
            "problem": self.problem.as_dict() if self.problem is not None else None,
            "last_payload": self.last_payload,
            "attempt_history": [a.as_dict() for a in self.attempt_history],
            "timeline": [e.as_dict() for e in self.timeline],
            "ramp_write_back": self.ramp_write_back.as_dict(),
        }


@dataclass(frozen=True)
class EventView:
    """One inbox event as listed: type and ids, no payload."""

    id: int
    source: str
    event_id: str
    type: str
    object_id: str | None
    status: str
    received_at: str

    @classmethod
    def of(cls, event: InboxEvent) -> EventView:
        return cls(
            id=event.id,
            source=str(event.source),
            event_id=event.event_id,
            type=event.type,
            object_id=event.object_id,
            status=str(event.status),
            received_at=event.received_at.isoformat(),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
