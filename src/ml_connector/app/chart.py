"""Chart alignment as people drive it: push now (or preview), what is pending, the status.

The command line's ``chart push`` and ``chart status`` name the connection; the admin API and
the dashboard act on a connection already in the user's scope, and a push from them is written
to the audit trail with the user's identity. The engine (triggers, cursors, the push itself)
is ``runtime/chart.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ml_connector.app.connections import connection_named
from ml_connector.app.principal import Actor, Forbidden, Permission
from ml_connector.audit import AuditKind
from ml_connector.flows.chart_plan import ChartAction, ChartChange, ChartPushResult
from ml_connector.runtime import chart as engine
from ml_connector.runtime.chart import LAST_PUSH
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection

__all__ = [
    "ChartAction",
    "ChartPushResult",
    "ChartStatus",
    "PendingChange",
    "PushOutcome",
    "chart_pending",
    "chart_push",
    "chart_status",
    "chart_view",
    "pending_changes",
    "push",
]


async def push(
    actor: Actor, rt: Runtime, connection_name: str, *, dry_run: bool = False
) -> ChartPushResult:
    """A full push (``chart push NAME [--dry-run]``)."""
    connection = await connection_named(actor, rt, connection_name)
    if dry_run:
        actor.require_on(Permission.VIEW, connection.id, "preview a chart push")
    else:
        actor.require_on(Permission.ACT, connection.id, "push the chart")
    return await engine.push(rt, connection.name, dry_run=dry_run)


@dataclass(frozen=True)
class PendingChange:
    """One change a push would make in Ramp; ``field`` and ``name`` are left out when empty."""

    action: str
    kind: str
    visma_id: str
    field: str = ""
    name: str | None = None

    @classmethod
    def of(cls, change: ChartChange) -> PendingChange:
        shown = change.describe()
        return cls(
            action=shown["action"],
            kind=shown["kind"],
            visma_id=shown["visma_id"],
            field=shown.get("field", ""),
            name=shown.get("name"),
        )

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"action": self.action, "kind": self.kind}
        if self.field:
            shown["field"] = self.field
        shown["visma_id"] = self.visma_id
        if self.name is not None:
            shown["name"] = self.name
        return shown


@dataclass(frozen=True)
class PushOutcome:
    """What a push from the admin API or the dashboard did."""

    ok: bool
    applied: dict[str, int]  # "create gl_account" → count
    adopted: int
    failures: list[dict[str, str]]  # kind, field, visma_id, error

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "applied": self.applied,
            "adopted": self.adopted,
            "failures": self.failures,
        }


async def pending_changes(actor: Actor, rt: Runtime, connection_name: str) -> list[PendingChange]:
    """What a full push would change in Ramp now (a dry run: reads both sides, writes nothing)."""
    result = await push(actor, rt, connection_name, dry_run=True)
    changes = [PendingChange.of(change) for change in result.changes]
    if result.connection_created:
        changes.insert(0, PendingChange("create", "accounting connection", ""))
    return changes


async def chart_view(actor: Actor, rt: Runtime, connection: Connection) -> ChartStatus:
    """The status as the admin API and the dashboard show it."""
    return await chart_status(actor, rt, connection.name)


async def chart_pending(actor: Actor, rt: Runtime, connection: Connection) -> list[PendingChange]:
    """What a push would change in Ramp now (reads both vendors, writes nothing)."""
    return await pending_changes(actor, rt, connection.name)


async def chart_push(actor: Actor, rt: Runtime, connection: Connection) -> PushOutcome:
    """A full push now (operators and admins), audited with the user's identity."""
    if not actor.may(Permission.ACT):
        raise Forbidden("a viewer cannot change mappings or push the chart")
    actor.require_on(Permission.ACT, connection.id, "push the chart")
    await rt.store.append_audit(
        connection.id,
        None,
        AuditKind.USER_ACTION.value,
        {**actor.identity(), "action": "chart push"},
    )
    result = await push(actor, rt, connection.name)
    return PushOutcome(
        ok=not result.failures,
        applied=dict(result.applied),
        adopted=result.adopted,
        failures=[failure.describe() for failure in result.failures],
    )


@dataclass(frozen=True)
class ChartStatus:
    """What ``chart status NAME`` shows."""

    counts: dict[str, dict[str, int]]  # kind → {active, removed, failed}
    failures: list[dict[str, str]]
    cursors: dict[str, str]
    last_push: dict[str, Any] | None = None  # when, full or delta, ok, applied, failures

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "failures": self.failures,
            "cursors": self.cursors,
            "last_push": self.last_push,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


async def chart_status(actor: Actor, runtime: Runtime, connection_name: str) -> ChartStatus:
    """Counts per kind from the chart map, the refused items, and where polling stands."""
    connection = await connection_named(actor, runtime, connection_name)
    actor.require_on(Permission.VIEW, connection.id, "show the chart")
    counts: dict[str, dict[str, int]] = {}
    failures: list[dict[str, str]] = []
    for entry in await runtime.store.list_chart_entries(connection.id):
        bucket = counts.setdefault(entry.kind, {"active": 0, "removed": 0, "failed": 0})
        if entry.error and entry.ramp_id is None:
            bucket["failed"] += 1
        elif entry.active:
            bucket["active"] += 1
        else:
            bucket["removed"] += 1
        if entry.error:
            failures.append(
                {
                    "kind": entry.kind,
                    "field": entry.scope,
                    "visma_id": entry.visma_id,
                    "error": entry.error,
                }
            )
    stored = await runtime.store.list_cursors(connection.id)
    cursors = {
        name: value
        for name, value in stored.items()
        if name.startswith("chart:") and name != LAST_PUSH
    }
    last_push = json.loads(stored[LAST_PUSH]) if stored.get(LAST_PUSH) else None
    return ChartStatus(counts, failures, cursors, last_push)
