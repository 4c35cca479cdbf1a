"""The chart push's read of Visma: what Ramp should hold, per group, as ``VismaChart``.

| Visma                                   | Ramp accounting API                                  |
|-----------------------------------------|------------------------------------------------------|
| active GL accounts (type → class)       | GL accounts, ERP id = account number                 |
| values of each configured SUBACCOUNT    | one custom field per segment (``subaccount-1`` …),   |
| segment (cost centre, department)       | one option per value                                 |
| projects that are Active and visible    | the ``project`` field's options                      |
| in AP                                   |                                                      |
| the Active, AP-visible tasks of those   | the ``project_task`` field's options, ERP id         |
| projects                                | ``<project>/<task>``, named "project · task"         |
| VAT codes                               | the ``vat`` field's options                          |
| suppliers not Inactive / OnHold         | accounting vendors, ERP id = supplier number         |

A read may be full or a delta (``since``: ``lastModifiedDateTime`` per source). A full read
marks its groups ``complete``, so anything mapped but not wanted there is gone. A delta read of
projects sees each changed project with all its tasks, so the task options of those projects
are complete (``VismaChart.prefixes``) even though the task field as a whole is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ml_connector.clients.visma_models import Project
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.flows.chart_plan import ChartItem, ChartKind, FieldSpec, Group, VismaChart
from ml_connector.flows.context import FlowContext
from ml_connector.mapping.coding import CodingRules
from ml_connector.mapping.tasks import TASK_ID_SEPARATOR, task_option_id

__all__ = [
    "BLOCKED_SUPPLIER_STATUSES",
    "MAX_BATCH",
    "SOURCES",
    "ChartConfig",
    "read_visma_chart",
    "task_option_name",
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
    task_field: str | None = "project_task"
    suppliers: bool = True
    provider_name: str = "Visma.net ERP"
    batch_size: int = MAX_BATCH
    overlap_s: float = 60.0  # how far before the cursor a delta read starts

    @classmethod
    def from_settings(cls, settings: ConnectionSettings, rules: CodingRules) -> ChartConfig:
        """Field ids come from the coding rules, so what is pushed is what bills resolve."""
        chart = settings.chart
        batch = MAX_BATCH if chart.batch_size is None else chart.batch_size
        return cls(
            accounts=chart.accounts,
            segment_fields=dict(rules.segment_fields) if chart.segments else {},
            project_field=rules.project_field if chart.projects else None,
            vat_field=rules.vat_field if chart.vat else None,
            task_field=rules.task_field if chart.tasks else None,
            suppliers=chart.suppliers,
            provider_name=chart.provider_name,
            batch_size=max(1, min(MAX_BATCH, batch)),
            overlap_s=chart.overlap_s,
        )


def task_option_name(project_id: str, task_id: str, description: str | None) -> str:
    """What Ramp users see for a task: ``P1002 · 02 Migrering``."""
    return f"{project_id} · {task_id} {description or ''}".strip()


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
    if config.accounts:
        await _read_accounts(ctx, chart, _since(since, "accounts", config.overlap_s))
    if config.segment_fields:
        await _read_segments(ctx, chart, config.segment_fields)
    if config.project_field or config.task_field:
        await _read_projects(ctx, chart, config, _since(since, "projects", config.overlap_s))
    if config.vat_field:
        field_id = config.vat_field
        chart.fields.append(FieldSpec(field_id, "VAT code"))
        chart.complete.add((ChartKind.OPTION, field_id))
        for vat in await ctx.visma.list_vat():
            name = f"{vat.vat_id} {vat.description}" if vat.description else vat.vat_id
            chart.want(ChartItem(ChartKind.OPTION, vat.vat_id, name, field_id, vat.vat_id))
    if config.suppliers:
        await _read_suppliers(ctx, chart, _since(since, "suppliers", config.overlap_s))
    return chart


async def _read_accounts(ctx: FlowContext, chart: VismaChart, filters: dict[str, Any]) -> None:
    group: Group = (ChartKind.GL_ACCOUNT, "")
    for account in await ctx.visma.list_accounts(**filters):
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


async def _read_segments(ctx: FlowContext, chart: VismaChart, fields: Mapping[str, int]) -> None:
    dimension = await ctx.visma.get_dimension("SUBACCOUNT")
    segments = {s.segment_id: s for s in (dimension.segments if dimension else ())}
    for field_id, segment_id in sorted(fields.items()):
        segment = segments.get(segment_id)
        if segment is None:
            continue
        chart.fields.append(FieldSpec(field_id, segment.description or f"Segment {segment_id}"))
        group: Group = (ChartKind.OPTION, field_id)
        chart.complete.add(group)
        for value in segment.segment_values:
            if value.active:
                name = value.description or value.value_id
                chart.want(
                    ChartItem(ChartKind.OPTION, value.value_id, name, field_id, value.value_id)
                )
            else:
                chart.retire(group, value.value_id)


async def _read_projects(
    ctx: FlowContext, chart: VismaChart, config: ChartConfig, filters: dict[str, Any]
) -> None:
    """Projects into the project field; their tasks (read with them) into the task field."""
    project_field, task_field = config.project_field, config.task_field
    if project_field:
        chart.fields.append(FieldSpec(project_field, "Project"))
    if task_field:
        chart.fields.append(FieldSpec(task_field, "Project task"))
    async for project in ctx.visma.list_projects(**filters):
        chart.saw("projects", project.last_modified_date_time)
        usable = project.status in (None, "Active") and project.visible_in_ap
        if project_field:
            if usable:
                name = project.description or project.project_id
                chart.want(
                    ChartItem(
                        ChartKind.OPTION,
                        project.project_id,
                        name,
                        project_field,
                        project.project_id,
                    )
                )
            else:
                chart.retire((ChartKind.OPTION, project_field), project.project_id)
        if task_field:
            _want_tasks(chart, task_field, project, usable)
    if not filters:
        for field_id in (project_field, task_field):
            if field_id:
                chart.complete.add((ChartKind.OPTION, field_id))


def _want_tasks(chart: VismaChart, field_id: str, project: Project, usable: bool) -> None:
    """The project's Active, AP-visible tasks (none when the project itself is not usable).

    The project was read with every task, so its task options are complete; a bare task id in
    a customer's own task field counts as matching an active task (``alias``).
    """
    group: Group = (ChartKind.OPTION, field_id)
    chart.complete_prefix(group, f"{project.project_id}{TASK_ID_SEPARATOR}")
    for task in project.tasks:
        option_id = task_option_id(project.project_id, task.task_id)
        if usable and task.status == "Active" and task.visible_in_ap:
            name = task_option_name(project.project_id, task.task_id, task.description)
            chart.want(ChartItem(ChartKind.OPTION, option_id, name, field_id, option_id))
            chart.alias(group, task.task_id)
        else:
            chart.retire(group, option_id)


async def _read_suppliers(ctx: FlowContext, chart: VismaChart, filters: dict[str, Any]) -> None:
    group: Group = (ChartKind.VENDOR, "")
    async for supplier in ctx.visma.list_suppliers(**filters):
        chart.saw("suppliers", supplier.last_modified_date_time)
        if supplier.status in BLOCKED_SUPPLIER_STATUSES:
            chart.retire(group, supplier.number)
        else:
            chart.want(
                ChartItem(ChartKind.VENDOR, supplier.number, supplier.name or supplier.number)
            )
    if not filters:
        chart.complete.add(group)
