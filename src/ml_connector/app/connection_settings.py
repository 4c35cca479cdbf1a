"""``connection set``: a connection's mode, poll schedule, optional flows, claim weight and
supplier settings, merged into its stored settings.

A supplier class, credit terms or VAT zone is checked against the connection's Visma company
before it is stored. Workers read the settings on every unit of work, so a change applies
without a restart.
"""

from __future__ import annotations

from typing import Any

from ml_connector.app.connections import connection_named
from ml_connector.app.principal import Actor, Permission
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.flows.supplier_options import SETTINGS_KEY, SupplierOptions
from ml_connector.runtime.fairness import WEIGHT_SETTING
from ml_connector.runtime.features import FeatureChange, merged_feature_settings
from ml_connector.runtime.schedule import merged_schedule_settings
from ml_connector.runtime.supplier_settings import (
    SupplierChange,
    check_in_visma,
    merged_supplier_settings,
)
from ml_connector.runtime.wiring import Runtime

__all__ = ["SHOWN_SETTINGS", "FeatureChange", "SupplierChange", "configure"]

# What ``connection set`` prints back of the merged settings.
SHOWN_SETTINGS = (
    "mode",
    "poll_interval_s",
    "poll_cron",
    "purchase_orders",
    "payments",
    "credit_memo_prefix",
    WEIGHT_SETTING,
    SETTINGS_KEY,
)


async def configure(
    actor: Actor,
    rt: Runtime,
    name: str,
    *,
    mode: str | None = None,
    interval_s: float | None = None,
    cron: str | None = None,
    change: FeatureChange | None = None,
    claim_weight: int | None = None,
    suppliers: SupplierChange | None = None,
) -> dict[str, Any]:
    """Merge the changes into the connection's settings and store them; the merged settings."""
    connection = await connection_named(actor, rt, name)
    actor.require_on(Permission.ADMIN, connection.id, "change a connection's settings")
    merged = merged_schedule_settings(
        connection.settings.as_stored(), mode=mode, interval_s=interval_s, cron=cron
    )
    if change is not None and not change.is_empty():
        merged = merged_feature_settings(merged, change)
    if claim_weight is not None:
        merged = {**merged, WEIGHT_SETTING: claim_weight}
    if suppliers is not None and not suppliers.is_empty():
        merged = merged_supplier_settings(merged, suppliers)
        if suppliers.touches_visma_ids:
            ctx = await rt.context(connection)
            await check_in_visma(
                ctx.visma, SupplierOptions.from_settings(ConnectionSettings.parse(merged))
            )
    await rt.store.update_connection_settings(connection.id, merged)
    return merged
