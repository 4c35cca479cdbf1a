"""F4 chart alignment, Visma → Ramp: Ramp users can only code to values Visma accepts.

What is pushed is read by ``flows.chart_read`` (GL accounts, one field per SUBACCOUNT segment,
projects, project tasks, VAT codes, accounting vendors; each part can be switched off in the
connection's ``chart`` settings).

The push is a diff against the durable chart map (``store.chart``): only new values are
posted, changed ones PATCHed, and values that became inactive or vanished are soft-deleted
(DELETE); a value that comes back is reactivated. Creates go in batches of at most 500, which
Ramp takes all or nothing: a refused batch is bisected until the refused item is alone, so
it is reported and every other item lands. Before creating, the push lists what Ramp already
holds of that kind and adopts values with the same ERP id instead of posting them again (the
bills flow creates accounting vendors too, and a crash may have left a create unrecorded).

Nothing in Ramp that Visma lacks: a full push also retires the GL accounts and field options
Ramp holds under the accounting connection that the push did not create and that match no
active Visma value and no mapping row (``chart_plan.retirements``). How, and why so:

- a GL account is soft-deleted (DELETE → ``is_active`` false), the only retirement Ramp's
  accounts API has; the account, and every bill already coded to it, stays in Ramp, and
  ``PATCH reactivate`` restores it (reference ramp-api.md §5.3);
- a field option is hidden (``PATCH visibility: HIDDEN``): it leaves the pickers but stays
  active and syncable, so the bills already coded to it keep their coding and their history,
  where a DELETE would make the option inactive under them (reference §5.5, "Hide vs delete").

A retired value is recorded in the chart map as removed, so it is reactivated (and shown again)
if Visma gains it later. ``--dry-run`` lists the retirements first.

A push may read Visma in full or as a delta (``since``: ``lastModifiedDateTime`` per source).
A full read also retires what Visma no longer lists; a delta read only retires what it sees
turn inactive (and, per changed project, its vanished tasks). Segments and VAT codes have no
delta filter and are always read in full. ``plan`` is the pure diff; ``push_chart`` runs it
(or, with ``dry_run``, only reports it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ml_connector.audit import AuditKind
from ml_connector.flows.chart_plan import (
    ChartAction,
    ChartChange,
    ChartItem,
    ChartKind,
    ChartPushResult,
    Group,
    VismaChart,
    plan,
    retirements,
)
from ml_connector.flows.chart_pusher import ChartPusher
from ml_connector.flows.chart_read import (
    BLOCKED_SUPPLIER_STATUSES,
    MAX_BATCH,
    SOURCES,
    ChartConfig,
    read_visma_chart,
)
from ml_connector.flows.context import FlowContext

__all__ = [
    "BLOCKED_SUPPLIER_STATUSES",
    "MAX_BATCH",
    "SOURCES",
    "ChartConfig",
    "ChartKind",
    "ChartPushResult",
    "push_chart",
    "read_visma_chart",
]


async def _ensure_connection(
    ctx: FlowContext, config: ChartConfig, result: ChartPushResult
) -> None:
    if await ctx.ramp.get_connection() is not None:
        return
    result.connection_created = True
    if not result.dry_run:
        await ctx.ramp.create_connection(config.provider_name)


async def push_chart(
    ctx: FlowContext,
    config: ChartConfig,
    *,
    since: Mapping[str, datetime] | None = None,
    dry_run: bool = False,
) -> tuple[ChartPushResult, VismaChart]:
    """Align Ramp's chart with Visma's; returns what was done and what was read.

    ``dry_run`` reads both sides and returns the plan without writing anything, in Ramp or in
    the chart map. Vendor errors other than a refused item (5xx, auth) propagate; whatever
    landed before them is already recorded, so the next push carries on from there.
    """
    result = ChartPushResult(dry_run=dry_run)
    await _ensure_connection(ctx, config, result)
    chart = await read_visma_chart(ctx, config, since)
    entries = await ctx.store.list_chart_entries(ctx.connection_id)
    mapped = {e.key: e for e in entries}
    pusher = ChartPusher(ctx, config, result)
    if result.connection_created and dry_run:
        result.changes += [
            ChartChange(ChartAction.CREATE, ChartItem(ChartKind.FIELD, s.field_id, s.name))
            for s in chart.fields
        ]
        changes = plan(chart, ())
    else:
        await pusher.ensure_fields(chart, mapped)
        changes = await pusher.adopt(plan(chart, entries))
        held = await pusher.held_in_full(chart)
        rules = ctx.rules
        retired = retirements(chart, held, entries, rules.table, rules.gl_fields)
        result.changes[:0] = retired  # listed first: the values Ramp users will lose
        changes += retired
    result.changes += [c for c in changes if c.action is not ChartAction.RETIRE]
    ctx.note(
        AuditKind.DECISION,
        {"chart": "push", "dry_run": dry_run, "plan": result.summary()["planned"]},
    )
    if dry_run:
        return result, chart
    creates: dict[Group, list[ChartItem]] = {}
    for change in changes:
        if change.action is ChartAction.CREATE and change.item is not None:
            creates.setdefault((change.item.kind, change.item.scope), []).append(change.item)
    for group in sorted(creates):
        if group[0] is ChartKind.OPTION and group[1] not in pusher.field_ids:
            continue
        await pusher.create(creates[group])
    for change in changes:
        if change.action in (ChartAction.UPDATE, ChartAction.REACTIVATE):
            await pusher.patch(change)
        elif change.action is ChartAction.REMOVE and change.entry is not None:
            await pusher.remove(change.entry)
        elif change.action is ChartAction.RETIRE:
            await pusher.retire(change)
    ctx.note(AuditKind.RESULT, {"chart": "push", **result.summary()})
    return result, chart
