"""Deciding a Ramp field's Visma target: category type, then value overlap, then name; never a
guess. Table tests for the cases people meet, hypothesis properties for the rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.mapping.field_evidence import (
    FieldFacts,
    SegmentValues,
    VismaValues,
    decide,
)
from ml_connector.mapping.field_names import Synonyms

VISMA = VismaValues(
    accounts=frozenset({"4000", "6340", "6800", "7140"}),
    segments={
        1: SegmentValues("Kostnadssted", frozenset({"100", "200", "300"})),
        2: SegmentValues("Avdeling", frozenset({"10", "20", "30"})),
    },
    projects=frozenset({"X", "P1001", "P1002"}),
    tasks=frozenset({"T01", "T02"}),
    vat=frozenset({"1", "11", "13"}),
)


def _facts(
    field: str = "dim", name: str = "", types: set[str] | None = None, **kw: object
) -> FieldFacts:
    ids = frozenset(kw.pop("ids", ()))  # type: ignore[arg-type]
    codes = frozenset(kw.pop("codes", ()))  # type: ignore[arg-type]
    return FieldFacts(field, "r-1", name, frozenset(types or ()), ids, codes, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("facts", "target", "how"),
    [
        pytest.param(
            _facts(types={"GL_ACCOUNT"}, name="Kampanje"), "account", "category type", id="gl"
        ),
        pytest.param(
            _facts(types={"PROJECT"}, ids={"100"}),
            "project",
            "category type",
            id="project-type-beats-overlap",
        ),
        pytest.param(
            _facts(types={"TAX_CODE"}, name="Avgiftskode"), "vat", "category type", id="tax"
        ),
        pytest.param(
            _facts(gl_category=True, name="Category"), "account", "category type", id="gl-category"
        ),
        pytest.param(
            _facts(types={"COST_CENTER"}, ids={"100", "200"}),
            "segment:1",
            "value overlap",
            id="cc-overlap",
        ),
        pytest.param(
            _facts(types={"COST_CENTER"}, name="Avdeling"), "segment:2", "name", id="cc-name"
        ),
        pytest.param(
            _facts(types={"OTHER"}, name="Avdeling", ids={"10", "20", "30"}),
            "segment:2",
            "value overlap",
            id="other-overlap",
        ),
        pytest.param(
            _facts(name="Prosjekt", ids={"P1001", "P1002"}),
            "project",
            "value overlap",
            id="projects",
        ),
        pytest.param(_facts(name="Aktivitet"), "task", "name", id="task-name-no-options"),
        pytest.param(_facts(ids={"T01", "T02", "zz"}), "task", "value overlap", id="task-overlap"),
        pytest.param(
            _facts(name="MVA-kode", ids={"1", "11"}), "vat", "value overlap", id="vat-overlap"
        ),
    ],
)
def test_evidence_decides(facts: FieldFacts, target: str, how: str) -> None:
    """The strongest evidence there is settles the field, and says how."""
    decision = decide(facts, VISMA)
    assert (decision.target, decision.decided_by) == (target, how)
    assert decision.evidence


@pytest.mark.parametrize(
    "facts",
    [
        pytest.param(_facts(name="Kampanje", ids={"K1", "K2"}), id="nothing-matches"),
        pytest.param(_facts(types={"COST_CENTER"}, ids={"K1"}), id="cost-centre-which-segment"),
        pytest.param(_facts(types={"PROJECT", "TAX_CODE"}), id="conflicting-types"),
        pytest.param(_facts(name="Prosjekt", ids={"K1", "K2"}), id="name-contradicted-by-values"),
        pytest.param(_facts(ids={"1", "10", "zz"}), id="split-overlap-no-name"),
        pytest.param(_facts(name="Kampanje"), id="no-evidence-at-all"),
    ],
)
def test_unsettled_evidence_leaves_the_field_undecided(facts: FieldFacts) -> None:
    """Without evidence that points one way, nothing is guessed."""
    decision = decide(facts, VISMA)
    assert (decision.target, decision.decided_by) == (None, "")
    assert decision.evidence


def test_a_segment_named_prosjekt_does_not_capture_a_project_field() -> None:
    """Ramp 'Prosjekt' holding projects binds to the project, though a Visma segment is called
    'Prosjekt' too; holding that segment's values, it binds to the segment."""
    visma = VismaValues(
        segments={3: SegmentValues("Prosjekt", frozenset({"S1", "S2"}))},
        projects=frozenset({"P1001", "P1002"}),
    )
    holds_projects = decide(_facts(name="Prosjekt", ids={"P1001", "P1002"}), visma)
    holds_segment = decide(_facts(name="Prosjekt", ids={"S1", "S2"}), visma)
    just_the_name = decide(_facts(name="Prosjekt"), visma)
    assert (holds_projects.target, holds_projects.decided_by) == ("project", "value overlap")
    assert (holds_segment.target, holds_segment.decided_by) == ("segment:3", "value overlap")
    assert just_the_name.target is None  # the name points two ways


def test_codes_can_carry_the_visma_value() -> None:
    """Options whose codes (not ids) are Visma values bind by code."""
    decision = decide(
        _facts(name="Prosjekt", ids={"prj-1", "prj-2"}, codes={"P1001", "P1002"}), VISMA
    )
    assert (decision.target, decision.via) == ("project", "code")


def test_a_connection_name_settles_what_the_built_ins_do_not() -> None:
    """'Kampanje' means nothing built in; a connection that says it is ignored is heard."""
    names = Synonyms({"ignore": ("Kampanje",)})
    decision = decide(_facts(name="Kampanje", ids={"K1"}), VISMA, names)
    assert (decision.target, decision.decided_by) == ("ignore", "name")


# --- properties --------------------------------------------------------------------------

TARGET_VALUES = VISMA.candidates()
NAMES = st.sampled_from(
    ["", "Kampanje", "Prosjekt", "Kostnadssted", "MVA-kode", "Konto", "Avdeling"]
)
TYPES = st.sets(
    st.sampled_from(["OTHER", "COST_CENTER", "PROJECT", "TAX_CODE", "GL_ACCOUNT"]), max_size=2
)
ALL_VALUES = sorted({v for values in TARGET_VALUES.values() for v in values} | {"K1", "K2", "K3"})


@st.composite
def facts(draw: st.DrawFn) -> FieldFacts:
    return FieldFacts(
        field=draw(st.sampled_from(["dim_a", "dim_kst", "cf_project"])),
        name=draw(NAMES),
        types=frozenset(draw(TYPES)),
        option_ids=frozenset(draw(st.sets(st.sampled_from(ALL_VALUES), max_size=6))),
    )


@given(facts(), st.randoms())
def test_the_decision_depends_on_the_evidence_not_its_order(fact: FieldFacts, rng: object) -> None:
    """Rebuilding the same facts in another order gives the same decision."""
    ids = list(fact.option_ids)
    rng.shuffle(ids)  # type: ignore[attr-defined]
    again = FieldFacts(fact.field, fact.ramp_id, fact.name, frozenset(fact.types), frozenset(ids))
    assert decide(fact, VISMA) == decide(again, VISMA)


@given(facts())
def test_a_decision_names_a_target_visma_has_and_says_why(fact: FieldFacts) -> None:
    """Every target is one Visma has (segments included) or 'ignore'; undecided means no
    target and no 'decided by'; either way the evidence is in words."""
    decision = decide(fact, VISMA)
    assert decision.evidence
    if decision.target is None:
        assert decision.decided_by == ""
    else:
        assert decision.target in TARGET_VALUES or decision.target == "ignore"
        assert decision.decided_by in ("category type", "value overlap", "name")


@given(facts())
def test_a_strong_category_type_always_wins(fact: FieldFacts) -> None:
    """GL_ACCOUNT, PROJECT or TAX_CODE alone decides, whatever the name and values say."""
    strong = fact.types & {"GL_ACCOUNT", "PROJECT", "TAX_CODE", "COST_CENTER"}
    decision = decide(fact, VISMA)
    if len(strong) == 1 and strong <= {"GL_ACCOUNT", "PROJECT", "TAX_CODE"}:
        expected = {"GL_ACCOUNT": "account", "PROJECT": "project", "TAX_CODE": "vat"}
        assert decision.target == expected[next(iter(strong))]
        assert decision.decided_by == "category type"
    if len(strong) > 1:
        assert decision.target is None


@given(st.sampled_from(sorted(TARGET_VALUES)), NAMES, st.data())
def test_values_of_exactly_one_target_beat_any_name(
    target: str, name: str, data: st.DataObject
) -> None:
    """A field whose options all belong to one candidate, and to no other, binds to it by
    overlap, whatever its name."""
    others = {v for t, values in TARGET_VALUES.items() if t != target for v in values}
    own = sorted(TARGET_VALUES[target] - others)
    ids = data.draw(st.sets(st.sampled_from(own), min_size=1))
    decision = decide(FieldFacts("dim", name=name, option_ids=frozenset(ids)), VISMA)
    assert (decision.target, decision.decided_by) == (target, "value overlap")


@given(NAMES, st.sets(st.sampled_from(["K1", "K2", "K3"]), min_size=1))
def test_a_name_never_binds_values_visma_does_not_hold(name: str, ids: set[str]) -> None:
    """Options none of which is a Visma value are never bound to a target with values, by
    name or otherwise."""
    decision = decide(FieldFacts("dim", name=name, option_ids=frozenset(ids)), VISMA)
    assert decision.target is None or not TARGET_VALUES.get(decision.target)


def test_gl_accounts_with_internal_ids_bind_by_their_codes() -> None:
    """A GL category whose account ids are internal (an earlier ERP's) and whose codes are the
    account numbers sends the codes."""
    facts = _facts(
        "Category", "Konto", gl_category=True, ids={"514", "515"}, codes={"6800", "7140"}
    )
    decision = decide(facts, VISMA)
    assert (decision.target, decision.via) == ("account", "code")
