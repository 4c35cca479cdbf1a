"""A connection asks only for the scopes its enabled flows use."""

from __future__ import annotations

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.flows.scopes import scope_plan


def test_bills_only_connection_asks_for_bills_vendors_and_accounting() -> None:
    """No purchase-order scope unless purchase orders are on; never bills:write."""
    plan = scope_plan(ConnectionSettings.parse({}))
    assert set(plan.ramp_required) == {
        "bills:read",
        "vendors:read",
        "vendors:write",
        "accounting:read",
        "accounting:write",
    }
    assert plan.ramp_optional == ()
    assert plan.visma_required == (
        "vismanet_erp_service_api:read",
        "vismanet_erp_service_api:create",
        "vismanet_erp_service_api:update",
    )
    assert plan.visma_optional == ("vismanet_erp_service_api:delete",)


def test_purchase_orders_add_their_scope_as_optional_with_its_purpose() -> None:
    """Turning purchase orders on asks for purchase_orders:read, and says what needs it."""
    plan = scope_plan(
        ConnectionSettings.parse(
            {"purchase_orders": {"enabled": True}, "payments": {"enabled": True}}
        )
    )
    assert plan.ramp_optional == ("purchase_orders:read",)
    assert "purchase orders" in plan.explain(("purchase_orders:read",))
    assert "archived" in plan.explain(("vismanet_erp_service_api:delete",))
