"""Money conversion between Ramp minor units and Visma decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.errors import NeedsAttention
from ml_connector.mapping.money import EXPONENTS, from_decimal, to_decimal

currencies = st.sampled_from(sorted(EXPONENTS))


@given(minor=st.integers(min_value=-(10**15), max_value=10**15), currency=currencies)
def test_round_trip_is_exact(minor: int, currency: str) -> None:
    """Minor units survive a trip through Decimal unchanged, in every known currency."""
    assert from_decimal(to_decimal(minor, currency), currency) == minor


@given(parts=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=20))
def test_sum_of_decimals_equals_decimal_of_sum(parts: list[int]) -> None:
    """Adding converted line amounts gives exactly the converted total (no float drift)."""
    assert sum((to_decimal(p, "NOK") for p in parts), Decimal(0)) == to_decimal(sum(parts), "NOK")


def test_known_values() -> None:
    """12345 øre is 123.45 NOK; yen have no minor unit."""
    assert to_decimal(12345, "NOK") == Decimal("123.45")
    assert to_decimal(5000, "JPY") == Decimal("5000")


def test_too_many_decimals_is_refused() -> None:
    """An amount finer than the currency allows is an error, never silently rounded."""
    with pytest.raises(ValueError, match="more decimals"):
        from_decimal(Decimal("1.005"), "EUR")


def test_unknown_currency_needs_attention() -> None:
    """A currency the connector does not know sends the record to a person, with a hint."""
    with pytest.raises(NeedsAttention) as info:
        to_decimal(100, "XBT")
    assert "XBT" in info.value.message
    assert info.value.hint
