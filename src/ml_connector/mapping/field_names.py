"""Field names compared the way people write them, in five languages. Pure; no I/O.

A Ramp accounting field made by a CSV import or an earlier integration carries the customer's own
name ("Kostnadssted", "MVA-kode", "Projekti") and id ("dim_kst"). ``normalise`` folds case,
accents and the Nordic letters (ø → o, æ → ae, å → a) and splits on anything that is not a letter
or digit, so "MVA-kode", "mva kode" and "MVAKODE" compare equal. ``name_keys`` also drops a
leading generic word of an id ("dim_kst" → "kst").

``SYNONYMS`` lists, per Visma target, the names a field for it usually has in Norwegian, Swedish,
Danish, Finnish and English. SUBACCOUNT segments are matched through two concepts, the cost
centre and the department, and through the segment's own description in Visma. A connection can
extend every list (``mapping.field_synonyms`` in its settings, see ``Synonyms.from_settings``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError

__all__ = [
    "COST_CENTRE",
    "DEPARTMENT",
    "SYNONYMS",
    "Synonyms",
    "name_keys",
    "normalise",
]

# Concepts a SUBACCOUNT segment can stand for; segments are matched through them.
COST_CENTRE = "cost centre"
DEPARTMENT = "department"

SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "account": (
        "Konto", "Kontonummer", "Kontonr", "Hovedbokskonto", "Regnskapskonto", "Finanskonto",
        "Kostnadskonto", "Huvudbokskonto", "Bokföringskonto", "Kostkonto", "Finanskonto",
        "Tili", "Tilinumero", "Kirjanpitotili", "Pääkirjatili", "Kulutili",
        "Account", "Account code", "GL account", "GL", "GL code", "General ledger account",
        "Ledger account", "Expense account",
    ),
    COST_CENTRE: (
        "Kostnadssted", "Kostnadsted", "Kostsenter", "Kostnadssenter", "Ansvarssted",
        "Resultatenhet", "KST", "Kostnadsställe", "Kostställe", "Resultatställe",
        "Omkostningssted", "Omkostningscenter", "Resultatenhed", "Kustannuspaikka",
        "Kustannuspaikat", "Tulosyksikkö", "Cost center", "Cost centre", "Cost centers",
        "Cost centres", "CC",
    ),
    DEPARTMENT: (
        "Avdeling", "Avd", "Avdelning", "Afdeling", "Afd", "Osasto", "Department", "Dept",
        "Division",
    ),
    "project": (
        "Prosjekt", "Prosjektnummer", "Prosjektnr", "Projekt", "Projektnummer", "Projektnr",
        "Projekti", "Projektinumero", "Project", "Project number", "Project id", "Proj",
    ),
    "task": (
        "Aktivitet", "Prosjektaktivitet", "Oppgave", "Prosjektoppgave", "Projektaktivitet",
        "Uppgift", "Projektuppgift", "Opgave", "Projektopgave", "Tehtävä", "Projektitehtävä",
        "Task", "Project task", "Activity",
    ),
    "vat": (
        "MVA", "MVA-kode", "Mvakode", "Merverdiavgift", "Avgiftskode", "Skattekode", "Moms",
        "Momskod", "Momskode", "Momssats", "ALV", "ALV-koodi", "Arvonlisävero", "Verokoodi",
        "VAT", "VAT code", "Tax code", "Tax", "Tax rate", "Sales tax",
    ),
}  # fmt: skip

# Words an id often starts with that say nothing about what it holds ("dim_kst", "cf_project").
_GENERIC = frozenset({"dim", "dimension", "field", "custom", "cf", "udf", "attr", "x", "ramp"})
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l", "þ": "th"})
_SPLIT = re.compile(r"[^a-z0-9]+")
_TARGETS = ("account", "project", "task", "vat", "ignore")


def normalise(text: str) -> str:
    """Lower case, no accents, Nordic letters folded, words separated by one space."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(word for word in _SPLIT.split(plain) if word)


def name_keys(text: str) -> frozenset[str]:
    """The forms ``text`` is compared in: squashed ("mvakode"), and without a generic first word."""
    words = normalise(text).split()
    if not words:
        return frozenset()
    keys = {"".join(words)}
    if len(words) > 1 and words[0] in _GENERIC:
        keys.add("".join(words[1:]))
    return frozenset(keys)


def _keys_of(names: Iterable[str]) -> frozenset[str]:
    return frozenset(key for name in names for key in name_keys(name))


def _concept_lists(extra: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    merged = {name: _keys_of(words) for name, words in SYNONYMS.items()}
    for target, words in extra.items():
        merged[target] = merged.get(target, frozenset()) | _keys_of(words)
    return merged


@dataclass(frozen=True)
class Synonyms:
    """The built-in names plus a connection's own, per target (``segment:N`` included)."""

    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: ConnectionSettings) -> Synonyms:
        """``settings["mapping"]["field_synonyms"]``: {target: [name, …]}; checked here."""
        raw = settings.mapping.field_synonyms or {}
        if not isinstance(raw, Mapping):
            raise ConfigurationError("mapping.field_synonyms maps a target to a list of names")
        extra: dict[str, tuple[str, ...]] = {}
        for target, names in raw.items():
            if not _known_target(str(target)):
                raise ConfigurationError(
                    f"mapping.field_synonyms: {target!r} is not account, segment:N, project, "
                    "task, vat or ignore"
                )
            if isinstance(names, str) or not isinstance(names, Sequence):
                raise ConfigurationError(f"mapping.field_synonyms[{target!r}] must be a list")
            extra[str(target)] = tuple(str(n) for n in names)
        return cls(extra)

    def targets_named(self, texts: Iterable[str], segments: Mapping[int, str]) -> frozenset[str]:
        """Every target whose names match one of ``texts`` (a field's name and id).

        ``segments`` maps each Visma segment id to its description: a segment matches its own
        description, the concept that description stands for, and the connection's names for
        ``segment:N``.
        """
        keys = _keys_of(texts)
        if not keys:
            return frozenset()
        lists = _concept_lists(self.extra)
        found = {t for t in _TARGETS if lists.get(t, frozenset()) & keys}
        concepts = {c for c in (COST_CENTRE, DEPARTMENT) if lists[c] & keys}
        for segment_id, description in segments.items():
            target = f"segment:{segment_id}"
            own = name_keys(description) | lists.get(target, frozenset())
            stands_for = {c for c in (COST_CENTRE, DEPARTMENT) if lists[c] & name_keys(description)}
            if own & keys or stands_for & concepts:
                found.add(target)
        return frozenset(found)


def _known_target(text: str) -> bool:
    if text in _TARGETS:
        return True
    prefix, _, number = text.partition(":")
    return prefix == "segment" and number.isdigit() and int(number) >= 1
