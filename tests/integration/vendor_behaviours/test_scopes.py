"""Scopes: a connection asks only for what its enabled flows use; ping names what is missing.

The Ramp app lacks ``purchase_orders:read`` and the Visma application lacks the ``delete``
scope. With purchase orders turned on, both are asked for as optional: Ramp drops its scope
silently, Visma refuses the token request until it is left out. ``ping`` passes and names
both, with what stops without them; bills still sync.
"""

from __future__ import annotations

from pathlib import Path

from integration.core.company import READY_BILLS, core_dataset
from integration.core.world import open_world, operator_settings
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor

RAMP_APP = frozenset(
    {"bills:read", "bills:write", "vendors:read", "vendors:write", "accounting:read",
     "accounting:write", "entities:read"}
)  # fmt: skip
VISMA_APP = frozenset(f"vismanet_erp_service_api:{v}" for v in ("read", "create", "update"))


async def test_ping_names_missing_optional_scopes_and_passes(tmp_path: Path) -> None:
    """Both systems ok; the missing optional scopes are named with their consequence."""
    settings = {**operator_settings(core_dataset()), "purchase_orders": {"enabled": True}}
    async with open_world(
        tmp_path,
        connection_settings=settings,
        ramp_options={"allowed_scopes": RAMP_APP},
        visma_options={"allowed_scopes": VISMA_APP},
    ) as world:
        results = await admin.ping(Actor.local_admin("tests"), world.runtime, world.name)

        by_system = {r.system: r.as_dict() for r in results}
        assert all(r.ok for r in results), results
        assert by_system["ramp"]["missing_optional_scopes"] == ["purchase_orders:read"]
        assert "purchase orders and PO-matched bills do not sync" in by_system["ramp"]["detail"]
        assert by_system["visma"]["missing_optional_scopes"] == ["vismanet_erp_service_api:delete"]
        assert "archived" in by_system["visma"]["detail"]
        connection = await world.runtime.store.get_connection(world.name)
        assert connection.health_message == ""


async def test_tokens_ask_only_for_what_the_flows_use(tmp_path: Path) -> None:
    """Bills only: no bills:write, entities:read or purchase-order scope is ever requested."""
    async with open_world(tmp_path) as world:
        await world.sync()

        await world.check_exactly_once()
        assert set(world.invoices_by_bill()) == set(READY_BILLS)
        (ramp_scopes,) = set(world.ramp.tokens.granted())
        assert ramp_scopes == {
            "bills:read",
            "vendors:read",
            "vendors:write",
            "accounting:read",
            "accounting:write",
        }
        (visma_scopes,) = set(world.visma.tokens.granted())
        assert "vismanet_erp_service_api:delete" in visma_scopes  # optional, and granted here
