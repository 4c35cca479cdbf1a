"""Project tasks: where a line's task comes from, in order, and when a person must choose."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.errors import MappingError
from ml_connector.mapping.coding import (
    CodedLine,
    CodingRules,
    ResolvedLine,
    Selection,
    resolve_lines,
)
from ml_connector.mapping.master_data import AccountInfo, MasterData, ProjectInfo, TaskInfo
from ml_connector.mapping.preflight import check_lines
from ml_connector.mapping.table import MappingRule, MappingTable, Target
from ml_connector.mapping.tasks import assign_tasks, split_task_option, task_option_id

GL = Selection("gl_account", "6800", "GL_ACCOUNT")

MASTER = MasterData(
    accounts={"6800": AccountInfo("Kontorrekvisita", True)},
    projects={
        "X": ProjectInfo("Active", True, "Ikke prosjekt"),
        # one usable task (02 is completed, 03 hidden from AP but visible in purchasing)
        "P1": ProjectInfo(
            "Active",
            True,
            "Equinor",
            {
                "01": TaskInfo("Rådgivning"),
                "02": TaskInfo("Rapport", status="Completed"),
                "03": TaskInfo("Intern", visible_in_ap=False),
            },
        ),
        "P2": ProjectInfo(
            "Active", True, "DNB", {"01": TaskInfo("Analyse"), "02": TaskInfo("Migrering")}
        ),
        "P3": ProjectInfo("Active", True, "Posten", {"01": TaskInfo("Plan", status="Planned")}),
        "P5": ProjectInfo("Completed", True, "Telia", {"01": TaskInfo("Revisjon")}),
    },
)


def _rules(*rows: MappingRule, **extra: object) -> CodingRules:
    return CodingRules(table=MappingTable(rows), **extra)  # type: ignore[arg-type]


def _resolve(
    rules: CodingRules, own: tuple[Selection, ...], bill: tuple[Selection, ...] = ()
) -> ResolvedLine:
    lines = [CodedLine(100, "Konsulent", (GL, *own))]
    return resolve_lines(lines, bill, rules, currency="NOK", total_minor=100)[0]


def _task(rules: CodingRules, *own: Selection, bill: tuple[Selection, ...] = ()) -> str | None:
    return assign_tasks([_resolve(rules, own, bill)], MASTER)[0].project_task


def project(value: str) -> Selection:
    return Selection("project", value, "PROJECT")


def task(value: str) -> Selection:
    return Selection("project_task", value)


@pytest.mark.parametrize(
    ("rows", "selections", "bill", "expected"),
    [
        pytest.param((), (project("P1"),), (), "01", id="the-only-usable-task"),
        pytest.param(
            (MappingRule("@project", "P2", Target.TASK, "02"),),
            (project("P2"),),
            (),
            "02",
            id="mapping-row-for-the-project",
        ),
        pytest.param(
            (MappingRule("@project", "P2", Target.TASK, "02"),),
            (project("P2"), task("P2/01")),
            (),
            "01",
            id="task-field-beats-the-mapping-row",
        ),
        pytest.param(
            (MappingRule("@project", "P1", Target.TASK, "03"),),
            (project("P1"),),
            (),
            "03",
            id="mapping-row-beats-the-only-task",
        ),
        pytest.param((), (project("P2"), task("02")), (), "02", id="a-bare-task-id"),
        pytest.param((), (project("P2"),), (task("P2/02"),), "02", id="bill-level-task"),
        pytest.param((), (project("P2"), task("P2/01")), (task("P2/02"),), "01", id="line-wins"),
        pytest.param(
            (MappingRule("ramp_activity", "Travel", Target.TASK, "02"),),
            (project("P2"), Selection("ramp_activity", "Travel")),
            (),
            "02",
            id="mapped-selection",
        ),
        pytest.param((), (project("X"),), (), None, id="non-project-takes-none"),
        pytest.param((), (), (), None, id="no-project-no-task"),
    ],
)
def test_task_precedence(
    rows: tuple[MappingRule, ...],
    selections: tuple[Selection, ...],
    bill: tuple[Selection, ...],
    expected: str | None,
) -> None:
    """Task field, then an @project row, then the project's only active AP task."""
    assert _task(_rules(*rows), *selections, bill=bill) == expected


def test_several_active_tasks_need_a_choice_naming_them() -> None:
    """No coding and two active tasks: attention naming the project and both candidates."""
    with pytest.raises(MappingError) as info:
        _task(_rules(), project("P2"))
    assert info.value.code == "project_task_ambiguous"
    assert "project P2 (DNB)" in info.value.message
    assert "01 (Analyse), 02 (Migrering)" in info.value.message
    assert "@project P2 task" in (info.value.hint or "")


def test_no_active_task_needs_attention_naming_the_project() -> None:
    """A project whose only task is Planned has nothing to post to."""
    with pytest.raises(MappingError) as info:
        _task(_rules(), project("P3"))
    assert info.value.code == "project_task_missing"
    assert "project P3 (Posten)" in info.value.message


def test_a_task_of_another_project_is_refused() -> None:
    """``P2/01`` coded on a P1 line names both projects."""
    with pytest.raises(MappingError) as info:
        _task(_rules(), project("P1"), task("P2/01"))
    assert info.value.code == "project_task_other_project"
    assert "project P2 (DNB)" in info.value.message
    assert "project P1 (Equinor)" in info.value.message


def test_an_unusable_project_is_left_to_pre_flight() -> None:
    """A completed project gets no task guessed; pre-flight names the project's status."""
    line = assign_tasks([_resolve(_rules(), (project("P5"),))], MASTER)[0]
    assert line.project_task is None
    with pytest.raises(MappingError) as info:
        check_lines([line], MASTER)
    assert info.value.code == "project_inactive"


def test_a_task_coded_on_the_non_project_is_not_dropped() -> None:
    """A task selection on an X line stays on the line, and pre-flight refuses it by name."""
    line = assign_tasks([_resolve(_rules(), (project("X"), task("P2/01")))], MASTER)[0]
    assert line.project_task == "P2/01"
    with pytest.raises(MappingError) as info:
        check_lines([line], MASTER)
    assert info.value.code == "project_task_without_project"
    assert "P2/01" in info.value.message


def test_purchase_orders_use_visibility_in_purchasing() -> None:
    """For orders, P1's task 03 is visible too, so P1 has two candidates."""
    line = _resolve(_rules(), (project("P1"),))
    with pytest.raises(MappingError) as info:
        assign_tasks([line], MASTER, module="PO")
    assert info.value.code == "project_task_ambiguous"
    assert "01 (Rådgivning), 03 (Intern)" in info.value.message


def test_task_option_ids_round_trip() -> None:
    """``project/task`` splits only on a known project, so odd task ids stay whole."""
    assert task_option_id("P2", "01") == "P2/01"
    assert split_task_option("P2/01", MASTER) == ("P2", "01")
    assert split_task_option("A/B", MASTER) == (None, "A/B")
    assert split_task_option("01", MASTER) == (None, "01")


@given(
    statuses=st.lists(
        st.tuples(st.sampled_from(["Active", "Planned", "Completed"]), st.booleans()),
        min_size=0,
        max_size=5,
    )
)
def test_a_task_is_taken_only_when_exactly_one_is_usable(
    statuses: list[tuple[str, bool]],
) -> None:
    """Property: the only-task rule assigns a task exactly when one task is Active and AP-visible,
    and that is the one; otherwise it asks, never picks."""
    tasks = {f"{i:02d}": TaskInfo(f"T{i}", status, ap) for i, (status, ap) in enumerate(statuses)}
    master = MasterData(projects={"P": ProjectInfo("Active", True, "", tasks)})
    usable = [t for t, info in tasks.items() if info.status == "Active" and info.visible_in_ap]
    line = ResolvedLine(1, "x", Decimal("1.00"), Decimal(1), "6800", (), "P", None)
    if len(usable) == 1:
        assert assign_tasks([line], master)[0].project_task == usable[0]
    else:
        with pytest.raises(MappingError):
            assign_tasks([line], master)
