"""Exact JSON at the vendor boundary: Decimals out as literals, numbers in as Decimals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.clients import decode_json, encode_json


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (Decimal("1234.50"), "1234.50"),
        (Decimal("0.1"), "0.1"),
        (Decimal("-0.01"), "-0.01"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1.000000000000000000000000001"), "1.000000000000000000000000001"),
        (Decimal("0E-7"), "0.0000000"),
        (12345678901234567890, "12345678901234567890"),
    ],
)
def test_numbers_are_written_from_their_digits(value: Decimal | int, literal: str) -> None:
    """A Decimal or int becomes exactly the JSON literal of its digits, never a float's."""
    assert encode_json({"v": value}) == f'{{"v":{literal}}}'.encode()


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: abs(d.adjusted()) < 40
    )
)
def test_decimals_round_trip_exactly(value: Decimal) -> None:
    """Any finite Decimal survives encode then decode with its value intact."""
    assert decode_json(encode_json([value])) == [value]


def test_floats_and_non_finite_numbers_are_refused() -> None:
    """Floats cannot carry money exactly, and NaN/Infinity are not JSON: both are refused."""
    with pytest.raises(TypeError):
        encode_json({"amount": 0.1})
    with pytest.raises(ValueError, match="cannot encode"):
        encode_json({"amount": Decimal("NaN")})


def test_nested_values_dates_and_text_encode_as_standard_json() -> None:
    """Nested objects, booleans, None, dates and non-ASCII text come out as plain JSON."""
    encoded = encode_json(
        {
            "name": "Bjørnstad & Sønn AS",
            "when": date(2025, 11, 8),
            "at": datetime(2025, 11, 8, 9, 30, tzinfo=UTC),
            "flags": [True, False, None],
            "nested": {"value": {"inner": {"value": Decimal("2.50")}}},
        }
    )
    assert json.loads(encoded) == {
        "name": "Bjørnstad & Sønn AS",
        "when": "2025-11-08",
        "at": "2025-11-08T09:30:00+00:00",
        "flags": [True, False, None],
        "nested": {"value": {"inner": {"value": 2.5}}},
    }
    assert b'"inner":{"value":2.50}' in encoded


def test_decoding_yields_decimals_and_none_for_empty_bodies() -> None:
    """Non-integer numbers decode to Decimal; an empty body decodes to None."""
    assert decode_json(b'{"amount": 96993, "rate": 1.10}') == {
        "amount": 96993,
        "rate": Decimal("1.10"),
    }
    assert decode_json(b"  ") is None
    with pytest.raises(ValueError, match="non-standard"):
        decode_json(b'{"x": NaN}')
