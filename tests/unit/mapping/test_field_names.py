"""Field names in five languages: normalisation, the built-in synonyms and a connection's own."""

from __future__ import annotations

import pytest

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.mapping.field_names import Synonyms, name_keys, normalise

SEGMENTS = {1: "Kostnadssted", 2: "Avdeling"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MVA-kode", "mva kode"),
        ("  Kostnadsställe ", "kostnadsstalle"),
        ("Omkostningssted", "omkostningssted"),
        ("Tehtävä", "tehtava"),
        ("Bokføringskonto", "bokforingskonto"),
        ("Afdeling/Æble", "afdeling aeble"),
        ("dim_kst", "dim kst"),
        ("COST CENTER", "cost center"),
        ("Projekt—nr.", "projekt nr"),
        ("", ""),
    ],
)
def test_normalise_folds_case_accents_and_separators(text: str, expected: str) -> None:
    """Case, accents, Nordic letters and punctuation never make two names differ."""
    assert normalise(text) == expected


def test_name_keys_squash_words_and_drop_a_generic_id_prefix() -> None:
    """'MVA-kode' and 'mvakode' share a key; 'dim_kst' is also compared as 'kst'."""
    assert name_keys("MVA-kode") == name_keys("mvakode") == frozenset({"mvakode"})
    assert name_keys("dim_kst") == frozenset({"dimkst", "kst"})
    assert name_keys("  ") == frozenset()


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("Kostnadssted", "segment:1"),
        ("Kostnadsställe", "segment:1"),
        ("Omkostningssted", "segment:1"),
        ("Kustannuspaikka", "segment:1"),
        ("Cost center", "segment:1"),
        ("dim_kst", "segment:1"),
        ("Avdelning", "segment:2"),
        ("Osasto", "segment:2"),
        ("Prosjekt", "project"),
        ("Projekt", "project"),
        ("Projekti", "project"),
        ("MVA-kode", "vat"),
        ("Momskod", "vat"),
        ("Momskode", "vat"),
        ("ALV-koodi", "vat"),
        ("Tax code", "vat"),
        ("Avgiftskode", "vat"),
        ("Konto", "account"),
        ("Tili", "account"),
        ("Aktivitet", "task"),
        ("Task", "task"),
        ("Tehtävä", "task"),
    ],
)
def test_built_in_synonyms_name_one_target(name: str, target: str) -> None:
    """Each language's usual name for a field points to its target, and only to it."""
    assert Synonyms().targets_named([name], SEGMENTS) == frozenset({target})


def test_a_segment_matches_its_own_description_and_its_concept() -> None:
    """A Visma segment named 'Region' matches a field 'Region'; 'Kostnadssted' is a cost centre
    concept, so 'Cost centre' finds it whatever the language."""
    segments = {1: "Region", 3: "Kostnadssted"}
    assert Synonyms().targets_named(["Region"], segments) == frozenset({"segment:1"})
    assert Synonyms().targets_named(["Cost centre"], segments) == frozenset({"segment:3"})


def test_a_segment_named_like_a_project_makes_the_name_ambiguous() -> None:
    """A Visma segment called 'Prosjekt' and the project target both answer to 'Prosjekt'."""
    found = Synonyms().targets_named(["Prosjekt"], {1: "Kostnadssted", 3: "Prosjekt"})
    assert found == frozenset({"project", "segment:3"})


def test_unknown_names_match_nothing() -> None:
    """A name no list holds points nowhere."""
    assert Synonyms().targets_named(["Kampanje", "dim_kampanje"], SEGMENTS) == frozenset()


def test_a_connection_extends_the_lists() -> None:
    """The connection's own names count, per target, including a segment and 'ignore'."""
    settings = {
        "mapping": {
            "field_synonyms": {"segment:2": ["Team"], "project": ["Oppdrag"], "ignore": ["Memo"]}
        }
    }
    names = Synonyms.from_settings(ConnectionSettings.parse(settings))
    assert names.targets_named(["Team"], SEGMENTS) == frozenset({"segment:2"})
    assert names.targets_named(["oppdrag"], SEGMENTS) == frozenset({"project"})
    assert names.targets_named(["MEMO"], SEGMENTS) == frozenset({"ignore"})


@pytest.mark.parametrize(
    "raw",
    [
        {"bogus": ["x"]},
        {"segment:0": ["x"]},
        {"project": "Oppdrag"},
        ["project"],
    ],
)
def test_bad_synonym_settings_are_refused(raw: object) -> None:
    """Unknown targets and names that are not lists are configuration errors."""
    with pytest.raises(ConfigurationError):
        Synonyms.from_settings(ConnectionSettings.parse({"mapping": {"field_synonyms": raw}}))
