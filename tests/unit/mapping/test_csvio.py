"""CSV import and export of the mapping table: round trips, and errors with line and column."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.mapping.csvio import read_csv, write_csv
from ml_connector.mapping.table import MappingRule, MappingTable, MappingTableError, Target

HEADER = "source,value,target,segment,visma_value,priority,fallback\n"

_text = st.text(
    alphabet="abcXYZ0129,;\"'øÅé -\n",
    min_size=1,
    max_size=12,
).filter(lambda t: not t.startswith("@") and t.strip() == t)


@st.composite
def rules(draw: st.DrawFn) -> MappingRule:
    target = draw(st.sampled_from(list(Target)))
    reserved = st.sampled_from(["@entity", "@default", "@account", "@project"])
    source = draw(st.one_of(_text, reserved))
    if source == "@account" and target is Target.ACCOUNT:
        source = "ramp_category"
    if source == "@project" and target is not Target.TASK:
        source = "ramp_category"
    if source == "@default":
        value = "*"
    elif source == "@project":
        value = draw(_text)  # a project row names one project
    else:
        value = draw(st.one_of(_text, st.just("*")))
    return MappingRule(
        source=source,
        value=value,
        target=target,
        visma_value=draw(_text),
        segment=draw(st.integers(1, 9)) if target is Target.SEGMENT else None,
        priority=draw(st.integers(-5, 5)),
        fallback=draw(st.booleans()),
    )


@given(st.lists(rules(), max_size=8))
def test_csv_round_trip(rows: list[MappingRule]) -> None:
    """Whatever the rows (quotes, commas, accents), export then import gives the same table."""
    table = MappingTable(tuple(rows))
    assert read_csv(write_csv(table)) == table


def test_columns_may_come_in_any_order_and_optional_ones_may_be_missing() -> None:
    """Only source, value, target and visma_value are required; blank lines are skipped."""
    text = (
        "visma_value,target,value,source\n7790,account,Travel,ramp_category\n\n1,vat,*,@default\n"
    )
    table = read_csv(text)
    assert table.rules == (
        MappingRule("ramp_category", "Travel", Target.ACCOUNT, "7790"),
        MappingRule("@default", "*", Target.VAT, "1"),
    )


def _problems(text: str) -> list[str]:
    with pytest.raises(MappingTableError) as info:
        read_csv(text)
    return [str(p) for p in info.value.problems]


def test_malformed_cell_reports_line_and_column() -> None:
    """A bad value names its line and its column (number and name)."""
    text = HEADER + "cat,A,account,,6800,0,false\ncat,B,account,,6800,high,false\n"
    assert _problems(text) == ["line 3, column 6 (priority): 'high' is not a whole number"]


def test_every_bad_line_is_reported_at_once() -> None:
    """Several mistakes in several lines come back together."""
    text = (
        HEADER
        + "cat,A,konto,,6800,0,false\n"
        + "cat,B,segment,,100,0,false\n"
        + "cat,C,vat,,1,0,maybe\n"
        + "cat,D,vat,,1\n"
    )
    problems = _problems(text)
    assert problems[0].startswith("line 2, column 3 (target): 'konto' is not one of")
    assert problems[1] == "line 3, column 4 (segment): a segment target needs the segment id"
    assert problems[2] == "line 4, column 7 (fallback): 'maybe' is not true or false"
    assert problems[3] == "line 5, column 6: expected 7 columns, found 5"


def test_bad_header_is_reported_on_line_one() -> None:
    """Unknown, repeated and missing columns are reported against the header."""
    problems = _problems("source,value,tgt,value\ncat,A,account,x\n")
    assert problems == [
        "line 1, column 3: unknown column 'tgt'",
        "line 1, column 4: column 'value' repeats",
        "line 1: the header lacks the 'target' column",
        "line 1: the header lacks the 'visma_value' column",
    ]


def test_broken_quoting_is_reported_with_its_line() -> None:
    """A quote that never closes is a CSV error on the line where reading stopped."""
    problems = _problems(HEADER + 'cat,"A,account,,6800,0,false\n')
    assert len(problems) == 1
    assert problems[0].startswith("line ")
    assert "not valid CSV" in problems[0]


def test_empty_file_is_refused() -> None:
    """An empty file says a header was expected."""
    assert _problems("") == ["line 1: the file is empty; expected a header"]


def test_task_rows_import_and_bad_ones_are_named() -> None:
    """A project's task is an ``@project`` row; such a row for another target, or for every
    project, is refused with its line and column."""
    good = read_csv(
        HEADER + "@project,P1002,task,,02,0,false\nramp_activity,Reise,task,,01,0,false\n"
    )
    assert [(r.source, r.value, r.target, r.visma_value) for r in good.rules] == [
        ("@project", "P1002", Target.TASK, "02"),
        ("ramp_activity", "Reise", Target.TASK, "01"),
    ]
    assert read_csv(write_csv(good)) == good
    with pytest.raises(MappingTableError) as info:
        read_csv(HEADER + "@project,P1002,account,,6800,0,false\n@project,*,task,,01,0,false\n")
    shown = [str(p) for p in info.value.problems]
    assert shown == [
        "line 2, column 3 (target): an @project row sets the project's task only (target task)",
        "line 3, column 2 (value): an @project row names one project: tasks belong to a single "
        "project",
    ]
