"""Never drop coding: a selection no binding covers stops the bill with a message that names
the field, the value and the command; a Ramp value never loses to a default."""

from __future__ import annotations

import pytest

from ml_connector.errors import MappingError
from ml_connector.mapping.bindings import BindingSet, FieldBinding, rules_with_bindings
from ml_connector.mapping.coding import (
    CodedLine,
    CodingRules,
    ResolvedLine,
    Selection,
    resolve_lines,
)
from ml_connector.mapping.table import MappingRule, MappingTable, Target

GL = Selection("Category", "6800", "GL_ACCOUNT", "Office", "Konto")
KST = Selection("dim_kst", "200", "COST_CENTER", "Bergen", "Kostnadssted")
PRJ = Selection("dim_prj", "prj-1", "PROJECT", "Website", "Prosjekt", code="P1001")
MVA = Selection("dim_mva", "11", "TAX_CODE", "15 % food", "Avgiftskode")
KAMPANJE = Selection("dim_kampanje", "K12", "OTHER", "Vår 2025", "Kampanje")


def _rules(
    *bindings: FieldBinding, table: MappingTable | None = None, **extra: object
) -> CodingRules:
    base = CodingRules(connection_name="acme", **extra)  # type: ignore[arg-type]
    rules = rules_with_bindings(base, BindingSet(bindings), 3)
    return rules.with_table(table, 1) if table is not None else rules


BOUND = (
    FieldBinding("dim_kst", "segment:1", "value overlap", "e"),
    FieldBinding("dim_prj", "project", "category type", "e", via="code"),
    FieldBinding("dim_mva", "vat", "category type", "e"),
)


def _one(
    rules: CodingRules, own: tuple[Selection, ...], bill: tuple[Selection, ...] = ()
) -> ResolvedLine:
    lines = [CodedLine(100, "Chairs", own)]
    return resolve_lines(lines, bill, rules, currency="NOK", total_minor=100)[0]


def test_bound_fields_carry_ramps_coding_to_every_slot() -> None:
    """Each bound field fills its slot; a code-bound field sends the option's code."""
    line = _one(_rules(*BOUND), (GL, KST, PRJ, MVA))
    assert (line.account, line.subaccount, line.project, line.vat_code) == (
        "6800",
        ((1, "200"),),
        "P1001",
        "11",
    )


def test_a_selection_of_an_unbound_field_stops_the_bill_with_the_way_out() -> None:
    """The message names the field (name and id), the value and what Ramp showed; the hint is
    the bind command for this connection."""
    with pytest.raises(MappingError) as info:
        _one(_rules(*BOUND), (GL, KST, KAMPANJE))
    error = info.value
    assert error.code == "unbound_field"
    assert "Line 1 (Chairs)" in error.message
    assert "'Kampanje' (dim_kampanje)" in error.message
    assert "'K12' (Vår 2025)" in error.message
    assert "ml-connector mappings bind acme dim_kampanje --to" in error.hint
    assert "--to ignore" in error.hint


def test_an_undecided_field_blocks_like_an_unknown_one() -> None:
    """A field stored as undecided is not a pass-through field, even if the chart push's
    default ids would have named it."""
    undecided = FieldBinding("project", None, "", "not settled")
    with pytest.raises(MappingError) as info:
        _one(_rules(undecided), (GL, Selection("project", "P1", "OTHER")))
    assert info.value.code == "unbound_field"


def test_bill_level_coding_is_checked_too() -> None:
    """A bill-level selection on an unbound field stops every line, saying where it sits."""
    with pytest.raises(MappingError) as info:
        _one(_rules(*BOUND), (GL,), (KAMPANJE,))
    assert "(bill-level coding)" in info.value.message


def test_ignored_fields_and_table_fields_never_block() -> None:
    """An ignored field is skipped; a field the table maps is the table's."""
    ignored = FieldBinding("dim_kampanje", "ignore", "person", "not needed")
    line = _one(_rules(*BOUND, ignored), (GL, KAMPANJE))
    assert line.account == "6800"
    table = MappingTable((MappingRule("dim_kampanje", "K12", Target.SEGMENT, "300", segment=1),))
    mapped = _one(_rules(*BOUND, table=table), (GL, KAMPANJE))
    assert mapped.subaccount == ((1, "300"),)


def test_a_gl_account_selection_needs_no_binding() -> None:
    """Any GL_ACCOUNT selection is the account, whatever its field is called."""
    assert _one(_rules(), (GL,)).account == "6800"


def test_a_ramp_value_never_loses_to_a_default() -> None:
    """A VAT code Ramp holds (on a field only keyed by fallback rows) stops the bill rather than
    let the account's default VAT code replace it."""
    table = MappingTable(
        (
            MappingRule("dim_mva", "25", Target.VAT, "1", fallback=True),
            MappingRule("@account", "6800", Target.VAT, "13"),
        )
    )
    with pytest.raises(MappingError) as info:
        _one(_rules(table=table), (GL, MVA))
    error = info.value
    assert error.code == "ramp_value_unused"
    assert "VAT code '11' (15 % food)" in error.message
    assert "13, a default," in error.message
    assert "mappings bind acme dim_mva --to vat" in error.hint


def test_a_default_is_fine_when_ramp_holds_nothing_of_that_kind() -> None:
    """Without a Ramp value for the slot, the default applies as before."""
    rules = _rules(*BOUND, default_vat="1", default_project="X")
    line = _one(rules, (GL, KST))
    assert (line.project, line.vat_code) == ("X", "1")


def test_a_cost_centre_held_but_unused_stops_the_bill() -> None:
    """A COST_CENTER value matched by no fallback row, with the segment left to an @entity
    default, is refused too."""
    table = MappingTable(
        (MappingRule("dim_dept", "Sales", Target.SEGMENT, "300", segment=1, fallback=True),)
    )
    held = Selection("dim_dept", "Ops", "COST_CENTER", "Operations", "Avdeling")
    with pytest.raises(MappingError) as info:
        _one(_rules(table=table), (GL, held))
    assert info.value.code == "ramp_value_unused"
    assert "cost centre 'Ops' (Operations)" in info.value.message


def test_two_bound_fields_that_disagree_stop_the_bill() -> None:
    """The customer's project field and the chart push's both on a line, with different
    projects: which is right is for a person to say; when they agree, it syncs."""
    push_project = Selection("project", "P1002", "PROJECT", "DNB", "Project")
    with pytest.raises(MappingError) as info:
        _one(_rules(*BOUND), (GL, PRJ, push_project))
    error = info.value
    assert error.code == "conflicting_coding"
    assert "'Prosjekt' (dim_prj)" in error.message
    assert "'P1001' and 'P1002'" in error.message
    agreeing = Selection("project", "P1001", "PROJECT", "Equinor", "Project")
    assert _one(_rules(*BOUND), (GL, PRJ, agreeing)).project == "P1001"
