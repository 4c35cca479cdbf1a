"""Currency exponents and the decimal <-> minor-unit conversions Ramp's API needs.

Ramp answers with ``CurrencyAmount`` objects in integer minor units, but bill and purchase-order
request bodies carry decimals in major units (``"100.50"`` or ``100.5``). Conversions here are
exact: an amount with more decimals than the currency has is refused rather than rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

__all__ = ["exponent", "from_minor", "to_minor"]

# ISO 4217 currencies whose minor unit is not 1/100. Everything else uses two decimals.
_ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])


def exponent(currency: str) -> int:
    """Number of decimals of ``currency``'s minor unit (ISO 4217)."""
    code = currency.upper()
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    return 2


def to_minor(amount: Decimal | int | str, currency: str) -> int:
    """``amount`` in major units as integer minor units; ValueError when it is not exact."""
    try:
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency.upper()} allows")
    return int(scaled)


def from_minor(amount_minor: int, currency: str) -> Decimal:
    """Integer minor units as a ``Decimal`` in major units."""
    return Decimal(amount_minor).scaleb(-exponent(currency))
