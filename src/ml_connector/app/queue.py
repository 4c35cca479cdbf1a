"""The exceptions queue and what people do with it: group, retry, replay, resolve, exclude.

``needs_attention`` records are grouped by cause: the error code plus the message with the ids
and numbers that differ between records folded away, so twelve bills stopped by one closed
period form one group ("12 bills: Period 11-2026 is closed in Visma."). A group's key is a hash
of that cause, stable while the cause is.

Every action needs an operator or an admin, and lands in the connection's audit trail with the
actor's identity. A **retry** puts records back in the queue (``pending``, attempts reset) for
the service's worker; a **replay** works them at once inside the request, after a **dry run**
has shown the payload diff. **Resolve** (handled by hand in Visma) and **exclude** (never to be
synced) both park the record as ``excluded`` with a required reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ml_connector.app.explain import explain
from ml_connector.app.principal import Actor, Forbidden, NotFound, Permission
from ml_connector.app.records import find_record, record_summary
from ml_connector.app.replay import replay_in
from ml_connector.app.views_records import RecordSummary
from ml_connector.audit import AuditKind
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection, SyncRecord, SyncStatus

__all__ = [
    "ExceptionGroup",
    "ReplayOutcome",
    "exception_groups",
    "exclude",
    "replay_records",
    "retry",
    "retry_group",
]

# Ids and numbers that differ between records of one cause: folded so the causes group.
_VARIABLE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f-]{27,}\b|\b[0-9a-f]{16,}\b|\b\d{5,}\b", re.I)
_MAX_RECORDS = 10_000  # one action's ceiling; a bigger group is retried in several goes
_PLURAL = {"bill": "bills", "purchase_order": "purchase orders", "payment": "payments"}


@dataclass(frozen=True)
class ExceptionGroup:
    """Records needing attention for one cause, with the cause in finance language."""

    key: str
    error_code: str
    message: str
    hint: str
    explanation: str
    fix: str
    record_ids: tuple[int, ...]
    ramp_ids: tuple[str, ...]
    object_types: tuple[str, ...]

    @property
    def title(self) -> str:
        """``"12 bills: Period 11-2026 is closed in Visma."``"""
        kinds = set(self.object_types)
        kind = kinds.pop() if len(kinds) == 1 else "record"
        if len(self.record_ids) == 1:
            noun = kind.replace("_", " ")
        else:
            noun = _PLURAL.get(kind, kind.replace("_", " ") + "s")
        return f"{len(self.record_ids)} {noun}: {self.explanation}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "error_code": self.error_code,
            "message": self.message,
            "hint": self.hint,
            "explanation": self.explanation,
            "fix": self.fix,
            "count": len(self.record_ids),
            "record_ids": list(self.record_ids),
            "ramp_ids": list(self.ramp_ids),
        }


def _group(rt: Runtime, code: str, pattern: str, said: set[str], members: list[SyncRecord]) -> Any:
    # One wording shared by every member is shown as it is; otherwise the folded pattern.
    shown = next(iter(said)) if len(said) == 1 else pattern
    members.sort(key=lambda r: r.id)
    first = members[0]
    hint = rt.redactor.scrub_text(first.hint or "")
    told = explain(code, rt.redactor.scrub_text(first.last_error or ""), hint)
    return ExceptionGroup(
        key=hashlib.sha256(f"{code}\n{pattern}".encode()).hexdigest()[:16],
        error_code=code,
        message=shown,
        hint=hint,
        explanation=told.message,
        fix=told.fix,
        record_ids=tuple(r.id for r in members),
        ramp_ids=tuple(r.object_id for r in members),
        object_types=tuple(r.object_type for r in members),
    )


async def exception_groups(
    actor: Actor, rt: Runtime, connection: Connection
) -> list[ExceptionGroup]:
    """needs_attention records grouped by error code and message pattern, biggest group first."""
    actor.require_on(Permission.VIEW, connection.id, "list exceptions")
    records = await rt.store.list_records(
        connection.id, status=SyncStatus.NEEDS_ATTENTION, limit=100_000
    )
    buckets: dict[tuple[str, str], list[SyncRecord]] = {}
    said_by_bucket: dict[tuple[str, str], set[str]] = {}
    for record in records:
        message = rt.redactor.scrub_text(record.last_error or "no error recorded")
        bucket = (record.error_code or "unknown", _VARIABLE.sub("#", message))
        buckets.setdefault(bucket, []).append(record)
        said_by_bucket.setdefault(bucket, set()).add(message)
    groups = [
        _group(rt, code, pattern, said_by_bucket[(code, pattern)], members)
        for (code, pattern), members in buckets.items()
    ]
    return sorted(groups, key=lambda g: (-len(g.record_ids), g.error_code, g.message))


def _must_act(actor: Actor, connection: Connection, what: str) -> None:
    if not actor.may(Permission.ACT):
        raise Forbidden(f"a viewer cannot {what}")
    actor.require_on(Permission.ACT, connection.id, what)


async def _records(
    rt: Runtime, connection: Connection, record_ids: Sequence[int]
) -> list[SyncRecord]:
    if not record_ids:
        raise ValueError("name at least one record")
    if len(record_ids) > _MAX_RECORDS:
        raise ValueError(f"at most {_MAX_RECORDS} records per action")
    return [await find_record(rt, connection, rid) for rid in dict.fromkeys(record_ids)]


async def retry(
    actor: Actor, rt: Runtime, connection: Connection, record_ids: Sequence[int]
) -> list[RecordSummary]:
    """Queue records again (operators and admins); the service's worker syncs them."""
    _must_act(actor, connection, "retry records")
    records = await _records(rt, connection, record_ids)
    ctx = await rt.context(connection)
    ctx.master.invalidate()  # a retry usually follows a fix in Visma: read master data afresh
    out: list[RecordSummary] = []
    for record in records:
        after = await rt.store.upsert_record(
            connection.id, record.object_type, record.object_id, reason="retry", replay=True
        )
        await rt.store.append_audit(
            connection.id,
            record.id,
            AuditKind.USER_ACTION.value,
            {**actor.identity(), "action": "retry"},
        )
        out.append(record_summary(rt, after))
    return out


async def retry_group(
    actor: Actor, rt: Runtime, connection: Connection, key: str
) -> list[RecordSummary]:
    """Queue every record of one exception group again."""
    _must_act(actor, connection, "retry records")
    for group in await exception_groups(actor, rt, connection):
        if group.key == key:
            return await retry(actor, rt, connection, group.record_ids[:_MAX_RECORDS])
    raise NotFound(f"no exception group {key!r} (it may have been retried already)")


@dataclass(frozen=True)
class ReplayOutcome:
    """One record replayed (or, dry, previewed): its states and the payload diff, redacted."""

    record_id: int
    ramp_id: str
    status_before: str
    status_after: str
    diff: str
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "ramp_id": self.ramp_id,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "diff": self.diff,
            "error": self.error,
        }


async def replay_records(
    actor: Actor,
    rt: Runtime,
    connection: Connection,
    record_ids: Sequence[int],
    *,
    dry_run: bool,
) -> list[ReplayOutcome]:
    """Replay records now (operators and admins); a dry run shows payload diffs only."""
    _must_act(actor, connection, "replay records")
    records = await _records(rt, connection, record_ids)
    if not dry_run:
        await rt.store.append_audit(
            connection.id,
            None,
            AuditKind.USER_ACTION.value,
            {**actor.identity(), "action": "replay", "record_ids": [r.id for r in records]},
        )
    items = await replay_in(rt, connection, records, dry_run=dry_run)
    return [
        ReplayOutcome(
            record_id=record.id,
            ramp_id=item.ramp_id,
            status_before=item.status_before,
            status_after=item.status_after,
            diff=rt.redactor.scrub_text(item.diff),
            error=rt.redactor.scrub_text(item.error),
        )
        for record, item in zip(records, items, strict=True)
    ]


async def exclude(
    actor: Actor,
    rt: Runtime,
    connection: Connection,
    record_ids: Sequence[int],
    reason: str,
    *,
    resolved: bool = False,
) -> list[RecordSummary]:
    """Park records as excluded with a required reason (operators and admins).

    ``resolved`` says the records were handled by hand (say, entered in Visma directly); the
    reason then starts with "Resolved:" so the list tells the two apart.
    """
    _must_act(actor, connection, "resolve or exclude records")
    text = reason.strip()
    if not text:
        raise ValueError("a reason is required")
    records = await _records(rt, connection, record_ids)
    stored = f"Resolved: {text}" if resolved else text
    out: list[RecordSummary] = []
    for record in records:
        after = await rt.store.exclude(record.id, reason=stored)
        await rt.store.append_audit(
            connection.id,
            record.id,
            AuditKind.USER_ACTION.value,
            {**actor.identity(), "action": "resolve" if resolved else "exclude", "reason": text},
        )
        out.append(record_summary(rt, after))
    return out
