"""Where a Ramp vendor carries its organisation and VAT numbers, and which of them to trust.

A customer builds its own vendor onboarding form, so the labels are theirs: "Org.nr",
"Organisationsnummer", "CVR-nr", "Y-tunnus", "Business ID", "MVA-nummer", "Momsreg.nr",
"ALV-numero" … :class:`LabelSet` holds a default list of Nordic and English labels for each
kind of number, which a connection can extend. Labels compare without case, accents, spacing
or punctuation, and a label that contains a known one as whole words ("Organisasjonsnummer
(9 siffer)") counts.

:func:`identify_vendor` reads, strongest evidence first:

1. form answers under a recognised label;
2. free text (the legal name, the description, answers under labels it does not know), where
   a number counts only in a form that says what it is: a VAT spelling (``NO…MVA``,
   ``SE…01``, ``DK…``, ``FI…``), a Finnish ``1234567-8`` or Swedish ``556036-0793``, or a
   number right after a recognised label ("Org.nr.: 923 609 016").

Every number found is checked (``mapping.identifiers``). One that fails its check digit is
reported and never used. When free text offers two different valid numbers of one kind and no
form answer settles it, neither is used: the vendor is then matched by name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ml_connector.mapping.identifiers import BusinessId, IdKind, Validity, parse_business_id

__all__ = [
    "DEFAULT_ORG_LABELS",
    "DEFAULT_VAT_LABELS",
    "FoundNumber",
    "LabelSet",
    "VendorIdentity",
    "fold_label",
    "fold_name",
    "identify_vendor",
]

# Labels a vendor form may use; a label's country (when it has one) settles 8-digit numbers.
DEFAULT_ORG_LABELS: tuple[str, ...] = (
    "Organisasjonsnummer",
    "Organisasjonsnr",
    "Org.nr",
    "Org nr",
    "Orgnr",
    "Org.nummer",
    "Org. no",
    "Organisationsnummer",
    "Organisationsnr",
    "Organisation number",
    "Organization number",
    "Organisation no",
    "Company number",
    "Company registration number",
    "Company reg no",
    "Registration number",
    "Business ID",
    "Business identity code",
    "Foretaksnummer",
    "Företagsnummer",
    "CVR",
    "CVR-nr",
    "CVR-nummer",
    "CVR number",
    "Y-tunnus",
    "Yritystunnus",
)
DEFAULT_VAT_LABELS: tuple[str, ...] = (
    "VAT",
    "VAT number",
    "VAT no",
    "VAT ID",
    "VAT registration number",
    "VAT reg no",
    "EU VAT",
    "MVA",
    "MVA-nummer",
    "MVA-nr",
    "Momsnummer",
    "Momsnr",
    "Moms-nr",
    "Momsreg.nr",
    "Momsregistreringsnummer",
    "EU-momsnummer",
    "SE-nr",
    "SE-nummer",
    "ALV-numero",
    "ALV-tunniste",
    "ALV-rekisteröintinumero",
)
# Folded label words that name the country of the number they label.
_LABEL_COUNTRY = {
    "cvr": "DK",
    "ytunnus": "FI",
    "yritystunnus": "FI",
    "alv": "FI",
    "mva": "NO",
    "organisasjonsnummer": "NO",
    "organisationsnummer": "SE",
    "momsregistreringsnummer": "SE",
}


def fold_label(text: str) -> tuple[str, ...]:
    """A label as lower-case ASCII words: ``"Org.-nr (Företag)"`` → ``("org", "nr", "foretag")``."""
    folded = unicodedata.normalize("NFKD", text.casefold().replace("ø", "o").replace("æ", "ae"))
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return tuple(word for word in re.split(r"[^0-9a-z]+", plain) if word)


def fold_name(name: str) -> str:
    """A company name as matching compares it: ``"Atea  A/S."`` → ``"atea a s"``."""
    return " ".join(fold_label(name))


def _contains(words: tuple[str, ...], known: tuple[str, ...]) -> bool:
    if "".join(words) == "".join(known):
        return True
    size = len(known)
    return any(words[i : i + size] == known for i in range(len(words) - size + 1))


@dataclass(frozen=True)
class LabelSet:
    """The form labels read as organisation and VAT numbers (defaults plus a connection's)."""

    org: tuple[str, ...] = DEFAULT_ORG_LABELS
    vat: tuple[str, ...] = DEFAULT_VAT_LABELS

    def extended(self, org: Iterable[str] = (), vat: Iterable[str] = ()) -> LabelSet:
        return LabelSet(
            tuple(dict.fromkeys((*self.org, *org))), tuple(dict.fromkeys((*self.vat, *vat)))
        )

    def kind_of(self, label: str) -> IdKind | None:
        """The kind of number ``label`` asks for; the longer known label wins a tie."""
        words = fold_label(label)
        if not words:
            return None
        best: tuple[int, IdKind] | None = None
        for kind, known_labels in ((IdKind.ORG, self.org), (IdKind.VAT, self.vat)):
            for known in known_labels:
                known_words = fold_label(known)
                if known_words and _contains(words, known_words):
                    weight = len("".join(known_words))
                    if best is None or weight > best[0]:
                        best = (weight, kind)
        return None if best is None else best[1]

    def keyword_pattern(self) -> str:
        """A regex alternation of every label, tolerant of the separators between words."""
        spellings = sorted({w for w in (*self.org, *self.vat) if fold_label(w)}, key=len)
        parts = [r"[\s.\-]*".join(re.escape(word) for word in re.split(r"[\s.\-]+", s) if word)
                 for s in reversed(spellings)]  # fmt: skip
        return "|".join(parts)


def label_country(label: str) -> str | None:
    """The country a label's words name (CVR → DK, Y-tunnus → FI), if any."""
    words = fold_label(label)
    for word in (*words, "".join(words)):
        if word in _LABEL_COUNTRY:
            return _LABEL_COUNTRY[word]
    return None


@dataclass(frozen=True)
class FoundNumber:
    """A number found on the vendor, where it was found, and what was made of it."""

    id: BusinessId
    source: str  # "form: Org.nr", "description", "name_legal", "form text: Notes"

    def as_audit(self) -> dict[str, Any]:
        return {
            "value": self.id.raw,
            "source": self.source,
            "kind": self.id.kind.value,
            "country": self.id.country or None,
            "check": self.id.validity.value,
        }


@dataclass(frozen=True)
class VendorIdentity:
    """The numbers trusted for matching, and those seen but not trusted (with why)."""

    org: FoundNumber | None = None
    vat: FoundNumber | None = None
    rejected: tuple[tuple[FoundNumber, str], ...] = ()

    def keys(self) -> tuple[str, ...]:
        """Index keys of the trusted numbers: ``("NO:923609016",)``; org first."""
        found = [f.id.key for f in (self.org, self.vat) if f is not None]
        return tuple(dict.fromkeys(found))

    @property
    def corporate_id(self) -> str | None:
        """What a new Visma supplier gets as ``corporateId`` (derived from the VAT number when
        only that is known: a Nordic VAT number is the organisation number with a prefix)."""
        if self.org is not None:
            return self.org.id.org_form
        if self.vat is not None and self.vat.id.validity is Validity.VALID:
            return self.vat.id.org_form
        return None

    @property
    def vat_registration_id(self) -> str | None:
        if self.vat is None:
            return None
        if self.vat.id.validity is Validity.VALID:
            return self.vat.id.vat_form
        return self.vat.id.raw.strip()

    def as_audit(self) -> dict[str, Any]:
        return {
            "org_number": self.org.as_audit() if self.org else None,
            "vat_number": self.vat.as_audit() if self.vat else None,
            "not_used": [{**f.as_audit(), "why": why} for f, why in self.rejected],
        }


@dataclass
class _Collector:
    country: str | None
    form: dict[IdKind, list[FoundNumber]] = field(default_factory=dict)
    text: dict[IdKind, list[FoundNumber]] = field(default_factory=dict)
    rejected: list[tuple[FoundNumber, str]] = field(default_factory=list)

    def add(self, found: FoundNumber, *, from_form: bool) -> None:
        if not found.id.trusted:
            why = {
                Validity.INVALID: "check digit or length is wrong",
                Validity.AMBIGUOUS: "the country cannot be told",
            }.get(found.id.validity, "no country prefix")
            self.rejected.append((found, why))
            return
        bucket = self.form if from_form else self.text
        bucket.setdefault(found.id.kind, []).append(found)

    def pick(self, kind: IdKind) -> FoundNumber | None:
        """The one number of ``kind``: a form answer beats free text; a tie of two is none."""
        chosen: FoundNumber | None = None
        for bucket, where in ((self.form, "form answers"), (self.text, "free text")):
            distinct = {f.id.key: f for f in bucket.get(kind, [])}
            if chosen is not None:
                for key, found in distinct.items():
                    if key != chosen.id.key:
                        self.rejected.append((found, "differs from the form answer"))
                continue
            if len(distinct) > 1:
                for found in distinct.values():
                    self.rejected.append((found, f"several different numbers in the {where}"))
                return None
            if distinct:
                chosen = next(iter(distinct.values()))
        return chosen


def identify_vendor(
    answers: Sequence[tuple[str, str]],
    texts: Sequence[tuple[str, str]],
    *,
    labels: LabelSet | None = None,
    country: str | None = None,
) -> VendorIdentity:
    """The vendor's trusted organisation and VAT numbers.

    ``answers`` are ``(label, text)`` form answers; ``texts`` are ``(source, text)`` free text
    such as ``("description", …)``; ``country`` is the vendor's own country, a hint for bare
    numbers.
    """
    labels = labels or LabelSet()
    collector = _Collector(country)
    for label, text in answers:
        kind = labels.kind_of(label)
        if kind is None:
            for found in scan_text(text, f"form text: {label}", labels, country):
                collector.add(found, from_form=False)
            continue
        hint = label_country(label) or country
        parsed = parse_business_id(text, kind=kind, country_hint=hint)
        if parsed is not None:
            collector.add(FoundNumber(parsed, f"form: {label}"), from_form=True)
        else:
            for found in scan_text(text, f"form: {label}", labels, country):
                collector.add(found, from_form=True)
    for source, text in texts:
        for found in scan_text(text, source, labels, country):
            collector.add(found, from_form=False)
    org = collector.pick(IdKind.ORG)
    vat = collector.pick(IdKind.VAT)
    if org is not None and vat is not None and org.id.country == vat.id.country:
        nordic = org.id.validity is Validity.VALID and vat.id.validity is Validity.VALID
        if nordic and org.id.number != vat.id.number:
            collector.rejected.append((vat, "does not belong to the organisation number"))
            vat = None
    return VendorIdentity(org, vat, tuple(collector.rejected))


# --- free text ------------------------------------------------------------------------------

_NUMBER = r"(?:[A-Z]{2}[\s\-]?)?\d[\d\s.\-]{5,16}\d(?:[\s\-]?MVA)?"
_SHAPED = re.compile(
    r"(?<![\w\-])(?:"
    r"NO[\s\-]?\d{3}[\s.]?\d{3}[\s.]?\d{3}[\s\-]?MVA"
    r"|\d{3}[\s.]?\d{3}[\s.]?\d{3}[\s\-]?MVA"
    r"|SE[\s\-]?\d{6}-?\d{4}01"
    r"|DK[\s\-]?\d{2}\s?\d{2}\s?\d{2}\s?\d{2}"
    r"|FI[\s\-]?\d{8}"
    r"|\d{7}-\d"
    r"|\d{6}-\d{4}"
    r")(?![\w\-])",
    re.IGNORECASE,
)


def scan_text(text: str, source: str, labels: LabelSet, country: str | None) -> list[FoundNumber]:
    """Business numbers in free text, each in a form that says what it is (module docstring)."""
    found: list[FoundNumber] = []
    spans: list[tuple[int, int]] = []
    keyword = re.compile(
        rf"(?<![\w])({labels.keyword_pattern()})\.?[\s:#.\-]*(?:nr\.?|no\.?|number)?[\s:#.]*"
        rf"({_NUMBER})(?![\w])",
        re.IGNORECASE,
    )
    for match in keyword.finditer(text):
        label, value = match.group(1), match.group(2)
        kind = labels.kind_of(label) or IdKind.ORG
        hint = label_country(label) or country
        parsed = _best_prefix(value, kind, hint)
        if parsed is not None:
            found.append(FoundNumber(parsed, source))
            spans.append(match.span(2))
    for match in _SHAPED.finditer(text):
        if any(start <= match.start() < end for start, end in spans):
            continue
        parsed = parse_business_id(match.group(0), country_hint=country)
        if parsed is not None:
            found.append(FoundNumber(parsed, source))
    return found


def _best_prefix(value: str, kind: IdKind, hint: str | None) -> BusinessId | None:
    """The number at the start of ``value``: the whole run of digits when it checks out, else
    the longest run of its space-separated groups that does ("923 609 016 22 33" → the first
    three groups), else the whole run, reported as it is."""
    groups = value.split()
    whole = parse_business_id(value, kind=kind, country_hint=hint)
    if whole is not None and whole.validity is Validity.VALID:
        return whole
    for size in range(len(groups) - 1, 0, -1):
        shorter = parse_business_id(" ".join(groups[:size]), kind=kind, country_hint=hint)
        if shorter is not None and shorter.validity is Validity.VALID:
            return shorter
    return whole
