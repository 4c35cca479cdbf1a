"""A dry run (``plan_bill``) shows exactly the payload the following sync sends to Visma."""

from __future__ import annotations

from decimal import Decimal

from integration.core.company import BILL_KAFFE_2
from integration.core.world import World
from ml_connector.audit import AuditKind
from ml_connector.flows.bills import plan_bill
from ml_connector.sandbox.seed import SeedBillLine

_NEW_LINES = [
    SeedBillLine(200_000, "Kaffe, rettet", "7160", "100", "10", "X"),
    SeedBillLine(12_345, "Frakt", "6800", "200", "20", "P1001"),
]


async def test_planned_payload_is_the_payload_the_sync_sends(world: World) -> None:
    """After an edit in Ramp, the plan equals the mapped payload the sync then PUTs to Visma."""
    await world.sync()
    world.ramp.update_bill(BILL_KAFFE_2, lines=_NEW_LINES, memo="KAF-3002 rettet")
    connection = await world.runtime.store.get_connection(world.name)
    ctx = await world.runtime.context(connection)
    planned = await plan_bill(ctx, await ctx.ramp.get_bill(BILL_KAFFE_2))

    await world.requeue(BILL_KAFFE_2)
    summary = await world.sync()

    assert summary.visma_invoices_updated == 1
    record = (await world.records())[BILL_KAFFE_2]
    assert record.payload == planned
    entries = await world.runtime.store.list_audit(world.connection_id, record.id)
    mapped = [e.data for e in entries if e.kind == AuditKind.MAPPED_PAYLOAD.value]
    assert mapped[-1]["payload"] == planned
    stored = world.invoice_of(BILL_KAFFE_2)
    assert stored["description"] == planned["description"] == "KAF-3002 rettet"
    assert stored["supplier"]["number"] == planned["supplier_number"]
    sent = [
        (line["account_number"], Decimal(line["cost_in_currency"])) for line in planned["lines"]
    ]
    kept = [
        (line["account"]["number"], Decimal(str(line["costInCurrency"])))
        for line in stored["invoiceLines"]
    ]
    assert sent == kept == [("7160", Decimal("2000.00")), ("6800", Decimal("123.45"))]
