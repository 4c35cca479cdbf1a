"""Field bindings as data: targets, the stored document, merging discovery into a person's
decisions, and the coding rules built from them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.errors import ConfigurationError
from ml_connector.mapping.bindings import (
    BindingSet,
    DecidedBy,
    FieldBinding,
    discovered_bindings,
    implicit_bindings,
    merge,
    parse_target,
    rules_with_bindings,
)
from ml_connector.mapping.coding import CodingRules
from ml_connector.mapping.field_evidence import FieldFacts, SegmentValues, VismaValues

VISMA = VismaValues(
    accounts=frozenset({"6800"}),
    segments={1: SegmentValues("Kostnadssted", frozenset({"100", "200"}))},
    projects=frozenset({"P1"}),
    vat=frozenset({"1"}),
)


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("segment:1", "segment:1"),
        (" Segment : 02 ", "segment:2"),
        ("VAT", "vat"),
        ("ignore", "ignore"),
    ],
)
def test_targets_are_read_in_canonical_form(text: str, target: str) -> None:
    """Case, spaces and leading zeros do not matter."""
    assert parse_target(text) == target


@pytest.mark.parametrize("text", ["segment:0", "segment", "segment:x", "cost centre", ""])
def test_unknown_targets_are_refused_with_the_choices(text: str) -> None:
    """The message lists what is allowed."""
    with pytest.raises(
        ConfigurationError, match="segment:N, project, task, vat, account or ignore"
    ):
        parse_target(text)


def test_the_document_round_trips() -> None:
    """What is stored reads back equal, sorted by field id."""
    bindings = BindingSet(
        (
            FieldBinding(
                "dim_prj",
                "project",
                "value overlap",
                "2 of 2",
                "r1",
                "Prosjekt",
                ("OTHER",),
                "code",
            ),
            FieldBinding("dim_kst", None, "", "no evidence", "r2", "Kostnadssted"),
        )
    )
    again = BindingSet.from_document(bindings.to_document())
    assert again == bindings
    assert [b.field for b in again.bindings] == ["dim_kst", "dim_prj"]


def test_a_broken_document_is_a_configuration_error() -> None:
    """A stored document that is not a list of bindings is refused, not half-read."""
    with pytest.raises(ConfigurationError):
        BindingSet.from_document({"bindings": [{"target": "vat"}]})


def test_merge_keeps_a_persons_binding_and_refreshes_its_facts() -> None:
    """Discovery changes what discovery decided, never what a person set."""
    person = FieldBinding(
        "dim_kst", "segment:2", DecidedBy.PERSON.value, "ops knows", author="kari"
    )
    found = [
        FieldBinding(
            "dim_kst",
            "segment:1",
            "value overlap",
            "2 of 2",
            "r9",
            "Kostnadssted",
            ("COST_CENTER",),
        ),
        FieldBinding("dim_new", "vat", "category type", "TAX_CODE"),
    ]
    merged = merge(BindingSet((person,)), found)
    kept = merged.get("dim_kst")
    assert kept is not None
    assert (kept.target, kept.decided_by, kept.author) == ("segment:2", "person", "kari")
    assert (kept.name, kept.types) == ("Kostnadssted", ("COST_CENTER",))
    assert merged.get("dim_new") == found[1]


def test_merge_of_the_same_evidence_changes_nothing() -> None:
    """Discovery that finds what is stored leaves the set equal (no new version is written)."""
    stored = BindingSet(
        (
            FieldBinding(
                "p", "project", "category type", "PROJECT", author="discovery", decided_at="t0"
            ),
        )
    )
    again = [
        FieldBinding(
            "p", "project", "category type", "PROJECT", author="discovery", decided_at="t1"
        )
    ]
    assert merge(stored, again) == stored


bindings_st = st.builds(
    FieldBinding,
    field=st.sampled_from(["a", "b", "c"]),
    target=st.sampled_from([None, "account", "segment:1", "project", "vat", "ignore"]),
    decided_by=st.sampled_from([d.value for d in DecidedBy]),
    evidence=st.sampled_from(["x", "y"]),
)


@given(st.lists(bindings_st, max_size=4), st.lists(bindings_st, max_size=4))
def test_merge_never_moves_a_pinned_binding_and_is_idempotent(
    current: list[FieldBinding], found: list[FieldBinding]
) -> None:
    """Pinned (person, configuration) targets survive any discovery; merging twice is once."""
    stored = BindingSet(tuple(current))
    found = list({b.field: b for b in found}.values())
    merged = merge(stored, found)
    for old in stored.bindings:
        new = merged.get(old.field)
        assert new is not None
        if old.pinned:
            assert (new.target, new.decided_by) == (old.target, old.decided_by)
    assert merge(merged, found) == merged


def test_without_stored_bindings_the_chart_push_ids_apply() -> None:
    """No bindings: the rules are the settings' (the chart push's field ids), unchanged."""
    base = CodingRules()
    rules = rules_with_bindings(base, None, None)
    assert rules.passthrough_fields == base.passthrough_fields
    assert rules.fields_for("segment:1") == frozenset({"subaccount-1"})
    assert rules.binding_version is None


def test_bound_fields_become_pass_through_and_undecided_ones_do_not() -> None:
    """Stored bindings add the customer's fields, ignore some and take back an implied one."""
    stored = BindingSet(
        (
            FieldBinding("dim_kst", "segment:1", "value overlap", "e"),
            FieldBinding("dim_prj", "project", "category type", "e", via="code"),
            FieldBinding("dim_mva", "vat", "category type", "e"),
            FieldBinding("dim_akt", "task", "name", "e"),
            FieldBinding("dim_memo", "ignore", "person", "e"),
            FieldBinding("project", None, "", "not settled"),
        )
    )
    rules = rules_with_bindings(CodingRules(), stored, 4)
    assert rules.binding_version == 4
    assert rules.fields_for("segment:1") == frozenset({"dim_kst", "subaccount-1"})
    assert rules.fields_for("project") == frozenset({"dim_prj"})
    assert rules.fields_for("vat") == frozenset({"dim_mva", "vat"})
    assert rules.fields_for("task") == frozenset({"dim_akt", "project_task"})
    assert rules.task_field in {"dim_akt", "project_task"}
    assert "project" not in rules.passthrough_fields
    assert rules.ignored_fields == frozenset({"dim_memo"})
    assert rules.code_fields == frozenset({"dim_prj"})


def test_configured_fields_are_bindings_decided_by_configuration() -> None:
    """Old mapping.*_field settings read as bindings a person made."""
    base = CodingRules(
        gl_fields=frozenset({"Category"}), segment_fields={"kst": 1}, project_field="prj"
    )
    implied = implicit_bindings(base, configured=True)
    assert {b.field: (b.target, b.decided_by) for b in implied.bindings} == {
        "Category": ("account", "configuration"),
        "kst": ("segment:1", "configuration"),
        "prj": ("project", "configuration"),
        "vat": ("vat", "configuration"),
        "project_task": ("task", "configuration"),
    }
    assert all(b.pinned for b in implied.bindings)


def test_discovery_binds_chart_push_fields_and_respects_configuration() -> None:
    """The push's own field binds itself; a configured field keeps its setting; the rest are
    decided from evidence, with the types stored earlier still counted."""
    facts = [
        FieldFacts("subaccount-1", "r1", "Cost centre", option_ids=frozenset({"100"})),
        FieldFacts("kst", "r2", "Whatever", option_ids=frozenset({"K1"})),
        FieldFacts("dim_x", "r3", "Kampanje"),
    ]
    configured = BindingSet((FieldBinding("kst", "segment:1", "configuration", "settings"),))
    earlier = BindingSet((FieldBinding("dim_x", None, "", "", types=("TAX_CODE",)),))
    found = {
        b.field: b
        for b in discovered_bindings(
            facts,
            VISMA,
            chart={"subaccount-1": "segment:1"},
            configured=configured,
            stored=earlier,
            at="t",
        )
    }
    assert (found["subaccount-1"].target, found["subaccount-1"].decided_by) == (
        "segment:1",
        "chart push",
    )
    assert (found["kst"].target, found["kst"].decided_by, found["kst"].name) == (
        "segment:1",
        "configuration",
        "Whatever",
    )
    assert (found["dim_x"].target, found["dim_x"].decided_by) == ("vat", "category type")
    assert found["dim_x"].author == "discovery"
