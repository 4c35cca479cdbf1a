"""Nordic business numbers: check digits, spellings and the country a bare number is from."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.mapping.identifiers import (
    BusinessId,
    IdKind,
    Validity,
    check_dk_cvr,
    check_fi_business_id,
    check_no_org,
    check_se_org,
    clean_number,
    parse_business_id,
)

# --- the published algorithms, written out again here so the tests do not trust the code ----


def no_check(body: str) -> int | None:
    """Norway: weights 3 2 7 6 5 4 3 2, check = 11 - sum mod 11 (11 → 0, 10 → no number)."""
    check = 11 - sum(int(d) * w for d, w in zip(body, (3, 2, 7, 6, 5, 4, 3, 2), strict=False)) % 11
    return None if check == 10 else check % 11


def luhn_check(body: str) -> int:
    total = 0
    for index, char in enumerate(body):
        doubled = int(char) * (2 if index % 2 == 0 else 1)
        total += doubled // 10 + doubled % 10
    return (10 - total % 10) % 10


def dk_valid(number: str) -> bool:
    return sum(int(d) * w for d, w in zip(number, (2, 7, 6, 5, 4, 3, 2, 1), strict=False)) % 11 == 0


def fi_check(body: str) -> int | None:
    remainder = sum(int(d) * w for d, w in zip(body, (7, 9, 10, 5, 8, 4, 2), strict=False)) % 11
    return None if remainder == 1 else (0 if remainder == 0 else 11 - remainder)


digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@st.composite
def no_numbers(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from("89")) + draw(st.text("0123456789", min_size=7, max_size=7))
    check = no_check(body)
    if check is None:
        body = body[:-1] + str((int(body[-1]) + 1) % 10)
        check = no_check(body)
    assert check is not None
    return body + str(check)


@st.composite
def se_numbers(draw: st.DrawFn) -> str:
    body = draw(st.text("0123456789", min_size=9, max_size=9))
    return body + str(luhn_check(body))


@st.composite
def dk_numbers(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from("123456789")) + draw(st.text("0123456789", min_size=5, max_size=5))
    for last in "0123456789":  # some body digit always completes a multiple of 11
        for check in "0123456789":
            if dk_valid(body + last + check):
                return body + last + check
    raise AssertionError("unreachable")


@st.composite
def fi_numbers(draw: st.DrawFn) -> str:
    body = draw(st.text("0123456789", min_size=7, max_size=7))
    check = fi_check(body)
    if check is None:
        body = body[:-1] + str((int(body[-1]) + 1) % 10)
        check = fi_check(body)
    assert check is not None
    return body + str(check)


CHECKS = {
    "NO": (check_no_org, no_numbers()),
    "SE": (check_se_org, se_numbers()),
    "DK": (check_dk_cvr, dk_numbers()),
    "FI": (check_fi_business_id, fi_numbers()),
}


@pytest.mark.parametrize(
    ("check", "number", "valid"),
    [
        (check_no_org, "923609016", True),
        (check_no_org, "974760673", True),
        (check_no_org, "923609017", False),
        (check_no_org, "123609016", False),  # Norwegian numbers start with 8 or 9
        (check_se_org, "5560360793", True),
        (check_se_org, "5565475489", True),
        (check_se_org, "5560360794", False),
        (check_dk_cvr, "24256790", True),
        (check_dk_cvr, "10150817", True),
        (check_dk_cvr, "24256791", False),
        (check_fi_business_id, "01120389", True),
        (check_fi_business_id, "26174164", True),
        (check_fi_business_id, "26174165", False),
    ],
)
def test_known_numbers(check: object, number: str, valid: bool) -> None:
    """Registry-style examples pass their country's check; a changed check digit fails."""
    assert callable(check)
    assert check(number) is valid


@pytest.mark.parametrize("country", sorted(CHECKS))
@given(data=st.data())
def test_every_well_formed_number_passes_its_check(country: str, data: st.DataObject) -> None:
    """A number built by the published rule passes the country's check."""
    check, numbers = CHECKS[country]
    assert check(data.draw(numbers))


@pytest.mark.parametrize("country", sorted(CHECKS))
@given(data=st.data())
def test_one_wrong_digit_is_always_caught(country: str, data: st.DataObject) -> None:
    """Changing any single digit of a valid number makes it fail (a typo is never trusted)."""
    check, numbers = CHECKS[country]
    number = data.draw(numbers)
    position = data.draw(st.integers(0, len(number) - 1))
    digit = data.draw(digits.filter(lambda d: d != number[position]))
    assert not check(number[:position] + digit + number[position + 1 :])


@given(number=no_numbers(), pad=st.sampled_from([" ", ".", "-", " . ", "\u00a0"]))
def test_norwegian_spellings_all_reduce_to_one_number(number: str, pad: str) -> None:
    """Spaces, dots, dashes, the NO prefix and the MVA suffix do not change the number."""
    grouped = pad.join((number[:3], number[3:6], number[6:]))
    for spelling in (grouped, f"NO{grouped}MVA", f"no {grouped} mva", f"{number}MVA"):
        parsed = parse_business_id(spelling)
        assert parsed is not None
        assert (parsed.country, parsed.number, parsed.validity) == ("NO", number, Validity.VALID)
    assert parse_business_id(f"NO {grouped} MVA").kind is IdKind.VAT  # type: ignore[union-attr]


@given(number=se_numbers())
def test_swedish_spellings_all_reduce_to_one_number(number: str) -> None:
    """556036-0793, 5560360793, SE556036079301 and a 12-digit form are one number."""
    dashed = f"{number[:6]}-{number[6:]}"
    for spelling in (dashed, number, f"SE{number}01", f"16{number}", f"se {dashed} 01"):
        parsed = parse_business_id(spelling)
        assert parsed is not None
        assert (parsed.country, parsed.number, parsed.validity) == ("SE", number, Validity.VALID)


@given(number=fi_numbers())
def test_finnish_spellings_all_reduce_to_one_number(number: str) -> None:
    """1234567-8 and FI12345678 are one Y-tunnus; the dash form needs no country hint."""
    for spelling in (f"{number[:7]}-{number[7]}", f"FI{number}", f"FI {number}"):
        parsed = parse_business_id(spelling)
        assert parsed is not None
        assert (parsed.country, parsed.number) == ("FI", number)


@given(text=st.text(max_size=40))
def test_cleaning_is_idempotent(text: str) -> None:
    """Cleaning a cleaned number changes nothing."""
    once = clean_number(text)
    assert clean_number(once) == once


@pytest.mark.parametrize("country", sorted(CHECKS))
@given(data=st.data())
def test_formats_parse_back_to_the_same_number(country: str, data: st.DataObject) -> None:
    """The organisation and VAT forms the connector writes parse back to the same number."""
    number = data.draw(CHECKS[country][1])
    business_id = BusinessId(country, number, IdKind.ORG, Validity.VALID, number)
    for text in (business_id.org_form, business_id.vat_form):
        parsed = parse_business_id(text, country_hint=country)
        assert parsed is not None
        assert (parsed.key, parsed.validity) == (business_id.key, Validity.VALID)


def test_eight_bare_digits_need_the_country() -> None:
    """Eight digits are Danish or Finnish: the hint decides, else the only check that holds."""
    assert parse_business_id("24256790", country_hint="DK").key == "DK:24256790"  # type: ignore[union-attr]
    assert parse_business_id("26174164", country_hint="FI").key == "FI:26174164"  # type: ignore[union-attr]
    only_dk = parse_business_id("24256790")
    assert only_dk is not None
    assert only_dk.country == "DK"
    assert only_dk.trusted
    neither = parse_business_id("12345678")
    assert neither is not None
    assert neither.validity is Validity.INVALID
    assert not neither.trusted


def test_foreign_numbers_are_unchecked_and_exact() -> None:
    """A German VAT number is kept as it is, trusted only with its country prefix."""
    german = parse_business_id("DE 812 871 812")
    assert german is not None
    assert (german.key, german.validity, german.trusted) == (
        "DE:812871812",
        Validity.UNCHECKED,
        True,
    )
    register = parse_business_id("HRB 6089", country_hint="DE")
    assert register is not None
    assert register.country == "DE"
    assert parse_business_id("phone") is None


def test_an_invalid_number_is_kept_but_not_trusted() -> None:
    """A wrong check digit is reported as invalid, with the text as it was found."""
    parsed = parse_business_id("923 609 017")
    assert parsed is not None
    assert (parsed.validity, parsed.trusted, parsed.raw) == (Validity.INVALID, False, "923 609 017")
