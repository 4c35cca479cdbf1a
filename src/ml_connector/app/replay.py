"""Replay: put records back in the queue and work them at once, or preview that (dry run).

Replay puts records back in the queue (``pending``, attempt count reset) and works them
inside the call; a dry run sends nothing and shows, per record, the difference between the
payload the flow would send now and the payload last sent. Each replayed record's timeline
gets a ``user_action`` entry ``{"action": "replay"}``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ml_connector.app.connections import connection_named
from ml_connector.app.principal import Actor, Permission
from ml_connector.audit import AuditKind
from ml_connector.errors import ConfigurationError, NeedsAttention
from ml_connector.flows.bills import plan_bill
from ml_connector.flows.context import FlowContext
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.wiring import Runtime
from ml_connector.runtime.worker import Worker, dispatcher
from ml_connector.store import Connection, SyncRecord, SyncStatus

__all__ = ["ReplayItem", "SyncRecord", "replay", "replay_in", "select_records"]


async def select_records(
    actor: Actor,
    rt: Runtime,
    connection_id: int,
    *,
    ramp_ids: Sequence[str] = (),
    status: SyncStatus | None = None,
    failed_since: datetime | None = None,
) -> list[SyncRecord]:
    """The records a replay targets: by Ramp id, by status, or everything failed since T."""
    actor.require_on(Permission.VIEW, connection_id, "choose records")
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


async def _preview(ctx: FlowContext, record: SyncRecord) -> ReplayItem:
    if record.object_type != "bill":
        return ReplayItem(
            record.object_id,
            str(record.status),
            "unchanged",
            error=f"a dry run shows bill payloads only, not {record.object_type}s",
        )
    try:
        bill = await ctx.ramp.get_bill(record.object_id)
        payload = await plan_bill(ctx, bill)
    except NeedsAttention as exc:
        return ReplayItem(record.object_id, str(record.status), "unchanged", error=exc.message)
    diff = _diff(record.payload, payload) or "(no change)"
    return ReplayItem(record.object_id, str(record.status), "unchanged", diff)


async def replay_in(
    rt: Runtime, connection: Connection, records: Sequence[SyncRecord], *, dry_run: bool
) -> list[ReplayItem]:
    """Dry run: show payload diffs and change nothing. Otherwise requeue and work them now.

    The caller has checked the actor's permission."""
    ctx = await rt.context(connection)
    ctx.master.invalidate()  # replays usually follow a fix in Visma: read master data afresh
    if dry_run:
        return [await _preview(ctx, record) for record in records]
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
    items = []
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


async def replay(
    actor: Actor,
    rt: Runtime,
    connection_name: str,
    records: Sequence[SyncRecord],
    *,
    dry_run: bool,
) -> list[ReplayItem]:
    """The command line's replay of chosen records (see :func:`select_records`)."""
    connection = await connection_named(actor, rt, connection_name)
    if dry_run:
        actor.require_on(Permission.VIEW, connection.id, "preview a replay")
    else:
        actor.require_on(Permission.ACT, connection.id, "replay records")
    return await replay_in(rt, connection, records, dry_run=dry_run)
