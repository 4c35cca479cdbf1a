"""Work an operator starts by hand: one sync pass now, and a backfill since a date.

Both drive the engine (``runtime/sync.py``, ``runtime/backfill.py``) inside the call and report
a summary; the connection is returned as the pass left it (a pass may pause it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from ml_connector.app.connections import connection_named
from ml_connector.app.principal import Actor, Permission
from ml_connector.runtime.backfill import BackfillSummary
from ml_connector.runtime.backfill import backfill as run_backfill
from ml_connector.runtime.sync import parse_only, sync_once
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection, ConnectionStatus

__all__ = ["BackfillSummary", "ConnectionStatus", "backfill", "sync_now"]


async def sync_now(
    actor: Actor,
    rt: Runtime,
    name: str,
    *,
    only: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], Connection]:
    """One polling pass now; its summary, and the connection as the pass left it.

    A bad ``only`` is refused before the connection is looked up, so the message names the
    parts that exist whatever the name."""
    only = parse_only(only)
    connection = await connection_named(actor, rt, name)
    actor.require_on(Permission.ACT, connection.id, "sync a connection")
    summary = await sync_once(rt, name, only=only, progress=progress)
    return summary.as_dict(), await connection_named(actor, rt, name)


async def backfill(
    actor: Actor,
    rt: Runtime,
    name: str,
    since: date | datetime,
    *,
    on_listed: Callable[[int, int], None] | None = None,
    on_worked: Callable[[int, int], None] | None = None,
) -> BackfillSummary:
    """Queue and sync the ready bills created since ``since``."""
    connection = await connection_named(actor, rt, name)
    actor.require_on(Permission.ACT, connection.id, "backfill a connection")
    return await run_backfill(rt, name, since, on_listed=on_listed, on_worked=on_worked)
