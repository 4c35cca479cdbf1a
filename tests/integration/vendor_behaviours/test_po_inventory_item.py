"""A Visma company whose purchase-order lines must name an inventory item.

Ramp's order lines carry no item, so such a company refuses every order the connector would
write. Until the connection names a non-stock item for Ramp's lines the order needs
attention, with Visma's words and the command that fixes it; with the item, the order is
written once, every line carrying it.
"""

from __future__ import annotations

from pathlib import Path

from integration.core.company import VENDOR_ATEA
from integration.procurement.procurement_kit import PO_PATH, line, open_shop
from ml_connector.runtime.features import FeatureChange, merged_feature_settings
from ml_connector.sandbox.visma.behaviour import CompanyBehaviour
from ml_connector.store import SyncStatus

NEEDS_ITEMS = {
    "behaviour": CompanyBehaviour(
        po_lines_need_inventory=True, inventory_items={"RAMP-KJOP": "Innkjøp fra Ramp"}
    )
}
LAPTOP = line(1_250_000, "Laptop", "6552", project="P1001")
DOCK = line(240_050, "Dokkstasjon", "6560", project="X")


async def test_lines_need_an_item_until_the_connection_names_one(tmp_path: Path) -> None:
    """Refused with a clear fix; after ``--po-inventory-item RAMP-KJOP`` one order, item on
    every line."""
    settings = {"purchase_orders": {"enabled": True}}
    async with open_shop(tmp_path, settings=settings, visma_options=NEEDS_ITEMS) as shop:
        order = shop.create_order(VENDOR_ATEA, [(LAPTOP, 3), (DOCK, 2)], number="PO-3001")

        await shop.sync("purchase-orders")

        record = await shop.record("purchase_order", order.id)
        assert (record.status, record.error_code) == (
            SyncStatus.NEEDS_ATTENTION,
            "po_inventory_item",
        )
        assert "'Inventory ID' cannot be empty" in (record.last_error or "")
        assert "--po-inventory-item" in (record.hint or "")
        assert shop.visma_orders(order.id) == []

        connection = await shop.runtime.store.get_connection(shop.name)
        merged = merged_feature_settings(
            connection.settings.as_stored(), FeatureChange(po_inventory_item="RAMP-KJOP")
        )
        await shop.runtime.store.update_connection_settings(connection.id, merged)
        await shop.runtime.store.upsert_record(
            shop.connection_id, "purchase_order", order.id, reason="test: replay", replay=True
        )
        await shop.sync("purchase-orders")

        written = shop.visma_order(order.id)
        assert [ln["inventory"]["number"] for ln in written["lines"]] == ["RAMP-KJOP"] * 2
        assert [e.status for e in shop.visma.journal.entries("POST", PO_PATH)] == [400, 201]


async def test_an_unknown_item_is_named_in_the_message(tmp_path: Path) -> None:
    """An item the company does not have: needs attention naming the item and Visma's text."""
    settings = {"purchase_orders": {"enabled": True, "inventory_item": "FINNES-IKKE"}}
    async with open_shop(tmp_path, settings=settings, visma_options=NEEDS_ITEMS) as shop:
        order = shop.create_order(VENDOR_ATEA, [(LAPTOP, 1)], number="PO-3002")

        await shop.sync("purchase-orders")

        record = await shop.record("purchase_order", order.id)
        assert record.error_code == "po_inventory_item"
        assert "FINNES-IKKE" in (record.last_error or "")
        assert "cannot be found" in (record.last_error or "")
