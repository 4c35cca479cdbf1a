"""Money and coding end to end: what Ramp says a bill costs is what Visma books, to the øre.

Multi-line bills in NOK, SEK and EUR; a vendor credit; each line's account, subaccount segments,
project and VAT code; the invoice PDF attached exactly once; the bill marked synced in Ramp.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integration.core.company import (
    BILL_KJELL_CREDIT,
    READY_BILLS,
    VAT_BY_ACCOUNT,
    core_dataset,
)
from integration.core.world import INVOICE_PATH, World
from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.seed import SeedBill, SeedBillLine


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def _segments(line: dict[str, Any]) -> list[tuple[int, str]]:
    return [(s["segmentId"], s["segmentValue"]) for s in line["subaccount"]["segments"]]


def _check_line(bill_id: str, got: dict[str, Any], want: SeedBillLine) -> None:
    where = (bill_id, got["lineNumber"])
    assert _money(got["costInCurrency"]) == Decimal(want.amount_minor).scaleb(-2), where
    assert got["account"]["number"] == want.gl_account, where
    assert _segments(got) == [(1, want.cost_centre), (2, want.department)], where
    assert got["project"]["id"] == want.project, where
    assert got["vatCode"]["id"] == (want.vat_code or VAT_BY_ACCOUNT[want.gl_account]), where
    assert got["transactionDescription"] == want.memo, where


def _check_invoice(world: World, bill: SeedBill) -> None:
    invoice = world.invoice_of(bill.id)
    total = Decimal(bill.amount_minor).scaleb(-2)  # NOK, SEK and EUR all have two decimals
    assert invoice["documentType"] == ("DebitAdj" if bill.is_credit else "Invoice")
    assert invoice["currencyId"] == bill.currency
    assert invoice["taxCalculationMode"] == "Gross"
    assert _money(invoice["amount"]) == total, bill.id
    assert _money(invoice["detailTotal"]) == total, bill.id
    assert invoice["supplierReference"] == bill.invoice_number
    lines = sorted(invoice["invoiceLines"], key=lambda line: line["lineNumber"])
    assert len(lines) == len(bill.lines)
    for got, want in zip(lines, bill.lines, strict=True):
        _check_line(bill.id, got, want)
    attachments = invoice.get("attachments") or []
    # Named as the file host says (Content-Disposition): the invoice number.
    assert [(a["name"], a["revision"]) for a in attachments] == [(f"{bill.invoice_number}.pdf", 1)]


async def test_amounts_and_coding_arrive_exactly(world: World) -> None:
    """Every ready bill: Gross total equal to Ramp's, every line coded as in Ramp, PDF once."""
    # The first attachment upload fails before it is stored: its bill retries, attaching once.
    world.visma.faults.add(
        FaultRule(kind="status", status=503, method="POST", path_contains="/attachment")
    )
    await world.sync()

    bills = {bill.id: bill for bill in core_dataset().bills}
    for bill_id in READY_BILLS:
        _check_invoice(world, bills[bill_id])
    assert bills[BILL_KJELL_CREDIT].is_credit
    uploads = world.visma.journal.entries("POST", "/attachment")
    assert [e.status for e in uploads].count(503) == 1
    assert [e.status for e in uploads].count(201) == len(READY_BILLS)
    await world.check_exactly_once()
    world.check_synced_in_ramp(READY_BILLS)


async def test_replayed_pass_changes_nothing(world: World) -> None:
    """Replaying every synced bill posts no invoice, no attachment and no update."""
    await world.sync()
    calls_before = len(world.visma.journal.entries("POST")) + len(
        world.visma.journal.entries("PUT")
    )
    await world.requeue(*READY_BILLS)

    summary = await world.sync()

    assert summary.unchanged == len(READY_BILLS)
    after = len(world.visma.journal.entries("POST")) + len(world.visma.journal.entries("PUT"))
    assert after == calls_before
    assert len(world.invoice_posts()) == len(READY_BILLS)
    assert not world.visma.journal.entries("PUT", INVOICE_PATH)
    await world.check_exactly_once()
