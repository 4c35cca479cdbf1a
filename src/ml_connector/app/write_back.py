"""Whether Ramp was told about a record: the write-back (accounting sync) outbox, per record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, TypeVar

from ml_connector.flows.writeback import BILL_PAYMENT_SYNC, BILL_SYNC
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import OutboxKind, OutboxState, SyncRecord, WriteBackEntry

__all__ = [
    "Refused",
    "Told",
    "Waiting",
    "WriteBackRow",
    "WriteBackStatus",
    "scrub_texts",
    "write_back_status",
]

_WRITE_BACK_TYPES = {"bill": BILL_SYNC, "payment": BILL_PAYMENT_SYNC}
_TOLD = {
    OutboxState.SENT: "told",
    OutboxState.PENDING: "waiting",
    OutboxState.REFUSED: "refused",
}

_View = TypeVar("_View")


def scrub_texts(view: _View, scrub_text: Callable[[str], str]) -> _View:
    """A copy of the (frozen dataclass) view with every text field passed through scrub_text."""
    changes = {
        f.name: scrub_text(value)
        for f in fields(view)  # type: ignore[arg-type]
        if isinstance(value := getattr(view, f.name), str)
    }
    return replace(view, **changes)  # type: ignore[type-var]


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class WriteBackRow:
    """One write-back or failure report in the record's outbox history."""

    kind: str
    state: str
    sync_id: str | None
    queued_at: str | None
    sent_at: str | None
    attempts: int
    error: str | None
    message: str | None

    @classmethod
    def of(cls, row: WriteBackEntry) -> WriteBackRow:
        return cls(
            kind=str(row.kind),
            state=str(row.state),
            sync_id=row.sync_id,
            queued_at=_stamp(row.created_at),
            sent_at=_stamp(row.sent_at),
            attempts=row.attempts,
            error=row.last_error,
            message=row.message,
        )

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Told:
    """Ramp took the sync: under which id and when."""

    queued_at: str | None
    sync_id: str | None
    told_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"queued_at": self.queued_at, "sync_id": self.sync_id, "told_at": self.told_at}


@dataclass(frozen=True)
class Waiting:
    """The sync is queued: tries so far, the next try and the last error."""

    queued_at: str | None
    attempts: int
    next_try_at: str | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued_at": self.queued_at,
            "attempts": self.attempts,
            "next_try_at": self.next_try_at,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class Refused:
    """Ramp refused the sync, with its error."""

    queued_at: str | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"queued_at": self.queued_at, "error": self.error}


@dataclass(frozen=True)
class WriteBackStatus:
    """Whether Ramp was told; ``sync_type`` None means not applicable (no history then)."""

    status: str
    sync_type: str | None = None
    current: Told | Waiting | Refused | None = None
    history: tuple[WriteBackRow, ...] = ()

    def scrubbed(self, scrub_text: Callable[[str], str]) -> WriteBackStatus:
        """The same status with every text passed through the redactor."""
        current = scrub_texts(self.current, scrub_text) if self.current is not None else None
        return replace(
            scrub_texts(self, scrub_text),
            current=current,
            history=tuple(scrub_texts(row, scrub_text) for row in self.history),
        )

    def as_dict(self) -> dict[str, Any]:
        if self.sync_type is None:
            return {"status": self.status}
        out: dict[str, Any] = {"status": self.status, "sync_type": self.sync_type}
        if self.current is not None:
            out.update(self.current.as_dict())
        out["history"] = [row.as_dict() for row in self.history]
        return out


def _current(row: WriteBackEntry) -> Told | Waiting | Refused:
    queued_at = _stamp(row.created_at)
    if row.state is OutboxState.SENT:
        return Told(queued_at, row.sync_id, _stamp(row.sent_at))
    if row.state is OutboxState.PENDING:
        return Waiting(queued_at, row.attempts, _stamp(row.next_at), row.last_error)
    return Refused(queued_at, row.last_error)


async def write_back_status(rt: Runtime, record: SyncRecord) -> WriteBackStatus:
    """Whether Ramp was told about the record: when, under which sync id, or what it waits on.

    ``status``: ``told`` (``sync_id``, ``told_at``), ``waiting`` (queued, ``attempts`` so far,
    ``last_error``, ``next_try_at``), ``refused`` (Ramp's ``error``), ``not queued`` (nothing
    to tell yet), or ``not applicable`` (an object type Ramp takes no sync for). ``history``
    lists the record's write-backs and failure reports, newest first.
    """
    sync_type = _WRITE_BACK_TYPES.get(record.object_type)
    if sync_type is None:
        return WriteBackStatus("not applicable")
    rows = [
        row
        for row in await rt.store.list_writebacks(
            record.connection_id, object_id=record.object_id, limit=50
        )
        if row.sync_type == sync_type
    ]
    history = tuple(WriteBackRow.of(row) for row in rows)
    current = next(
        (r for r in rows if r.kind is OutboxKind.SUCCESS and r.state in _TOLD),
        None,
    )
    if current is None:
        return WriteBackStatus("not queued", sync_type, None, history)
    return WriteBackStatus(_TOLD[current.state], sync_type, _current(current), history)
