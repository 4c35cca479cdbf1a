"""Carrying a chart plan out against Ramp, one recorded step at a time (``flows.chart``).

``ChartPusher`` makes sure each SUBACCOUNT segment (and the project task list) has its custom
field in Ramp, lists what Ramp already holds of a kind once and adopts values with the same ERP
id instead of posting them again, creates new values in batches (bisecting a refused batch until
the refused item is alone), PATCHes changed and reactivated ones, soft-deletes removed ones and
retires what Visma lacks (GL accounts soft-deleted, field options hidden). Each step is written
to the chart map (``store.chart``) as soon as it lands in Ramp.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
    Group,
    HeldValue,
    VismaChart,
)
from ml_connector.flows.chart_read import ChartConfig
from ml_connector.flows.context import FlowContext
from ml_connector.store import ChartEntry

__all__ = ["HIDDEN", "VISIBLE", "ChartPusher"]

HIDDEN = "HIDDEN"
VISIBLE = "VISIBLE"


class ChartPusher:
    """Carries out a plan against Ramp, recording each step in the chart map as it lands."""

    def __init__(self, ctx: FlowContext, config: ChartConfig, result: ChartPushResult) -> None:
        self.ctx = ctx
        self.config = config
        self.result = result
        self.field_ids: dict[str, str] = {}  # field ERP id → Ramp id
        self._held: dict[Group, dict[str, HeldValue]] = {}  # what Ramp holds, listed once

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
                await self._find_field(spec.field_id)  # so a dry run sees its options too
                continue
            # Idempotent on the ERP id: an existing field is returned, and reactivated.
            created = await self.ctx.ramp.create_field(spec.field_id, spec.name)
            self.field_ids[spec.field_id] = created.ramp_id
            self.result.count(ChartAction.CREATE, ChartKind.FIELD)
            await self.record([ChartEntry(*item.key, created.ramp_id, item.content_hash)])

    async def _find_field(self, field_id: str) -> None:
        """A dry run's stand-in for creating a field: the Ramp id of one that exists already."""
        async for custom in self.ctx.ramp.list_fields():
            if custom.id == field_id:
                self.field_ids[field_id] = custom.ramp_id
                return

    async def existing(self, group: Group) -> dict[str, HeldValue]:
        """What Ramp holds of a group now, by ERP id (for adoption and retirement)."""
        if group not in self._held:
            self._held[group] = await self._list(group)
        return self._held[group]

    async def _list(self, group: Group) -> dict[str, HeldValue]:
        kind, scope = group
        ramp = self.ctx.ramp
        found: dict[str, HeldValue] = {}
        if kind is ChartKind.GL_ACCOUNT:
            async for gl in ramp.list_gl_accounts():
                if gl.id:
                    item = ChartItem(
                        kind, gl.id, gl.name, code=gl.code, classification=gl.classification
                    )
                    category = gl.gl_account_category_info.id if gl.gl_account_category_info else ""
                    found[gl.id] = HeldValue(
                        gl.ramp_id, item, gl.is_active, category=category or ""
                    )
        elif kind is ChartKind.OPTION:
            field_ramp_id = self.field_ids.get(scope)
            if field_ramp_id is None:
                return found
            async for option in ramp.list_field_options(field_ramp_id):
                if option.id:
                    item = ChartItem(kind, option.id, option.value or "", scope, option.code)
                    hidden = option.visibility == HIDDEN
                    found[option.id] = HeldValue(option.ramp_id, item, option.is_active, hidden)
        elif kind is ChartKind.VENDOR:
            async for vendor in ramp.list_accounting_vendors():
                if vendor.id:
                    item = ChartItem(kind, vendor.id, vendor.name)
                    found[vendor.id] = HeldValue(vendor.ramp_id, item, vendor.is_active)
        return found

    async def held_in_full(self, chart: VismaChart) -> dict[Group, dict[str, HeldValue]]:
        """What Ramp holds of every account and option group this read saw in full."""
        groups = [
            group
            for group in sorted(chart.complete | set(chart.prefixes))
            if group[0] in (ChartKind.GL_ACCOUNT, ChartKind.OPTION)
        ]
        return {group: await self.existing(group) for group in groups}

    async def adopt(self, changes: list[ChartChange]) -> list[ChartChange]:
        """Turn creates of values Ramp already holds into updates (or nothing)."""
        groups = sorted(
            {
                (c.item.kind, c.item.scope)
                for c in changes
                if c.action is ChartAction.CREATE and c.item
            }
        )
        held = {g: await self.existing(g) for g in groups}
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
            usable = there.active and not there.hidden
            entry = ChartEntry(*item.key, there.ramp_id, there.item.content_hash, usable)
            adopted.append(entry)
            self.result.adopted += 1
            if not usable:
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
                # A hidden option (retired earlier) is shown again when it comes back.
                await ramp.patch_field_option(
                    ramp_id,
                    value=item.name,
                    code=item.code,
                    reactivate=reactivate,
                    visibility=VISIBLE if reactivate else None,
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

    async def retire(self, change: ChartChange) -> None:
        """Take a value the push did not create out of use (see the module docstring)."""
        entry, item = change.entry, change.item
        if entry is None or entry.ramp_id is None or item is None:
            raise ValueError("a retirement needs the held value and its Ramp id")
        ramp, kind = self.ctx.ramp, ChartKind(entry.kind)
        try:
            if kind is ChartKind.GL_ACCOUNT:
                await ramp.delete_gl_account(entry.ramp_id)  # soft: inactive, restorable
            else:
                await ramp.patch_field_option(entry.ramp_id, visibility=HIDDEN)
        except NotFound:
            pass  # gone already
        except ValidationRejected as exc:
            message = exc.vendor_message or str(exc)
            self.result.failures.append(
                ChartFailure(entry.kind, entry.scope, entry.visma_id, message)
            )
            return
        self.result.count(ChartAction.RETIRE, kind)
        # Recorded as removed: a value Visma gains later is reactivated (and shown) by a push.
        await self.record([ChartEntry(*item.key, entry.ramp_id, item.content_hash, active=False)])
