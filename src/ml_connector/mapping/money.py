"""Money conversions: Ramp's integer minor units ↔ Visma's Decimal amounts. Never a float.

Ramp sends ``{"amount": 96993, "currency_code": "NOK"}`` (minor units, ISO-4217 exponent);
Visma takes and returns decimal numbers in the document currency. Conversion is exact in both
directions for every currency in ``EXPONENTS``; an unknown currency is an error, not a guess.
"""

from __future__ import annotations

from decimal import Decimal

from ml_connector.errors import NeedsAttention

__all__ = ["EXPONENTS", "exponent", "from_decimal", "to_decimal"]

# ISO-4217 minor-unit exponents for the currencies a Nordic company meets in practice.
EXPONENTS: dict[str, int] = {
    "NOK": 2,
    "SEK": 2,
    "DKK": 2,
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "PLN": 2,
    "ISK": 0,
    "JPY": 0,
    "CAD": 2,
    "AUD": 2,
}


def exponent(currency: str) -> int:
    """Minor-unit exponent of ``currency``; NeedsAttention for a currency we do not know."""
    try:
        return EXPONENTS[currency.upper()]
    except KeyError:
        raise NeedsAttention(
            f"Currency {currency!r} is not supported by the connector",
            hint="Ask the operator to add the currency, or pay the bill in a supported currency.",
            code="unsupported_currency",
        ) from None


def to_decimal(minor: int, currency: str) -> Decimal:
    """``12345`` NOK → ``Decimal("123.45")``; exact."""
    return Decimal(minor).scaleb(-exponent(currency))


def from_decimal(amount: Decimal, currency: str) -> int:
    """``Decimal("123.45")`` NOK → ``12345``; refuses amounts finer than the currency allows."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)
