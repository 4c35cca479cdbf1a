"""A supplier blocked in Visma after it was linked stops new bills before any write."""

from __future__ import annotations

from datetime import date

from integration.runtime.conftest import World
from ml_connector.runtime.sync import sync_once
from ml_connector.sandbox.seed import SeedBillLine
from ml_connector.store import LinkKind, SyncStatus


async def test_bill_for_a_blocked_linked_supplier_needs_attention(world: World) -> None:
    """Pre-flight names the blocked supplier; no invoice is posted for the bill."""
    await sync_once(world.runtime, world.name)
    connection = await world.runtime.store.get_connection(world.name)
    vendor_link = (await world.runtime.store.list_links(connection.id, LinkKind.VENDOR))[0]
    assert vendor_link.visma_id is not None
    world.setup.visma.set_supplier_status(vendor_link.visma_id, "OnHold")
    bill = world.setup.ramp.create_bill(
        vendor_id=vendor_link.ramp_id,
        invoice_number="BLOCKED-1",
        lines=[SeedBillLine(12_500, "Rekvisita", "6560", "100", "10", "X")],
        issued_at=date.today(),
        due_at=date.today(),
    )
    (await world.runtime.context(connection)).master.invalidate()
    posts_before = len(
        world.setup.visma.journal.entries(method="POST", path_contains="supplierInvoice")
    )
    await sync_once(world.runtime, world.name)
    record = await world.runtime.store.find_record(connection.id, "bill", bill["id"])
    assert record is not None
    assert record.status == SyncStatus.NEEDS_ATTENTION
    assert record.error_code == "supplier_blocked"
    assert f"Supplier {vendor_link.visma_id} is OnHold" in (record.last_error or "")
    posts_after = len(
        world.setup.visma.journal.entries(method="POST", path_contains="supplierInvoice")
    )
    assert posts_after == posts_before
