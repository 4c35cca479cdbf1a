"""Per-connection switches for the optional flows (purchase orders F3, bill payments) and the
credit memo rule.

All are off by default and live in the connection's settings (``purchase_orders``,
``payments``, ``credit_memo_prefix``), where the flows read them on every unit of work, so a
change applies without a restart. This module merges an operator's change into the stored
settings and validates the result with the flows' own parsers, so a bad value is refused before
anything is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.flows.context import credit_memo_prefix
from ml_connector.flows.payments import PaymentOptions
from ml_connector.flows.po_plan import ProcurementOptions

__all__ = ["FeatureChange", "merged_feature_settings"]


@dataclass(frozen=True)
class FeatureChange:
    """What an operator asked to change; ``None`` leaves the stored value as it is."""

    purchase_orders: bool | None = None
    po_tolerance_percent: str | None = None
    payments: bool | None = None
    cash_account: str | None = None
    payment_method: str | None = None
    po_inventory_item: str | None = None  # "" removes it
    credit_memo_prefix: str | None = None  # "" turns the rule off

    def is_empty(self) -> bool:
        return all(value is None for value in vars(self).values())


def merged_feature_settings(settings: Mapping[str, Any], change: FeatureChange) -> dict[str, Any]:
    """``settings`` with ``change`` merged in; a bad value raises ``ConfigurationError``."""
    merged = dict(settings)
    current = ConnectionSettings.parse(settings)
    orders = dict(current.purchase_orders)
    if change.purchase_orders is not None:
        orders["enabled"] = change.purchase_orders
    if change.po_tolerance_percent is not None:
        orders["tolerance_percent"] = _percent(change.po_tolerance_percent)
    if change.po_inventory_item is not None:
        orders["inventory_item"] = change.po_inventory_item.strip() or None
    payments = dict(current.payments)
    if change.payments is not None:
        payments["enabled"] = change.payments
    if change.cash_account is not None:
        payments["cash_account"] = change.cash_account.strip() or None
    if change.payment_method is not None:
        payments["payment_method"] = change.payment_method.strip() or None
    if payments.get("enabled") and not payments.get("cash_account"):
        raise ConfigurationError(
            "payments: a Visma cash account is needed before payments can be switched on "
            "(--cash-account)"
        )
    if change.credit_memo_prefix is not None:
        merged["credit_memo_prefix"] = credit_memo_prefix(change.credit_memo_prefix)
    if orders:
        merged["purchase_orders"] = orders
    if payments:
        merged["payments"] = payments
    checked = ConnectionSettings.parse(merged)
    ProcurementOptions.from_settings(checked)
    PaymentOptions.from_settings(checked)
    return merged


def _percent(text: str) -> str:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ConfigurationError(f"po tolerance: {text!r} is not a number") from None
    if not value.is_finite() or value < 0 or value > 100:
        raise ConfigurationError(f"po tolerance: {text!r} must be between 0 and 100 percent")
    return str(value)  # stored as exact text, never a float
