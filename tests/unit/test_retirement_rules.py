"""Which values Ramp holds that the chart push retires: what Visma lacks and no mapping covers."""

from __future__ import annotations

from ml_connector.flows.chart_plan import (
    ChartAction,
    ChartItem,
    ChartKind,
    Group,
    HeldValue,
    VismaChart,
    plan,
    retirements,
)
from ml_connector.mapping.table import MappingRule, MappingTable, Target
from ml_connector.store import ChartEntry

GL: Group = (ChartKind.GL_ACCOUNT, "")
CC: Group = (ChartKind.OPTION, "subaccount-1")
TASKS: Group = (ChartKind.OPTION, "project_task")
VENDORS: Group = (ChartKind.VENDOR, "")
GL_FIELDS = frozenset({"gl_account"})
NO_ROWS = MappingTable()


def _chart() -> VismaChart:
    chart = VismaChart()
    chart.want(ChartItem(ChartKind.GL_ACCOUNT, "6800", "Kontorrekvisita"))
    chart.want(ChartItem(ChartKind.OPTION, "100", "Oslo", "subaccount-1"))
    chart.want(ChartItem(ChartKind.OPTION, "P2/01", "P2 · 01 Analyse", "project_task"))
    chart.alias(TASKS, "01")
    chart.complete.update({GL, CC, VENDORS})
    chart.complete_prefix(TASKS, "P2/")
    return chart


def _held(
    group: Group, visma_id: str, *, active: bool = True, hidden: bool = False, category: str = ""
) -> HeldValue:
    kind, scope = group
    item = ChartItem(kind, visma_id, visma_id, scope)
    return HeldValue(f"ramp-{visma_id}", item, active, hidden, category)


def _retired(
    held: dict[Group, list[HeldValue]],
    *,
    table: MappingTable = NO_ROWS,
    entries: tuple[ChartEntry, ...] = (),
    chart: VismaChart | None = None,
) -> list[tuple[str, str, str]]:
    by_group = {g: {h.item.visma_id: h for h in values} for g, values in held.items()}
    changes = retirements(chart or _chart(), by_group, entries, table, GL_FIELDS)
    assert all(c.action is ChartAction.RETIRE for c in changes)
    return [(c.kind, c.entry.scope if c.entry else "", c.visma_id) for c in changes]


def test_values_visma_lacks_are_retired_and_the_rest_kept() -> None:
    """A GL account and a cost centre Visma lacks are retired; Visma's own values are kept."""
    held = {
        GL: [_held(GL, "6800"), _held(GL, "6999")],
        CC: [_held(CC, "100"), _held(CC, "777")],
    }
    assert _retired(held) == [
        ("gl_account", "", "6999"),
        ("option", "subaccount-1", "777"),
    ]


def test_a_mapping_row_keeps_a_value() -> None:
    """A row for the value (or a ``*`` row for its field) is how it resolves: not retired.
    A fallback row does not count: it only fills an empty slot."""
    held = {GL: [_held(GL, "6998"), _held(GL, "6999")], CC: [_held(CC, "777")]}
    table = MappingTable(
        (
            MappingRule("gl_account", "6998", Target.ACCOUNT, "6800"),
            MappingRule("subaccount-1", "*", Target.SEGMENT, "100", segment=1),
            MappingRule("gl_account", "6999", Target.ACCOUNT, "6800", fallback=True),
        )
    )
    assert _retired(held, table=table) == [("gl_account", "", "6999")]


def test_a_gl_rule_on_the_accounts_own_category_keeps_it() -> None:
    """Ramp names a GL account's field by its category id; rows on that source count too."""
    held = {GL: [_held(GL, "6999", category="Category")]}
    table = MappingTable((MappingRule("Category", "6999", Target.ACCOUNT, "6800"),))
    assert _retired(held, table=table) == []


def test_inactive_hidden_and_managed_values_are_left_alone() -> None:
    """Already inactive or hidden values need nothing; values the push made are ``plan``'s."""
    held = {
        GL: [_held(GL, "6997", active=False), _held(GL, "6996")],
        CC: [_held(CC, "778", hidden=True)],
    }
    managed = (ChartEntry("gl_account", "", "6996", "ramp-6996", "h"),)
    assert _retired(held, entries=managed) == []
    changes = plan(_chart(), managed)
    assert [(c.action, c.visma_id) for c in changes if c.visma_id == "6996"] == [
        (ChartAction.REMOVE, "6996")
    ]


def test_only_groups_read_in_full_and_never_vendors() -> None:
    """A delta read cannot tell what Visma lacks; accounting vendors belong to the bills flow.
    Task options count for the projects read, and a bare active task id counts as a match."""
    chart = _chart()
    chart.complete.discard(GL)
    held = {
        GL: [_held(GL, "6999")],
        VENDORS: [_held(VENDORS, "99999")],
        TASKS: [_held(TASKS, "P2/01"), _held(TASKS, "P2/09"), _held(TASKS, "P7/01")],
    }
    held[TASKS].append(_held(TASKS, "01"))
    assert _retired(held, chart=chart) == [("option", "project_task", "P2/09")]
