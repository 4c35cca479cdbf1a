"""The mapping table model: rows, edits, the JSON document, and validation that names rows."""

from __future__ import annotations

import pytest

from ml_connector.mapping.master_data import (
    AccountInfo,
    MasterData,
    ProjectInfo,
    SegmentInfo,
    TaskInfo,
)
from ml_connector.mapping.table import (
    MappingRule,
    MappingTable,
    MappingTableError,
    Target,
)
from ml_connector.mapping.table_checks import validate

MASTER = MasterData(
    accounts={"6800": AccountInfo("Kontor", True), "6590": AccountInfo("Gammel", False)},
    segments={1: SegmentInfo("Kostnadssted", True, {"100": True, "300": False})},
    projects={
        "X": ProjectInfo("Active", True),
        "P1": ProjectInfo(
            "Active",
            True,
            "Kunde",
            {"01": TaskInfo("Drift"), "02": TaskInfo("Forstudie", status="Completed")},
        ),
        "P5": ProjectInfo("Completed", True),
        "P6": ProjectInfo("Active", False),
    },
    vat_codes=frozenset({"0", "1"}),
)


def rule(source: str, value: str, target: Target, to: str, **extra: object) -> MappingRule:
    return MappingRule(source, value, target, to, **extra)  # type: ignore[arg-type]


def test_document_round_trip_keeps_every_field() -> None:
    """to_document then from_document gives back the same table."""
    table = MappingTable(
        (
            rule("ramp_category", "Travel", Target.ACCOUNT, "6800", priority=5),
            rule("@entity", "e-1", Target.SEGMENT, "100", segment=1),
            rule("department", "*", Target.SEGMENT, "300", segment=1, fallback=True),
        )
    )
    assert MappingTable.from_document(table.to_document()) == table


def test_document_errors_name_the_row_and_field() -> None:
    """Each bad row is reported with its number and the field at fault, all at once."""
    rows = [
        {"source": "cat", "value": "A", "target": "account", "visma_value": "6800"},
        {"source": "cat", "value": "B", "target": "costcentre", "visma_value": "1"},
        {"source": "cat", "value": "C", "target": "segment", "visma_value": "1"},
        {"source": "cat", "value": "D", "target": "vat", "visma_value": "1", "priority": "hi"},
        {"source": "@default", "value": "x", "target": "project", "visma_value": "X"},
        {"source": "@weird", "value": "*", "target": "vat", "visma_value": "1", "colour": "red"},
    ]
    with pytest.raises(MappingTableError) as info:
        MappingTable.from_document({"rules": rows})
    shown = [str(p) for p in info.value.problems]
    assert any(p.startswith("row 2 (target)") for p in shown)
    assert any(p.startswith("row 3 (segment)") for p in shown)
    assert any(p.startswith("row 4 (priority)") and "'hi'" in p for p in shown)
    assert any(p.startswith("row 5 (value)") for p in shown)
    assert any(p.startswith("row 6 (source)") for p in shown)
    assert any(p.startswith("row 6 (colour)") for p in shown)
    assert not any(p.startswith("row 1") for p in shown)


def test_with_rule_replaces_the_same_slot_in_place() -> None:
    """Setting a rule for an existing match and slot replaces it where it stood."""
    table = MappingTable(
        (
            rule("cat", "A", Target.ACCOUNT, "6800"),
            rule("cat", "B", Target.ACCOUNT, "6800"),
        )
    )
    changed = table.with_rule(rule("cat", "A", Target.ACCOUNT, "7000", priority=2))
    assert [r.visma_value for r in changed.rules] == ["7000", "6800"]
    added = changed.with_rule(rule("cat", "A", Target.VAT, "1"))
    assert len(added) == 3


def test_without_removes_matching_rows_and_counts_them() -> None:
    """Unset removes the rows of one match and slot, and says how many went."""
    table = MappingTable(
        (
            rule("cat", "A", Target.SEGMENT, "100", segment=1),
            rule("cat", "A", Target.SEGMENT, "20", segment=2),
        )
    )
    smaller, removed = table.without("cat", "A", Target.SEGMENT, 1)
    assert removed == 1
    assert [r.segment for r in smaller.rules] == [2]
    _, none = table.without("cat", "Z", Target.ACCOUNT)
    assert none == 0


def test_conflicting_rows_are_refused_naming_both() -> None:
    """Same match, slot and priority with different results: a conflict naming both rows."""
    table = MappingTable(
        (
            rule("cat", "A", Target.ACCOUNT, "6800"),
            rule("cat", "B", Target.ACCOUNT, "6800"),
            rule("cat", "A", Target.ACCOUNT, "7000"),
            rule("cat", "A", Target.ACCOUNT, "7000", priority=1),
        )
    )
    problems = [str(p) for p in validate(table)]
    assert problems == [
        "row 3: conflicts with row 1: cat=A sets account to both 6800 and 7000 at priority 0"
    ]


def test_repeated_rows_are_reported() -> None:
    """An exact repeat is reported too (it would hide a later edit)."""
    table = MappingTable((rule("cat", "A", Target.VAT, "1"), rule("cat", "A", Target.VAT, "1")))
    assert [str(p) for p in validate(table)] == ["row 2: repeats row 1"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (rule("cat", "A", Target.ACCOUNT, "9999"), "account 9999 does not exist in Visma"),
        (rule("cat", "A", Target.ACCOUNT, "6590"), "account 6590 (Gammel) is inactive in Visma"),
        (
            rule("cat", "A", Target.SEGMENT, "999", segment=1),
            "Kostnadssted 999 does not exist in Visma",
        ),
        (
            rule("cat", "A", Target.SEGMENT, "300", segment=1),
            "Kostnadssted 300 is inactive in Visma",
        ),
        (
            rule("cat", "A", Target.SEGMENT, "1", segment=7),
            "segment 7 does not exist in Visma's SUBACCOUNT",
        ),
        (rule("cat", "A", Target.PROJECT, "P9"), "project P9 does not exist in Visma"),
        (rule("cat", "A", Target.PROJECT, "P5"), "project P5 is Completed in Visma"),
        (
            rule("cat", "A", Target.PROJECT, "P6"),
            "project P6 is not visible in the supplier ledger (AP)",
        ),
        (rule("cat", "A", Target.VAT, "25"), "VAT code 25 does not exist in Visma"),
        (
            rule("@account", "4000", Target.VAT, "1"),
            "account 4000 (the row's key) does not exist in Visma",
        ),
    ],
)
def test_unknown_or_inactive_targets_name_the_row(bad: MappingRule, message: str) -> None:
    """Every Visma value must exist and be usable on an AP line; the message names the row."""
    table = MappingTable((rule("cat", "ok", Target.ACCOUNT, "6800"), bad))
    assert [str(p) for p in validate(table, MASTER)] == [f"row 2: {message}"]


def test_a_valid_table_has_no_problems() -> None:
    """Known, active targets and no conflicts: nothing to report."""
    table = MappingTable(
        (
            rule("cat", "A", Target.ACCOUNT, "6800"),
            rule("@default", "*", Target.PROJECT, "X"),
            rule("@account", "6800", Target.VAT, "1"),
            rule("@entity", "e1", Target.SEGMENT, "100", segment=1),
        )
    )
    assert validate(table, MASTER) == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (rule("@project", "P1", Target.TASK, "02"), "task 02 of project P1 is not active"),
        (rule("@project", "P1", Target.TASK, "07"), "task 07 does not exist on project P1"),
        (rule("@project", "P9", Target.TASK, "01"), "project P9 (the row's key) does not exist"),
        (rule("ramp_activity", "Reise", Target.TASK, "07"), "task 07 is not an active"),
    ],
)
def test_task_rows_are_checked_against_the_projects_tasks(bad: MappingRule, message: str) -> None:
    """A task row must name a task Visma has, active and visible in AP (for its project)."""
    problems = validate(MappingTable((bad,)), MASTER)
    assert [p.message for p in problems if message in p.message], problems
    good = MappingTable(
        (rule("@project", "P1", Target.TASK, "01"), rule("ramp_activity", "x", Target.TASK, "01"))
    )
    assert validate(good, MASTER) == []
