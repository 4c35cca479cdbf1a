"""F3 through ``sync --only purchase-orders``: Ramp orders become Visma orders and stay in step.

Created, edited (a line added, one changed, one removed) and archived orders end up right in
Visma, one order each, lines matching by content; a Visma-side edit made while the connector
updates the order survives (412, re-read, re-apply); an order Visma no longer lets anyone change
needs a person; an ambiguous create leaves exactly one order.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from integration.core.company import SUPPLIER_ATEA, VENDOR_ATEA, VENDOR_KAFFE
from integration.procurement.procurement_kit import PO_PATH, Shop, line, open_shop
from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.seed import SeedBillLine
from ml_connector.sandbox.visma.state import PurchaseOrderLine
from ml_connector.store import SyncStatus

PROMISED = date.today() + timedelta(days=21)


def _lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    """A Visma order's lines by content (what a person compares), in line-number order."""
    return [
        {
            "description": ln.get("lineDescription"),
            "qty": Decimal(str(ln["orderQty"])),
            "unit_cost": Decimal(str(ln["unitCost"])),
            "account": ln["account"]["number"],
            "segments": {s["segmentId"]: s["segmentValue"] for s in ln["sub"]["segments"]},
            "project": (ln.get("project") or {}).get("id"),
            "type": ln["lineType"],
        }
        for ln in sorted(order["lines"], key=lambda ln: ln["lineNbr"])
    ]


def _expected(spec: SeedBillLine, qty: int) -> dict[str, Any]:
    return {
        "description": spec.memo,
        "qty": Decimal(qty),
        "unit_cost": Decimal(spec.amount_minor).scaleb(-2),
        "account": spec.gl_account,
        "segments": {1: spec.cost_centre, 2: spec.department},
        "project": spec.project,
        "type": "Service",
    }


LAPTOP = line(1_250_000, "Laptop", "6552", project="P1001")
DOCK = line(240_050, "Dokkstasjon", "6560", cost_centre="200", department="20", project="X")
CABLE = line(19_900, "Kabel", "6560", project=None)


async def _ordered(shop: Shop) -> str:
    order = shop.create_order(
        VENDOR_ATEA, [(LAPTOP, 3), (DOCK, 2)], number="PO-2001", promise_date=PROMISED
    )
    summary = await shop.sync("purchase-orders")
    assert summary.by_type["purchase_order"]["created"] == 1, summary
    return order.id


async def test_created_order_becomes_one_visma_order(tmp_path: Path) -> None:
    """Header (type, supplier, currency, promised date, reference) and lines match Ramp."""
    async with open_shop(tmp_path) as shop:
        order_id = await _ordered(shop)

        order = shop.visma_order(order_id)
        assert order["orderType"] == "RegularOrder"
        assert order["status"] == "Open"
        assert order["supplier"]["number"] == SUPPLIER_ATEA
        assert order["currency"] == "NOK"
        assert str(order["promisedOn"])[:10] == PROMISED.isoformat()
        assert order["description"].startswith("PO-2001")
        assert order["supplierRef"] == "PO-2001"
        assert _lines(order) == [_expected(LAPTOP, 3), _expected(DOCK, 2)]
        assert Decimal(str(order["orderTotal"])) == Decimal("42301.00")
        posts = shop.visma.journal.entries("POST", PO_PATH)
        assert [(e.path, e.status) for e in posts] == [(PO_PATH, 201)]
        link = await shop.runtime.store.get_link(shop.connection_id, "purchase_order", order_id)
        assert link is not None
        assert link.visma_id == order["orderNbr"]


async def test_second_pass_writes_nothing(tmp_path: Path) -> None:
    """An order unchanged in Ramp is not queued again, and nothing reaches Visma."""
    async with open_shop(tmp_path) as shop:
        await _ordered(shop)
        mark = shop.journal_mark()
        summary = await shop.sync("purchase-orders")
        assert summary.by_type.get("purchase_order", {}).get("queued", 0) == 0
        assert shop.visma_writes(mark) == []


async def test_edits_become_line_operations(tmp_path: Path) -> None:
    """A line added, one changed and one removed in Ramp: one PUT, lines match by content."""
    async with open_shop(tmp_path) as shop:
        order_id = await _ordered(shop)
        number = shop.visma_order(order_id)["orderNbr"]
        changed = line(1_300_000, "Laptop 16GB", "6552", project="P1002")
        shop.edit_order_lines(order_id, change={0: (changed, 4)}, remove=[1], add=[(CABLE, 10)])
        mark = shop.journal_mark()

        summary = await shop.sync("purchase-orders")

        assert summary.by_type["purchase_order"]["updated"] == 1
        assert shop.visma_writes(mark) == [("PUT", f"{PO_PATH}/{number}", 204)]
        order = shop.visma_order(order_id)
        assert _lines(order) == [_expected(changed, 4), _expected(CABLE, 10)]
        assert sorted(ln["lineNbr"] for ln in order["lines"]) == [1, 3]  # kept, and appended
        assert len(shop.visma.purchase_orders()) == 1


async def test_header_edit_changes_only_the_header(tmp_path: Path) -> None:
    """A new promise date in Ramp sends that field alone; the lines are not touched."""
    async with open_shop(tmp_path) as shop:
        order_id = await _ordered(shop)
        later = PROMISED + timedelta(days=7)

        def apply(target: Any) -> None:
            target.promise_date = later

        shop.ramp.ops.edit_purchase_order(shop.ramp.state.purchase_orders[order_id], apply)
        await shop.sync("purchase-orders")

        order = shop.visma_order(order_id)
        assert str(order["promisedOn"])[:10] == later.isoformat()
        assert _lines(order) == [_expected(LAPTOP, 3), _expected(DOCK, 2)]


async def test_concurrent_visma_edit_survives(tmp_path: Path) -> None:
    """Visma answers 412 to a stale PUT; the connector re-reads and both edits remain."""
    async with open_shop(tmp_path) as shop:
        order_id = await _ordered(shop)
        number = shop.visma_order(order_id)["orderNbr"]
        company = shop.visma.state

        def buyer_adds_freight() -> None:
            with company.lock:
                order = company.purchase_orders[number]
                order.lines.append(
                    PurchaseOrderLine(
                        3, "Freight", Decimal("500.00"), Decimal(1), Decimal("500.00"), "Frakt"
                    )
                )
                order.line_total += Decimal("500.00")
                company.touch(order)

        # Right after the connector reads the order for its update, a buyer edits it in Visma.
        shop.visma_hooks.after("GET", f"{PO_PATH}/{number}", 1, buyer_adds_freight)
        shop.edit_order_lines(order_id, add=[(CABLE, 5)])

        summary = await shop.sync("purchase-orders")

        assert summary.by_type["purchase_order"]["updated"] == 1
        puts = shop.visma.journal.entries("PUT", PO_PATH)
        assert [e.status for e in puts] == [412, 204]
        order = shop.visma_order(order_id)
        by_number = {ln["lineNbr"]: ln.get("lineDescription") for ln in order["lines"]}
        assert by_number == {1: "Laptop", 2: "Dokkstasjon", 3: "Frakt", 4: "Kabel"}


async def test_archived_order_is_put_on_hold(tmp_path: Path) -> None:
    """Archiving in Ramp holds the Visma order (no delete exists); it stays, lines intact."""
    async with open_shop(tmp_path) as shop:
        order_id = await _ordered(shop)
        shop.ramp.archive_purchase_order(order_id, "Cancelled by the buyer")

        summary = await shop.sync("purchase-orders")

        assert summary.by_type["purchase_order"]["held"] == 1
        order = shop.visma_order(order_id)
        assert (order["hold"], order["status"]) == (True, "Hold")
        assert _lines(order) == [_expected(LAPTOP, 3), _expected(DOCK, 2)]
        assert shop.visma.journal.entries("DELETE") == []
        mark = shop.journal_mark()
        await shop.sync("purchase-orders")
        assert shop.visma_writes(mark) == []  # held once; the next pass leaves it be


async def test_order_archived_before_sync_is_skipped(tmp_path: Path) -> None:
    """An order archived before it ever reached Visma creates nothing there."""
    async with open_shop(tmp_path) as shop:
        order = shop.create_order(VENDOR_KAFFE, [(LAPTOP, 1)], number="PO-2002")
        shop.ramp.archive_purchase_order(order.id)
        mark = shop.journal_mark()
        await shop.sync("purchase-orders")
        assert shop.visma.purchase_orders() == []
        assert shop.visma_writes(mark) == []  # not even the supplier


async def test_received_order_needs_attention(tmp_path: Path) -> None:
    """Once Visma has received the order in full (Closed), a Ramp edit needs a person."""
    async with open_shop(tmp_path) as shop:
        order_id = await _ordered(shop)
        number = shop.visma_order(order_id)["orderNbr"]
        shop.visma.receive_purchase_order(number)
        shop.edit_order_lines(order_id, add=[(CABLE, 1)])
        mark = shop.journal_mark()

        summary = await shop.sync("purchase-orders")

        assert summary.needs_attention == 1
        record = await shop.record("purchase_order", order_id)
        assert record.status is SyncStatus.NEEDS_ATTENTION
        assert record.error_code == "po_locked"
        assert number in (record.last_error or "")
        assert "Closed" in (record.last_error or "")
        assert record.hint
        assert shop.visma_writes(mark) == []


async def test_received_line_cannot_change(tmp_path: Path) -> None:
    """A line with receipts refuses a change from Ramp; the record says which line."""
    async with open_shop(tmp_path) as shop:
        order_id = await _ordered(shop)
        number = shop.visma_order(order_id)["orderNbr"]
        shop.visma.receive_purchase_order(number, [1])
        shop.edit_order_lines(order_id, change={0: (LAPTOP, 5)})
        mark = shop.journal_mark()

        await shop.sync("purchase-orders")

        record = await shop.record("purchase_order", order_id)
        assert (record.status, record.error_code) == (
            SyncStatus.NEEDS_ATTENTION,
            "po_line_received",
        )
        assert "line 1" in (record.last_error or "")
        assert shop.visma_writes(mark) == []


async def test_ambiguous_create_leaves_one_order(tmp_path: Path) -> None:
    """Visma commits the POST but the answer fails: the retry finds the order, posts nothing."""
    async with open_shop(tmp_path) as shop:
        shop.visma.faults.add(
            FaultRule(kind="commit_then_fail", method="POST", path_contains="purchaseorder")
        )
        order = shop.create_order(VENDOR_KAFFE, [(LAPTOP, 2)], number="PO-2003")

        summary = await shop.sync("purchase-orders")

        assert summary.by_type["purchase_order"]["created"] == 1
        assert len(shop.visma_orders(order.id)) == 1
        assert len(shop.visma.journal.entries("POST", PO_PATH)) == 1
        suppliers = [s for s in shop.visma.suppliers() if "Kaffe" in str(s.get("name"))]
        assert len(suppliers) == 1  # F2 created the supplier once


async def test_order_without_vendor_needs_attention(tmp_path: Path) -> None:
    """A Ramp order with no vendor cannot have a Visma supplier: a person must choose one."""
    async with open_shop(tmp_path) as shop:
        order = shop.create_order(VENDOR_ATEA, [(LAPTOP, 1)])

        def no_vendor(target: Any) -> None:
            target.vendor_id = None

        shop.ramp.ops.edit_purchase_order(shop.ramp.state.purchase_orders[order.id], no_vendor)
        await shop.sync("purchase-orders")
        record = await shop.record("purchase_order", order.id)
        assert (record.status, record.error_code) == (
            SyncStatus.NEEDS_ATTENTION,
            "po_without_vendor",
        )
        assert shop.visma.purchase_orders() == []


async def test_plain_sync_leaves_orders_alone_until_turned_on(tmp_path: Path) -> None:
    """Without ``--only``, orders sync only when the connection's settings turn them on."""
    async with open_shop(tmp_path) as shop:
        order = shop.create_order(VENDOR_ATEA, [(LAPTOP, 1)], number="PO-2004")
        await shop.sync()
        assert shop.visma.purchase_orders() == []
        await shop.set_settings(purchase_orders={"enabled": True})
        summary = await shop.sync()
        assert summary.by_type["purchase_order"]["created"] == 1
        assert len(shop.visma_orders(order.id)) == 1
