"""F4 chart alignment, Visma → Ramp: Ramp users can only code to values Visma accepts.

What is pushed (each part can be switched off in the connection's ``chart`` settings):

| Visma                                   | Ramp accounting API                                  |
|-----------------------------------------|------------------------------------------------------|
| active GL accounts (type → class)       | GL accounts, ERP id = account number                 |
| values of each configured SUBACCOUNT    | one custom field per segment (``subaccount-1`` …),   |
| segment (cost centre, department)       | one option per value                                 |
| projects that are Active and visible    | the ``project`` field's options                      |
| in AP                                   |                                                      |
| VAT codes                               | the ``vat`` field's options                          |
| suppliers not Inactive / OnHold         | accounting vendors, ERP id = supplier number         |

The push is a diff against the durable chart map (``store.chart``): only new values are
posted, changed ones PATCHed, and values that became inactive or vanished are soft-deleted
(DELETE); a value that comes back is reactivated. Creates go in batches of at most 500, which
Ramp takes all or nothing: a refused batch is bisected until the refused item is alone, so
it is reported and every other item lands. Before creating, the push lists what Ramp already
holds of that kind and adopts values with the same ERP id instead of posting them again (the
bills flow creates accounting vendors too, and a crash may have left a create unrecorded).

A push may read Visma in full or as a delta (``since``: ``lastModifiedDateTime`` per source).
A full read also retires what Visma no longer lists; a delta read only retires what it sees
turn inactive. Segments and VAT codes have no delta filter and are always read in full.
``plan`` is the pure diff; ``push_chart`` runs it (or, with ``dry_run``, only reports it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.clients.ramp_models import (
    AccountingVendorUpload,
    FieldOptionUpload,
    GLAccountUpload,
)
from ml_connector.errors import NotFound, ValidationRejected
from ml_connector.flows.chart_plan import (
    ChartAction,
    ChartChange,
    ChartFailure,
    ChartItem,
    ChartKind,
    ChartPushResult,
    FieldSpec,
    Group,
    VismaChart,
    plan,
)
from ml_connector.flows.context import FlowContext
from ml_connector.mapping.coding import CodingRules
from ml_connector.store import ChartEntry

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

MAX_BATCH = 500
BLOCKED_SUPPLIER_STATUSES = frozenset({"Inactive", "OnHold"})
_CLASSIFICATION = {
    "Asset": "ASSET",
    "Liability": "LIABILITY",
    "Income": "REVENUE",
    "Expense": "EXPENSE",
}
# Delta sources: the Visma lists that take a lastModifiedDateTime filter.
SOURCES = ("accounts", "projects", "suppliers")


@dataclass(frozen=True)
class ChartConfig:
    """Which parts of the chart a connection pushes, read from its ``chart`` settings."""

    accounts: bool = True
    segment_fields: Mapping[str, int] = field(default_factory=dict)
    project_field: str | None = "project"
    vat_field: str | None = "vat"
    suppliers: bool = True
    provider_name: str = "Visma.net ERP"
    batch_size: int = MAX_BATCH
    overlap_s: float = 60.0  # how far before the cursor a delta read starts

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], rules: CodingRules) -> ChartConfig:
        """Field ids come from the coding rules, so what is pushed is what bills resolve."""
        chart = settings.get("chart", {})
        return cls(
            accounts=bool(chart.get("accounts", True)),
            segment_fields=dict(rules.segment_fields) if chart.get("segments", True) else {},
            project_field=rules.project_field if chart.get("projects", True) else None,
            vat_field=rules.vat_field if chart.get("vat", True) else None,
            suppliers=bool(chart.get("suppliers", True)),
            provider_name=str(chart.get("provider_name", "Visma.net ERP")),
            batch_size=max(1, min(MAX_BATCH, int(chart.get("batch_size", MAX_BATCH)))),
            overlap_s=float(chart.get("overlap_s", 60.0)),
        )


# --- reading Visma ----------------------------------------------------------------------------


def _since(since: Mapping[str, datetime] | None, source: str, overlap_s: float) -> dict[str, Any]:
    if not since or source not in since:
        return {}
    start = since[source] - timedelta(seconds=overlap_s)
    return {"last_modified_date_time": start, "last_modified_date_time_condition": ">="}


async def read_visma_chart(
    ctx: FlowContext, config: ChartConfig, since: Mapping[str, datetime] | None = None
) -> VismaChart:
    """Read what Ramp should hold from Visma (a delta for the sources named in ``since``)."""
    chart = VismaChart()
    visma = ctx.visma
    if config.accounts:
        filters = _since(since, "accounts", config.overlap_s)
        group: Group = (ChartKind.GL_ACCOUNT, "")
        for account in await visma.list_accounts(**filters):
            chart.saw("accounts", account.last_modified_date_time)
            if account.active:
                chart.want(
                    ChartItem(
                        ChartKind.GL_ACCOUNT,
                        account.number,
                        account.description or account.number,
                        code=account.number,
                        classification=_CLASSIFICATION.get(account.type or "", "UNKNOWN"),
                    )
                )
            else:
                chart.retire(group, account.number)
        if not filters:
            chart.complete.add(group)
    if config.segment_fields:
        dimension = await visma.get_dimension("SUBACCOUNT")
        segments = {s.segment_id: s for s in (dimension.segments if dimension else ())}
        for field_id, segment_id in sorted(config.segment_fields.items()):
            segment = segments.get(segment_id)
            if segment is None:
                continue
            chart.fields.append(FieldSpec(field_id, segment.description or f"Segment {segment_id}"))
            group = (ChartKind.OPTION, field_id)
            chart.complete.add(group)
            for value in segment.segment_values:
                if value.active:
                    name = value.description or value.value_id
                    chart.want(
                        ChartItem(ChartKind.OPTION, value.value_id, name, field_id, value.value_id)
                    )
                else:
                    chart.retire(group, value.value_id)
    if config.project_field:
        field_id = config.project_field
        chart.fields.append(FieldSpec(field_id, "Project"))
        filters = _since(since, "projects", config.overlap_s)
        group = (ChartKind.OPTION, field_id)
        async for project in visma.list_projects(**filters):
            chart.saw("projects", project.last_modified_date_time)
            visible = project.visibility is None or project.visibility.visible_in_ap is not False
            if project.status in (None, "Active") and visible:
                name = project.description or project.project_id
                chart.want(
                    ChartItem(
                        ChartKind.OPTION, project.project_id, name, field_id, project.project_id
                    )
                )
            else:
                chart.retire(group, project.project_id)
        if not filters:
            chart.complete.add(group)
    if config.vat_field:
        field_id = config.vat_field
        chart.fields.append(FieldSpec(field_id, "VAT code"))
        chart.complete.add((ChartKind.OPTION, field_id))
        for vat in await visma.list_vat():
            name = f"{vat.vat_id} {vat.description}" if vat.description else vat.vat_id
            chart.want(ChartItem(ChartKind.OPTION, vat.vat_id, name, field_id, vat.vat_id))
    if config.suppliers:
        filters = _since(since, "suppliers", config.overlap_s)
        group = (ChartKind.VENDOR, "")
        async for supplier in visma.list_suppliers(**filters):
            chart.saw("suppliers", supplier.last_modified_date_time)
            if supplier.status in BLOCKED_SUPPLIER_STATUSES:
                chart.retire(group, supplier.number)
            else:
                chart.want(
                    ChartItem(ChartKind.VENDOR, supplier.number, supplier.name or supplier.number)
                )
        if not filters:
            chart.complete.add(group)
    return chart


# --- running it -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Existing:
    """An object Ramp already holds, reduced to what the diff compares."""

    ramp_id: str
    item: ChartItem
    active: bool


class _Pusher:
    """Carries out a plan against Ramp, recording each step in the chart map as it lands."""

    def __init__(self, ctx: FlowContext, config: ChartConfig, result: ChartPushResult) -> None:
        self.ctx = ctx
        self.config = config
        self.result = result
        self.field_ids: dict[str, str] = {}  # field ERP id → Ramp id

    async def record(self, entries: Sequence[ChartEntry]) -> None:
        await self.ctx.store.record_chart_entries(self.ctx.connection_id, entries)

    async def ensure_fields(
        self, chart: VismaChart, mapped: Mapping[tuple[str, str, str], ChartEntry]
    ) -> None:
        for spec in chart.fields:
            entry = mapped.get((ChartKind.FIELD.value, "", spec.field_id))
            if entry is not None and entry.ramp_id is not None:
                self.field_ids[spec.field_id] = entry.ramp_id
                continue
            item = ChartItem(ChartKind.FIELD, spec.field_id, spec.name)
            self.result.changes.append(ChartChange(ChartAction.CREATE, item, entry))
            if self.result.dry_run:
                continue
            # Idempotent on the ERP id: an existing field is returned, and reactivated.
            created = await self.ctx.ramp.create_field(spec.field_id, spec.name)
            self.field_ids[spec.field_id] = created.ramp_id
            self.result.count(ChartAction.CREATE, ChartKind.FIELD)
            await self.record([ChartEntry(*item.key, created.ramp_id, item.content_hash)])

    async def existing(self, group: Group) -> dict[str, _Existing]:
        """What Ramp holds of a group now, by ERP id (for adoption)."""
        kind, scope = group
        ramp = self.ctx.ramp
        found: dict[str, _Existing] = {}
        if kind is ChartKind.GL_ACCOUNT:
            async for gl in ramp.list_gl_accounts():
                if gl.id:
                    item = ChartItem(
                        kind, gl.id, gl.name, code=gl.code, classification=gl.classification
                    )
                    found[gl.id] = _Existing(gl.ramp_id, item, gl.is_active)
        elif kind is ChartKind.OPTION:
            field_ramp_id = self.field_ids.get(scope)
            if field_ramp_id is None:
                return found
            async for option in ramp.list_field_options(field_ramp_id):
                if option.id:
                    item = ChartItem(kind, option.id, option.value or "", scope, option.code)
                    found[option.id] = _Existing(option.ramp_id, item, option.is_active)
        elif kind is ChartKind.VENDOR:
            async for vendor in ramp.list_accounting_vendors():
                if vendor.id:
                    item = ChartItem(kind, vendor.id, vendor.name)
                    found[vendor.id] = _Existing(vendor.ramp_id, item, vendor.is_active)
        return found

    async def adopt(self, changes: list[ChartChange]) -> list[ChartChange]:
        """Turn creates of values Ramp already holds into updates (or nothing)."""
        groups = sorted(
            {
                (c.item.kind, c.item.scope)
                for c in changes
                if c.action is ChartAction.CREATE and c.item
            }
        )
        held: dict[Group, dict[str, _Existing]] = {g: await self.existing(g) for g in groups}
        kept: list[ChartChange] = []
        adopted: list[ChartEntry] = []
        for change in changes:
            item = change.item
            if change.action is not ChartAction.CREATE or item is None:
                kept.append(change)
                continue
            there = held.get((item.kind, item.scope), {}).get(item.visma_id)
            if there is None:
                kept.append(change)
                continue
            entry = ChartEntry(*item.key, there.ramp_id, there.item.content_hash, there.active)
            adopted.append(entry)
            self.result.adopted += 1
            if not there.active:
                kept.append(ChartChange(ChartAction.REACTIVATE, item, entry))
            elif there.item.content_hash != item.content_hash:
                kept.append(ChartChange(ChartAction.UPDATE, item, entry))
        if adopted and not self.result.dry_run:
            await self.record(adopted)
        return kept

    async def create(self, items: list[ChartItem]) -> None:
        """POST ``items`` (one group) in batches; bisect a refused batch down to the bad item."""
        size = self.config.batch_size
        for start in range(0, len(items), size):
            await self._batch(items[start : start + size])

    async def _batch(self, items: list[ChartItem]) -> None:
        try:
            landed = await self._post(items)
        except ValidationRejected as exc:
            if len(items) == 1:
                item = items[0]
                message = exc.vendor_message or str(exc)
                self.result.failures.append(
                    ChartFailure(item.kind.value, item.scope, item.visma_id, message)
                )
                await self.record([ChartEntry(*item.key, None, "", error=message)])
                return
            middle = len(items) // 2
            await self._batch(items[:middle])
            await self._batch(items[middle:])
            return
        self.result.batches.append((items[0].kind.value, len(items)))
        by_id = {item.visma_id: item for item in items}
        entries = []
        for remote_id, ramp_id in landed:
            posted = by_id.get(remote_id)
            if posted is not None:
                entries.append(ChartEntry(*posted.key, ramp_id, posted.content_hash))
                self.result.count(ChartAction.CREATE, posted.kind)
        await self.record(entries)

    async def _post(self, items: list[ChartItem]) -> list[tuple[str, str]]:
        """One all-or-nothing upload; returns (ERP id, Ramp id) of what was created."""
        ramp, kind = self.ctx.ramp, items[0].kind
        if kind is ChartKind.GL_ACCOUNT:
            uploads = [
                GLAccountUpload(i.visma_id, i.name, i.classification or "UNKNOWN", i.code)
                for i in items
            ]
            return [(a.id or "", a.ramp_id) for a in await ramp.upload_gl_accounts(uploads)]
        if kind is ChartKind.OPTION:
            field_ramp_id = self.field_ids[items[0].scope]
            options = [FieldOptionUpload(i.visma_id, i.name, i.code) for i in items]
            created = await ramp.upload_field_options(field_ramp_id, options)
            return [(o.id or "", o.ramp_id) for o in created]
        vendors = [AccountingVendorUpload(i.visma_id, i.name) for i in items]
        return [(v.id or "", v.ramp_id) for v in await ramp.upload_accounting_vendors(vendors)]

    async def patch(self, change: ChartChange) -> None:
        """PATCH (and maybe reactivate) one value; a refusal is reported, not raised."""
        item, entry = change.item, change.entry
        if item is None or entry is None or entry.ramp_id is None:
            raise ValueError("a PATCH needs the planned item and its chart map entry")
        reactivate = change.action is ChartAction.REACTIVATE
        ramp, ramp_id = self.ctx.ramp, entry.ramp_id
        try:
            if item.kind is ChartKind.GL_ACCOUNT:
                await ramp.patch_gl_account(
                    ramp_id, name=item.name, code=item.code, reactivate=reactivate
                )
            elif item.kind is ChartKind.OPTION:
                await ramp.patch_field_option(
                    ramp_id, value=item.name, code=item.code, reactivate=reactivate
                )
            else:
                await ramp.patch_accounting_vendor(ramp_id, name=item.name, reactivate=reactivate)
        except (ValidationRejected, NotFound) as exc:
            message = exc.vendor_message or str(exc)
            self.result.failures.append(
                ChartFailure(item.kind.value, item.scope, item.visma_id, message)
            )
            await self.record(
                [ChartEntry(*item.key, ramp_id, entry.content_hash, entry.active, message)]
            )
            return
        self.result.count(change.action, item.kind)
        await self.record([ChartEntry(*item.key, ramp_id, item.content_hash)])

    async def remove(self, entry: ChartEntry) -> None:
        """Soft-delete one value in Ramp (already gone counts as done)."""
        assert entry.ramp_id is not None
        ramp, kind = self.ctx.ramp, ChartKind(entry.kind)
        try:
            if kind is ChartKind.GL_ACCOUNT:
                await ramp.delete_gl_account(entry.ramp_id)
            elif kind is ChartKind.OPTION:
                await ramp.delete_field_option(entry.ramp_id)
            else:
                await ramp.delete_accounting_vendor(entry.ramp_id)
        except NotFound:
            pass
        except ValidationRejected as exc:
            message = exc.vendor_message or str(exc)
            self.result.failures.append(
                ChartFailure(entry.kind, entry.scope, entry.visma_id, message)
            )
            return
        self.result.count(ChartAction.REMOVE, kind)
        await self.record(
            [
                ChartEntry(
                    entry.kind,
                    entry.scope,
                    entry.visma_id,
                    entry.ramp_id,
                    entry.content_hash,
                    active=False,
                )
            ]
        )


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
    pusher = _Pusher(ctx, config, result)
    if result.connection_created and dry_run:
        result.changes += [
            ChartChange(ChartAction.CREATE, ChartItem(ChartKind.FIELD, s.field_id, s.name))
            for s in chart.fields
        ]
        changes = plan(chart, ())
    else:
        await pusher.ensure_fields(chart, mapped)
        changes = await pusher.adopt(plan(chart, entries))
    result.changes += changes
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
    ctx.note(AuditKind.RESULT, {"chart": "push", **result.summary()})
    return result, chart
