"""Purchase orders through webhooks: Ramp signs ``purchase_orders.*`` events to the receiver.

Each event lands in the inbox, queues a ``purchase_order`` record, and a worker pass (as the
service runs it) brings the Visma order in step: created, edited, archived; duplicated
deliveries change nothing. A connection that leaves purchase orders off stores the events and
writes nothing to Visma.
"""

from __future__ import annotations

from pathlib import Path

from integration.core.company import VENDOR_ATEA
from integration.procurement.procurement_kit import PO_PATH, line, open_shop
from ml_connector.sandbox.delivery import DeliveryFaults
from ml_connector.store import EventStatus, SyncStatus

EVENTS = ["purchase_orders.created", "purchase_orders.updated", "purchase_orders.archived"]
LAPTOP = line(1_250_000, "Laptop", "6552")
CABLE = line(19_900, "Kabel", "6560", project=None)


async def test_order_events_keep_visma_in_step(tmp_path: Path) -> None:
    """Created, updated (twice delivered) and archived in Ramp: one Visma order, right lines."""
    async with open_shop(tmp_path, settings={"purchase_orders": {"enabled": True}}) as shop:
        await shop.subscribe(EVENTS)
        shop.ramp.webhooks.faults = DeliveryFaults(duplicate_rate=1.0)

        order = shop.create_order(VENDOR_ATEA, [(LAPTOP, 2)], number="PO-4001")
        await shop.deliver_and_work()
        number = shop.visma_order(order.id)["orderNbr"]

        shop.edit_order_lines(order.id, add=[(CABLE, 3)])
        await shop.deliver_and_work()
        lines = shop.visma_order(order.id)["lines"]
        assert [(ln["lineNbr"], ln["lineDescription"], ln["orderQty"]) for ln in lines] == [
            (1, "Laptop", 2),
            (2, "Kabel", 3),
        ]

        shop.ramp.archive_purchase_order(order.id)
        await shop.deliver_and_work()
        assert shop.visma_order(order.id)["status"] == "Hold"

        assert len(shop.visma.purchase_orders()) == 1
        assert shop.posts(PO_PATH) == ["201"]
        assert [e.status for e in shop.visma.journal.entries("PUT", PO_PATH)] == [204, 204]
        assert all(e.path == f"{PO_PATH}/{number}" for e in shop.visma.journal.entries("PUT"))
        events = await shop.runtime.store.list_events(shop.connection_id, type_prefix="purchase_")
        assert {e.type for e in events} == set(EVENTS)
        assert len(events) == 3  # duplicates were de-duplicated by event id
        assert {e.status for e in events} == {EventStatus.PROCESSED}
        record = await shop.record("purchase_order", order.id)
        assert record.status is SyncStatus.SUCCEEDED


async def test_orders_off_means_nothing_reaches_visma(tmp_path: Path) -> None:
    """Without ``purchase_orders.enabled`` the events are kept, the record skipped, Visma idle."""
    async with open_shop(tmp_path) as shop:
        await shop.subscribe(EVENTS)
        order = shop.create_order(VENDOR_ATEA, [(LAPTOP, 1)], number="PO-4002")
        await shop.deliver_and_work()
        assert shop.visma.purchase_orders() == []
        record = await shop.record("purchase_order", order.id)
        assert record.status is SyncStatus.SUCCEEDED
        assert shop.visma_writes() == []
