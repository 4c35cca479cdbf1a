"""Nordic organisation and VAT numbers: normalise, validate by check digit, format.

A supplier's identity is its national business number. The same number hides behind many
spellings: ``923 609 016``, ``NO 923609016 MVA``, ``556036-0793``, ``SE556036079301``,
``DK-12 34 56 78``, ``2617416-4``, ``FI26174164``. :func:`parse_business_id` reduces each to
one :class:`BusinessId` (country + national digits) and checks it with its country's rule:

| country | national number | check | VAT form |
|---|---|---|---|
| NO | organisasjonsnummer, 9 digits | mod 11, weights 3 2 7 6 5 4 3 2 | ``NO`` + 9 + ``MVA`` |
| SE | organisationsnummer, 10 digits (12 with a century prefix) | Luhn | ``SE`` + 10 + ``01`` |
| DK | CVR, 8 digits | mod 11, weights 2 7 6 5 4 3 2 1 | ``DK`` + 8 |
| FI | Y-tunnus, 7 digits + check (``1234567-8``) | mod 11, weights 7 9 10 5 8 4 2 | ``FI`` + 8 |

A number whose check digit fails is *invalid* and is never used to match a supplier. A number
from another country (``DE812871812``) has no check here: it is *unchecked*, used only as an
exact match, and only when its country prefix says where it is from. A bare number whose
country cannot be told (eight digits that pass both the Danish and the Finnish rule, say) is
*ambiguous* and not used either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CHECKED_COUNTRIES",
    "BusinessId",
    "IdKind",
    "Validity",
    "check_dk_cvr",
    "check_fi_business_id",
    "check_no_org",
    "check_se_org",
    "clean_number",
    "parse_business_id",
]


class IdKind(StrEnum):
    ORG = "org_number"  # the national registration number (Visma ``corporateId``)
    VAT = "vat_number"  # the VAT registration (Visma ``vatRegistrationId``)


class Validity(StrEnum):
    VALID = "valid"  # the country's check digit holds
    INVALID = "invalid"  # the check digit fails: a typo, never trusted
    UNCHECKED = "unchecked"  # a foreign number with a country prefix: exact matches only
    AMBIGUOUS = "ambiguous"  # the country cannot be told: not trusted


def _weighted_mod11(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11


def check_no_org(digits: str) -> bool:
    """A Norwegian organisation number: 9 digits, mod 11 (a remainder giving 10 is invalid)."""
    if not re.fullmatch(r"[89]\d{8}", digits):
        return False
    remainder = _weighted_mod11(digits[:8], (3, 2, 7, 6, 5, 4, 3, 2))
    check = (11 - remainder) % 11
    return check != 10 and check == int(digits[8])


def check_se_org(digits: str) -> bool:
    """A Swedish organisationsnummer (or personnummer of a sole trader): 10 digits, Luhn."""
    if not re.fullmatch(r"\d{10}", digits):
        return False
    total = 0
    for index, char in enumerate(digits[:9]):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10 == int(digits[9])


def check_dk_cvr(digits: str) -> bool:
    """A Danish CVR number: 8 digits, not starting with 0, weighted sum divisible by 11."""
    if not re.fullmatch(r"[1-9]\d{7}", digits):
        return False
    return _weighted_mod11(digits, (2, 7, 6, 5, 4, 3, 2, 1)) == 0


def check_fi_business_id(digits: str) -> bool:
    """A Finnish Y-tunnus without its dash: 7 digits and a mod-11 check digit."""
    if not re.fullmatch(r"\d{8}", digits):
        return False
    remainder = _weighted_mod11(digits[:7], (7, 9, 10, 5, 8, 4, 2))
    if remainder == 1:
        return False
    return (0 if remainder == 0 else 11 - remainder) == int(digits[7])


_CHECKS: dict[str, Callable[[str], bool]] = {
    "NO": check_no_org,
    "SE": check_se_org,
    "DK": check_dk_cvr,
    "FI": check_fi_business_id,
}
CHECKED_COUNTRIES = frozenset(_CHECKS)
_LENGTHS = {"NO": 9, "SE": 10, "DK": 8, "FI": 8}


@dataclass(frozen=True)
class BusinessId:
    """One business number, reduced to its country and national digits."""

    country: str  # ISO 3166 alpha-2, "" when it cannot be told
    number: str  # the national number: digits (other countries: letters and digits)
    kind: IdKind  # what the source called it (a VAT form always makes it VAT)
    validity: Validity
    raw: str  # as it was found

    @property
    def trusted(self) -> bool:
        """Whether it may be used to match a supplier."""
        return self.validity is Validity.VALID or (
            self.validity is Validity.UNCHECKED and bool(self.country)
        )

    @property
    def key(self) -> str:
        """``"NO:923609016"``: the form the supplier index compares."""
        return f"{self.country}:{self.number}"

    @property
    def org_form(self) -> str:
        """The organisation number as registries print it (``556036-0793``, ``2617416-4``); a
        foreign one as it was written."""
        if self.country not in CHECKED_COUNTRIES:
            return self.raw.strip()
        if self.country == "SE":
            return f"{self.number[:6]}-{self.number[6:]}"
        if self.country == "FI":
            return f"{self.number[:7]}-{self.number[7:]}"
        return self.number

    @property
    def vat_form(self) -> str:
        """The EU/EEA VAT form (``NO923609016MVA``, ``SE556036079301``, ``DK…``, ``FI…``)."""
        if self.country == "NO":
            return f"NO{self.number}MVA"
        if self.country == "SE":
            return f"SE{self.number}01"
        return f"{self.country}{self.number}"


_SEPARATORS = re.compile(r"[\s.\-/:_\u00a0\u2010-\u2015]+")


def clean_number(text: str) -> str:
    """Upper case, without spaces, dots, dashes, slashes or colons: ``"no 923.609-016 mva"``
    → ``"NO923609016MVA"``."""
    cleaned = text
    for _ in range(4):  # until stable: removing a separator can let characters compose
        step = _SEPARATORS.sub("", unicodedata.normalize("NFKC", cleaned).upper())
        step = unicodedata.normalize("NFKC", step)
        if step == cleaned:
            break
        cleaned = step
    return cleaned


_FOREIGN = re.compile(r"([A-Z]{2})([0-9A-Z]{2,14})")
# The VAT prefixes of the EU, the EEA, Switzerland and the UK ("EL" is Greece, "XI" Northern
# Ireland): a number that starts with one of them is a foreign VAT number.
_VAT_PREFIXES = frozenset(
    (
        "AT",
        "BE",
        "BG",
        "CH",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "GB",
        "HR",
        "HU",
        "IE",
        "IS",
        "IT",
        "LI",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "XI",
    )
)


def parse_business_id(
    text: str, *, kind: IdKind = IdKind.ORG, country_hint: str | None = None
) -> BusinessId | None:
    """The business number ``text`` spells, or None when it does not look like one at all.

    ``kind`` is what the source called it (a form label, a keyword); a VAT prefix or suffix
    makes it VAT whatever the label said. ``country_hint`` (the vendor's country, or the
    label's) settles eight bare digits, which can be Danish or Finnish.
    """
    raw = text.strip()
    if re.fullmatch(r"\d{6,7}\s*-\s*\d", raw):  # the Finnish dash form, old ones padded
        digits = re.sub(r"\D", "", raw).rjust(8, "0")
        return _make("FI", digits, kind, raw)
    cleaned = clean_number(raw)
    if not cleaned or not any(ch.isdigit() for ch in cleaned):
        return None
    prefixed = _prefixed(cleaned)
    if prefixed is not None:
        country, digits, is_vat = prefixed
        return _make(country, digits, IdKind.VAT if is_vat else kind, raw)
    hint = (country_hint or "").upper()
    if cleaned.isdigit():
        return _bare(cleaned, kind, raw, hint)
    foreign = _FOREIGN.fullmatch(cleaned)
    if foreign is not None and foreign.group(1) in _VAT_PREFIXES and _digit_count(cleaned) >= 2:
        prefix = foreign.group(1)
        if not hint or hint == prefix or (prefix, hint) == ("EL", "GR"):
            return BusinessId(prefix, foreign.group(2), IdKind.VAT, Validity.UNCHECKED, raw)
    if hint and hint not in CHECKED_COUNTRIES and _digit_count(cleaned) >= 2:
        return BusinessId(hint, cleaned, kind, Validity.UNCHECKED, raw)
    return None


def _digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


# Nordic spellings with a country prefix or the MVA suffix: (country, pattern, is a VAT form).
_PREFIXED = (
    ("NO", r"(?:NO)?(\d{9})MVA", True),
    ("NO", r"NO(\d{9})", False),
    ("SE", r"SE(\d{10})01", True),
    ("SE", r"SE(\d{10})", False),
    ("DK", r"DK(\d{8})", True),
    ("FI", r"FI(\d{8})", True),
)


def _prefixed(cleaned: str) -> tuple[str, str, bool] | None:
    """``(country, national digits, is a VAT form)`` for a prefixed Nordic spelling."""
    for country, pattern, is_vat in _PREFIXED:
        found = re.fullmatch(pattern, cleaned)
        if found is not None:
            return country, found.group(1), is_vat
    return None


def _bare(digits: str, kind: IdKind, raw: str, hint: str) -> BusinessId:
    """A number without a country prefix: the country comes from its length and checks."""
    if len(digits) == 12 and digits[:2] in ("16", "18", "19", "20"):
        digits = digits[2:]  # a Swedish number with its century (or "16" for legal persons)
    if hint and hint not in CHECKED_COUNTRIES:
        return BusinessId(hint, digits, kind, Validity.UNCHECKED, raw)
    candidates = [c for c, length in _LENGTHS.items() if length == len(digits)]
    if hint in candidates:
        return _make(hint, digits, kind, raw)
    if len(candidates) == 1:
        return _make(candidates[0], digits, kind, raw)
    passing = [c for c in candidates if _CHECKS[c](digits)]
    if len(passing) == 1:
        return _make(passing[0], digits, kind, raw)
    validity = Validity.AMBIGUOUS if passing else Validity.INVALID
    return BusinessId("", digits, kind, validity, raw)


def _make(country: str, digits: str, kind: IdKind, raw: str) -> BusinessId:
    check = _CHECKS.get(country)
    if check is None:
        return BusinessId(country, digits, kind, Validity.UNCHECKED, raw)
    valid = len(digits) == _LENGTHS[country] and check(digits)
    return BusinessId(country, digits, kind, Validity.VALID if valid else Validity.INVALID, raw)
