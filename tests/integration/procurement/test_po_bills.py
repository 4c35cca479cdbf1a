"""Bills Ramp matched to a purchase order: linked invoice lines, and the open-amount check.

The Ramp order and its bills sync in one pass (orders first). Each invoice line is linked to
the order line it bills, so Visma shows the match (``poNumber``/``poLineNr``). A bill beyond the
order's open amount by more than the connection's tolerance needs a person before anything is
written: the Visma request log shows no write at all.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from integration.core.company import VENDOR_ATEA
from integration.procurement.procurement_kit import Shop, line, open_shop
from ml_connector.store import SyncStatus

LAPTOPS = line(3_750_000, "Laptop", "6552", project="P1001")
DOCKS = line(480_100, "Dokkstasjon", "6560", cost_centre="200", department="20", project="X")
ORDERS_ON = {"purchase_orders": {"enabled": True}}


def _order(shop: Shop) -> str:
    """Three laptops at 12 500 and two docks at 2 400.50: 42 301.00 NOK."""
    laptop = line(1_250_000, "Laptop", "6552", project="P1001")
    dock = line(240_050, "Dokkstasjon", "6560", cost_centre="200", department="20", project="X")
    return shop.create_order(VENDOR_ATEA, [(laptop, 3), (dock, 2)], number="PO-3001").id


def _links(invoice: dict[str, Any]) -> list[tuple[str | None, str | None, int | None]]:
    return [
        (ln.get("transactionDescription"), ln.get("poNumber"), ln.get("poLineNr"))
        for ln in sorted(invoice["invoiceLines"], key=lambda ln: ln["lineNumber"])
    ]


async def test_bill_lines_link_to_the_order_lines(tmp_path: Path) -> None:
    """Each invoice line carries the order number and the line it bills, matched by content."""
    async with open_shop(tmp_path, settings=ORDERS_ON) as shop:
        order_id = _order(shop)
        bill = shop.ramp.create_bill(
            vendor_id=VENDOR_ATEA,
            invoice_number="ATE-9001",
            lines=[DOCKS, LAPTOPS],  # in another order than the purchase order's lines
            purchase_order_id=order_id,
        )

        summary = await shop.sync()

        assert summary.by_type["purchase_order"]["created"] == 1
        number = shop.visma_order(order_id)["orderNbr"]
        invoice = shop.invoice_of(bill["id"])
        assert _links(invoice) == [("Dokkstasjon", number, 2), ("Laptop", number, 1)]
        assert Decimal(str(invoice["amount"])) == Decimal("42301.00")
        assert shop.ramp.state.bills[bill["id"]].sync_status.value == "BILL_SYNCED"


async def test_bills_without_an_order_are_not_linked(tmp_path: Path) -> None:
    """The core company's bills (no purchase order) sync exactly as before."""
    async with open_shop(tmp_path, settings=ORDERS_ON) as shop:
        _order(shop)
        summary = await shop.sync()
        assert summary.visma_invoices_created == 8
        for invoice in shop.visma.invoices():
            assert all(ln.get("poNumber") is None for ln in invoice["invoiceLines"])


async def test_over_tolerance_bill_needs_attention_before_any_write(tmp_path: Path) -> None:
    """A bill exceeding the order's open amount beyond tolerance: no Visma call writes."""
    async with open_shop(tmp_path, settings=ORDERS_ON) as shop:
        order_id = _order(shop)
        await shop.sync()  # the order and the company's other bills
        bill = shop.ramp.create_bill(
            vendor_id=VENDOR_ATEA,
            invoice_number="ATE-9002",
            lines=[LAPTOPS, line(480_100 + 200_000, "Dokkstasjon", "6560")],
            purchase_order_id=order_id,
        )
        mark = shop.journal_mark()

        summary = await shop.sync()

        assert summary.needs_attention == 1
        record = await shop.record("bill", bill["id"])
        assert (record.status, record.error_code) == (
            SyncStatus.NEEDS_ATTENTION,
            "po_over_tolerance",
        )
        assert "PO-3001" in (record.last_error or "")
        assert "42301.00" in (record.last_error or "")  # the open amount, in the message
        assert record.hint
        assert shop.visma_writes(mark) == []
        assert not [i for i in shop.visma.invoices() if bill["id"] in str(i.get("note"))]


async def test_tolerance_lets_a_small_excess_through(tmp_path: Path) -> None:
    """Within the configured tolerance (5% of the order), the bill is written and linked."""
    settings = {"purchase_orders": {"enabled": True, "tolerance_percent": "5"}}
    async with open_shop(tmp_path, settings=settings) as shop:
        order_id = _order(shop)
        bill = shop.ramp.create_bill(
            vendor_id=VENDOR_ATEA,
            invoice_number="ATE-9003",
            lines=[LAPTOPS, line(480_100 + 150_000, "Dokkstasjon", "6560")],
            purchase_order_id=order_id,
        )
        await shop.sync()
        number = shop.visma_order(order_id)["orderNbr"]
        assert [link[1:] for link in _links(shop.invoice_of(bill["id"]))] == [
            (number, 1),
            (number, 2),
        ]


async def test_second_bill_counts_against_what_is_left(tmp_path: Path) -> None:
    """After a bill for the laptops, a bill for more than the docks left open is stopped."""
    async with open_shop(tmp_path, settings=ORDERS_ON) as shop:
        order_id = _order(shop)
        first = shop.ramp.create_bill(
            vendor_id=VENDOR_ATEA,
            invoice_number="ATE-9004",
            lines=[LAPTOPS],
            purchase_order_id=order_id,
        )
        await shop.sync()
        assert _links(shop.invoice_of(first["id"]))[0][2] == 1
        second = shop.ramp.create_bill(
            vendor_id=VENDOR_ATEA,
            invoice_number="ATE-9005",
            lines=[line(500_000, "Dokkstasjon", "6560")],
            purchase_order_id=order_id,
        )
        await shop.sync()
        record = await shop.record("bill", second["id"])
        assert record.error_code == "po_over_tolerance"
        assert "4801.00" in (record.last_error or "")
