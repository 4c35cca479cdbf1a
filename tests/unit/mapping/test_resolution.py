"""Coding resolution through the mapping table: precedence, defaults, and never a guess."""

from __future__ import annotations

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
from ml_connector.mapping.table import MappingRule, MappingTable, Target, rule_order

GL = Selection("gl_account", "6800", "GL_ACCOUNT")
CC = Selection("subaccount-1", "100")


def _rules(*rows: MappingRule, **extra: object) -> CodingRules:
    return CodingRules(table=MappingTable(rows), **extra)  # type: ignore[arg-type]


def _one(
    rules: CodingRules,
    own: tuple[Selection, ...] = (),
    bill: tuple[Selection, ...] = (),
    entity: str | None = None,
) -> ResolvedLine:
    lines = [CodedLine(100, "line", own)]
    return resolve_lines(lines, bill, rules, currency="NOK", total_minor=100, entity_id=entity)[0]


def test_a_ramp_category_maps_to_an_account() -> None:
    """A Ramp-originated value resolves through its row."""
    rules = _rules(MappingRule("ramp_category", "Travel", Target.ACCOUNT, "7140"))
    line = _one(rules, (Selection("ramp_category", "Travel"),))
    assert line.account == "7140"


def test_a_rule_on_the_line_beats_pass_through_coding() -> None:
    """A row keyed on the GL account remaps it; other accounts pass through."""
    rules = _rules(MappingRule("gl_account", "6800", Target.ACCOUNT, "6810"))
    assert _one(rules, (GL,)).account == "6810"
    assert _one(rules, (Selection("gl_account", "7000", "GL_ACCOUNT"),)).account == "7000"


def test_line_coding_beats_bill_level_rules() -> None:
    """The line's own pass-through coding outranks a rule matched only at bill level."""
    rules = _rules(MappingRule("ramp_category", "Travel", Target.ACCOUNT, "7140"))
    line = _one(rules, (GL,), (Selection("ramp_category", "Travel"),))
    assert line.account == "6800"


def test_fallback_rows_fill_only_what_coding_left_empty() -> None:
    """A default cost centre per department applies only when no cost centre was coded."""
    rules = _rules(
        MappingRule("department", "Sales", Target.SEGMENT, "300", segment=1, fallback=True)
    )
    dept = Selection("department", "Sales")
    assert _one(rules, (GL, dept)).subaccount == ((1, "300"),)
    assert _one(rules, (GL, dept, CC)).subaccount == ((1, "100"),)


def test_entity_account_and_default_rows() -> None:
    """@entity gives a cost centre, @account a VAT code, @default a project and an account."""
    rules = _rules(
        MappingRule("@entity", "ent-oslo", Target.SEGMENT, "200", segment=1),
        MappingRule("@account", "6800", Target.VAT, "1"),
        MappingRule("@default", "*", Target.PROJECT, "X"),
        MappingRule("@default", "*", Target.ACCOUNT, "7790"),
        default_vat="0",
    )
    coded = _one(rules, (GL,), entity="ent-oslo")
    assert (coded.account, coded.subaccount, coded.project, coded.vat_code) == (
        "6800",
        ((1, "200"),),
        "X",
        "1",
    )
    bare = _one(rules, entity="ent-bergen")
    assert (bare.account, bare.subaccount, bare.vat_code) == ("7790", (), "0")


def test_table_vat_row_beats_the_legacy_per_account_setting() -> None:
    """An @account row outranks vat_by_account, which outranks the connection default."""
    rules = _rules(
        MappingRule("@account", "6800", Target.VAT, "11"),
        vat_by_account={"6800": "1", "7000": "13"},
        default_vat="0",
    )
    assert _one(rules, (GL,)).vat_code == "11"
    assert _one(rules, (Selection("gl_account", "7000", "GL_ACCOUNT"),)).vat_code == "13"


def test_unmapped_value_of_a_mapped_field_is_an_error() -> None:
    """A value the table does not cover is never guessed, even with a default account."""
    rules = _rules(
        MappingRule("ramp_category", "Travel", Target.ACCOUNT, "7140"), default_account="7790"
    )
    with pytest.raises(MappingError) as info:
        _one(rules, (Selection("ramp_category", "Meals", name="Meals & drinks"),))
    assert info.value.code == "unmapped_value"
    assert "ramp_category 'Meals' (Meals & drinks)" in info.value.message
    assert "mappings set" in info.value.hint


def test_a_wildcard_row_is_the_default_for_its_field() -> None:
    """A '*' row maps every other value of the field; exact rows still win."""
    rules = _rules(
        MappingRule("ramp_category", "Travel", Target.ACCOUNT, "7140"),
        MappingRule("ramp_category", "*", Target.ACCOUNT, "7790"),
    )
    assert _one(rules, (Selection("ramp_category", "Travel"),)).account == "7140"
    assert _one(rules, (Selection("ramp_category", "Meals"),)).account == "7790"


def test_without_a_table_resolution_is_unchanged() -> None:
    """An empty table changes nothing: pass-through coding and defaults as before."""
    plain = CodingRules(default_project="X", vat_by_account={"6800": "1"})
    line = _one(plain, (GL, CC))
    assert (line.account, line.subaccount, line.project, line.vat_code) == (
        "6800",
        ((1, "100"),),
        "X",
        "1",
    )


# --- properties ----------------------------------------------------------------------------

FIELDS = ("cat", "dept")
VALUES = ("a", "b", "c")
ACCOUNTS = ("6000", "6100", "6200", "6300")


@st.composite
def account_rules(draw: st.DrawFn) -> MappingRule:
    return MappingRule(
        source=draw(st.sampled_from(FIELDS)),
        value=draw(st.sampled_from((*VALUES, "*"))),
        target=Target.ACCOUNT,
        visma_value=draw(st.sampled_from(ACCOUNTS)),
        priority=draw(st.integers(0, 2)),
        fallback=draw(st.booleans()),
    )


selections = st.lists(
    st.builds(Selection, st.sampled_from(FIELDS), st.sampled_from(VALUES)),
    max_size=3,
    unique_by=lambda s: s.field,
)


def _resolve(rows: list[MappingRule], own: list[Selection], default: str | None) -> str:
    rules = CodingRules(table=MappingTable(tuple(rows)), default_account=default)
    return resolve_lines([CodedLine(1, "x", tuple(own))], (), rules, currency="NOK", total_minor=1)[
        0
    ].account


@given(st.lists(account_rules(), max_size=8), selections, st.randoms())
def test_resolution_is_deterministic_under_rule_reordering(
    rows: list[MappingRule], own: list[Selection], rng: object
) -> None:
    """Shuffling the table never changes the outcome (result or refusal)."""
    shuffled = list(rows)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    outcomes = []
    for table in (rows, shuffled):
        try:
            outcomes.append(_resolve(table, own, "7790"))
        except MappingError as exc:
            outcomes.append(f"error:{exc.code}")
    assert outcomes[0] == outcomes[1]


@given(st.lists(account_rules(), max_size=8), selections)
def test_every_resolvable_line_gets_the_one_documented_winner(
    rows: list[MappingRule], own: list[Selection]
) -> None:
    """A line resolves to exactly one account: the best matching mapping row, else the best
    matching fallback row, else the default; rule_order breaks ties."""
    try:
        account = _resolve(rows, own, "7790")
    except MappingError:
        return
    matching = [r for r in rows if any(r.matches(s.field, s.value) for s in own)]
    firm = [r for r in matching if not r.fallback]
    soft = [r for r in matching if r.fallback]
    if firm:
        assert account == min(firm, key=rule_order).visma_value
    elif soft:
        assert account == min(soft, key=rule_order).visma_value
    else:
        assert account == "7790"


@given(st.lists(account_rules(), min_size=1, max_size=8), selections)
def test_unmapped_values_are_never_defaulted_silently(
    rows: list[MappingRule], own: list[Selection]
) -> None:
    """A selection of a field no row and no binding names stops the line (unbound); one of a
    mapped field that no row covers stops it too, default or not; a line whose selections are
    all covered never stops for that."""
    mapped = {r.source for r in rows if not r.fallback}
    unknown = [s for s in own if s.field not in {r.source for r in rows}]
    uncovered = [
        s
        for s in own
        if s.field in mapped
        and not any(r.matches(s.field, s.value) and not r.fallback for r in rows)
    ]
    for default in (None, "7790"):
        try:
            _resolve(rows, own, default)
            code = None
        except MappingError as exc:
            code = exc.code
        if unknown:
            assert code == "unbound_field"
        elif uncovered:
            assert code == "unmapped_value"
        else:
            assert code in (None, "unmapped_account")
            assert code is None or default is None
