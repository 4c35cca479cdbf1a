"""Chart alignment orchestration: when a push runs, with which read, and where polling stands.

Four triggers, one code path (``flows.chart.push_chart``):

- ``push`` — a full push (``ml-connector chart push NAME``, or the daily schedule): reads all
  of Visma, so it also retires what Visma no longer lists.
- ``poll`` — a delta push: accounts, projects and suppliers are read with
  ``lastModifiedDateTime >= cursor - overlap`` (segments and VAT in full).
- ``on_visma_change`` — a Visma change event (Account, Segment, Dimension, Project, Supplier):
  a delta push now; a ``Deleted`` event gets a full push, since a delta cannot see deletions.
- ``chart_tick`` — the schedule hook: pushes when the webhook inbox holds chart events not yet
  handled, when a Visma notification asked for a poll since the last push (the hint cursor,
  stamped by every hint the receivers get, a repeated one included), when the poll interval has
  passed, or when the full-push interval has.

Why no change is missed. A source's cursor moves to the newest ``lastModifiedDateTime`` that
Visma itself reported in a read (Visma's clock, never ours), and only after the push landed
without a refused item in that source. A change that lands while a push runs is newer than
everything that push read, so the next delta read (``>=``, minus the overlap) returns it. A
stale cursor only means re-reading; the diff against the chart map makes that a no-op.

Pushes of one connection are serialised with a store lock, so a webhook and a poll never push
the same change twice at once. Every push that writes records its outcome (when, full or delta,
what it applied, what Ramp refused, or the error that stopped it) under the cursor
``chart:last_push``; ``app/chart.py`` shows it, and runs a dry push to show what the next push
would do.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ml_connector.errors import ConnectorError, RetriableVendorError
from ml_connector.flows.chart import (
    SOURCES,
    ChartConfig,
    ChartKind,
    ChartPushResult,
    push_chart,
)
from ml_connector.flows.context import FlowContext, Timeline, current_timeline
from ml_connector.runtime.bindings import bind_chart_fields
from ml_connector.runtime.wiring import Runtime, coding_rules
from ml_connector.store import Connection, EventSource

__all__ = [
    "CHART_ENTITIES",
    "HINT_CURSOR",
    "LAST_PUSH",
    "chart_tick",
    "is_chart_event",
    "on_visma_change",
    "poll",
    "push",
]

CHART_ENTITIES = frozenset({"account", "segment", "dimension", "project", "supplier", "vat"})
_CURSOR = "chart:{}"  # one per delta source: chart:accounts, chart:projects, chart:suppliers
_INBOX_CURSOR = "chart:inbox"  # the last inbox event id a push has covered
# Stamped (with the time) by the receivers for every Visma hint to poll, stored or repeated;
# the push that follows records the stamp it saw, so a hint that lands meanwhile is not lost.
HINT_CURSOR = "chart:hint"
_HINT_HANDLED = "chart:hint_handled"
_LAST_POLL = "chart:last_poll"
_LAST_FULL = "chart:last_full"
LAST_PUSH = "chart:last_push"  # JSON: when, full or delta, and how the newest push ended
_LOCK_TTL_S = 900.0
DEFAULT_POLL_INTERVAL_S = 900.0
DEFAULT_FULL_INTERVAL_S = 86_400.0


def _entity(event_type: str) -> tuple[str, str]:
    """(entity, action) of ``Account.Updated``, ``Segment ValueChanged`` or ``account_changed``."""
    text = event_type.strip()
    for separator in (".", " ", "_"):
        if separator in text:
            entity, _, action = text.partition(separator)
            return entity.lower(), action.lower()
    return text.lower(), ""


def is_chart_event(event_type: str) -> bool:
    """True for the Visma events that can change what Ramp's chart should hold."""
    return _entity(event_type)[0] in CHART_ENTITIES


def _config(ctx: FlowContext, connection: Connection) -> ChartConfig:
    """The push's own field ids: from the settings, never from the customer's field bindings
    (a field bound from Ramp's history is the customer's, not the push's to fill)."""
    return ChartConfig.from_settings(connection.settings, coding_rules(connection.settings))


async def _cursors(runtime: Runtime, connection_id: int) -> dict[str, datetime]:
    cursors = await runtime.store.list_cursors(connection_id)
    found: dict[str, datetime] = {}
    for source in SOURCES:
        raw = cursors.get(_CURSOR.format(source))
        if raw:
            found[source] = datetime.fromisoformat(raw)
    return found


async def _run(
    runtime: Runtime, connection: Connection, *, delta: bool, dry_run: bool = False
) -> ChartPushResult:
    ctx = await runtime.context(connection)
    lock = f"chart:{connection.id}"
    if not dry_run and not await runtime.store.try_lock(
        lock, runtime.owner, ttl_s=_LOCK_TTL_S, now=datetime.now(UTC)
    ):
        raise RetriableVendorError("ml-connector", "another chart push of this connection runs")
    timeline = Timeline(connection.id, None, ctx.redactor, ctx.clock)
    token = current_timeline.set(timeline)
    try:
        since = await _cursors(runtime, connection.id) if delta else None
        try:
            result, chart = await push_chart(
                ctx, _config(ctx, connection), since=since or None, dry_run=dry_run
            )
        except ConnectorError as exc:
            if not dry_run:
                error = ctx.redactor.scrub_text(str(exc))
                await _note_push(runtime, connection.id, delta, {"ok": False, "error": error})
            raise
        if not dry_run:
            summary = result.summary()
            outcome = {
                "ok": not result.failures,
                "applied": summary["applied"],
                "adopted": summary["adopted"],
                "failures": summary["failures"][:50],
                "failure_count": len(summary["failures"]),
            }
            await _note_push(runtime, connection.id, delta, outcome)
            failed = {f.kind for f in result.failures}
            blocked = {
                "accounts": ChartKind.GL_ACCOUNT.value in failed,
                "projects": ChartKind.OPTION.value in failed,
                "suppliers": ChartKind.VENDOR.value in failed,
            }
            for source, mark in chart.high_water.items():
                if not blocked[source]:
                    await runtime.store.set_cursor(
                        connection.id, _CURSOR.format(source), mark.isoformat()
                    )
            await bind_chart_fields(runtime, connection)  # the push's fields bind themselves
            stamp = datetime.now(UTC).isoformat()
            await runtime.store.set_cursor(connection.id, _LAST_POLL, stamp)
            if not delta:
                await runtime.store.set_cursor(connection.id, _LAST_FULL, stamp)
        return result
    finally:
        current_timeline.reset(token)
        await timeline.flush(runtime.store)
        if not dry_run:
            await runtime.store.release_lock(lock, runtime.owner)


async def _note_push(
    runtime: Runtime, connection_id: int, delta: bool, outcome: dict[str, Any]
) -> None:
    record = {"at": datetime.now(UTC).isoformat(), "kind": "delta" if delta else "full"}
    await runtime.store.set_cursor(
        connection_id, LAST_PUSH, json.dumps({**record, **outcome}, sort_keys=True)
    )


async def push(runtime: Runtime, connection_name: str, *, dry_run: bool = False) -> ChartPushResult:
    """A full push (``chart push NAME [--dry-run]``)."""
    connection = await runtime.store.get_connection(connection_name)
    return await _run(runtime, connection, delta=False, dry_run=dry_run)


async def poll(runtime: Runtime, connection: Connection) -> ChartPushResult:
    """A delta push from the stored cursors (a full read for sources without a cursor)."""
    return await _run(runtime, connection, delta=True)


async def on_visma_change(
    runtime: Runtime, connection: Connection, event_type: str
) -> ChartPushResult | None:
    """Handle one Visma change event now; None when the event does not touch the chart."""
    entity, action = _entity(event_type)
    if entity not in CHART_ENTITIES:
        return None
    return await _run(runtime, connection, delta=action != "deleted")


async def _new_chart_events(runtime: Runtime, connection_id: int) -> tuple[int, bool, bool]:
    """(newest inbox id, any chart event after the cursor, any of them a deletion)."""
    after = int(await runtime.store.get_cursor(connection_id, _INBOX_CURSOR) or 0)
    newest, seen, deleted = after, False, False
    while True:
        events = await runtime.store.list_events(
            connection_id=connection_id,
            source=EventSource.VISMA,
            after_id=newest,
            limit=200,
            oldest_first=True,
        )
        for event in events:
            newest = max(newest, event.id)
            entity, action = _entity(event.type)
            if entity in CHART_ENTITIES:
                seen = True
                deleted = deleted or action == "deleted"
        if len(events) < 200:
            return newest, seen, deleted


def _interval(value: float | None, default: float) -> float:
    return default if value is None else float(value)


async def chart_tick(
    runtime: Runtime, connection: Connection, *, now: datetime | None = None
) -> ChartPushResult | None:
    """The schedule hook: push if Visma events wait in the inbox or an interval has passed.

    Returns the push's result, or None when nothing was due. The inbox cursor moves only after
    a push that covered the events succeeded, so a failed push leaves them for the next tick.
    """
    now = now or datetime.now(UTC)
    if connection.settings.chart.enabled is False:
        return None
    newest, waiting, deleted = await _new_chart_events(runtime, connection.id)
    cursors = await runtime.store.list_cursors(connection.id)
    last_full = cursors.get(_LAST_FULL)
    last_poll = cursors.get(_LAST_POLL)
    full_every = _interval(connection.settings.chart.full_interval_s, DEFAULT_FULL_INTERVAL_S)
    poll_every = _interval(connection.settings.chart.poll_interval_s, DEFAULT_POLL_INTERVAL_S)
    hint = cursors.get(HINT_CURSOR)
    hinted = hint is not None and hint != cursors.get(_HINT_HANDLED)
    full_due = deleted or last_full is None or _older(last_full, now, full_every)
    if full_due:
        result = await _run(runtime, connection, delta=False)
    elif waiting or hinted or last_poll is None or _older(last_poll, now, poll_every):
        result = await _run(runtime, connection, delta=True)
    else:
        return None
    if newest:
        await runtime.store.set_cursor(connection.id, _INBOX_CURSOR, str(newest))
    if hint is not None:
        await runtime.store.set_cursor(connection.id, _HINT_HANDLED, hint)
    return result


def _older(stamp: str, now: datetime, seconds: float) -> bool:
    return now - datetime.fromisoformat(stamp) >= timedelta(seconds=seconds)
