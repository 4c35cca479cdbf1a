"""Bills that change or are archived in Ramp after (or before) they reached Visma.

A changed bill updates its invoice in place while Visma still allows edits (Hold, Balanced); once
released it needs a person ("invoice_locked"). An archived bill removes its draft invoice; one
archived before it was ever synced is skipped.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from integration.core.company import (
    BILL_ATEA,
    BILL_HETZNER_2,
    BILL_KAFFE_2,
    BILL_PENDING,
    READY_BILLS,
    VENDOR_KAFFE,
    core_dataset,
)
from integration.core.world import INVOICE_PATH, World, open_world, operator_settings
from ml_connector.sandbox.seed import SeedBillLine
from ml_connector.store import SyncStatus

_NEW_LINES = [
    SeedBillLine(200_000, "Kaffe, rettet", "7160", "100", "10", "X"),
    SeedBillLine(12_345, "Frakt", "6800", "200", "20", "P1001"),
]


async def _release(world: World, number: str) -> None:
    """Release the invoice in Visma through the API, as an accountant would, and let Visma's
    background worker finish it (the API answers 202 and releases later)."""
    connection = await world.runtime.store.get_connection(world.name)
    ctx = await world.runtime.context(connection)
    accepted = await ctx.visma.release_supplier_invoice("Invoice", number)
    assert accepted.background_id is not None
    assert world.visma.run_background() == 1


@pytest.mark.parametrize(("on_hold", "status"), [(False, "Balanced"), (True, "Hold")])
async def test_changed_bill_updates_the_invoice_until_released(
    tmp_path: Path, on_hold: bool, status: str
) -> None:
    """An edit in Ramp becomes a PUT while the invoice is editable, then needs attention."""
    settings = {**operator_settings(core_dataset()), "post_on_hold": on_hold}
    async with open_world(tmp_path, connection_settings=settings) as world:
        await world.sync()
        number = world.invoice_of(BILL_KAFFE_2)["referenceNumber"]
        assert world.invoice_of(BILL_KAFFE_2)["status"] == status

        world.ramp.update_bill(BILL_KAFFE_2, lines=_NEW_LINES, memo="KAF-3002 rettet")
        await world.requeue(BILL_KAFFE_2)
        summary = await world.sync()

        assert summary.visma_invoices_updated == 1
        puts = world.visma.journal.entries("PUT", INVOICE_PATH)
        assert [(e.path, e.status) for e in puts] == [(f"{INVOICE_PATH}/Invoice/{number}", 204)]
        invoice = world.invoice_of(BILL_KAFFE_2)
        assert invoice["referenceNumber"] == number
        assert Decimal(str(invoice["amount"])) == Decimal("2123.45")
        assert [line["account"]["number"] for line in invoice["invoiceLines"]] == ["7160", "6800"]
        assert len(world.invoice_posts()) == len(READY_BILLS)

        if on_hold:
            return  # a document on Hold cannot be released
        await _release(world, number)
        world.ramp.update_bill(BILL_KAFFE_2, memo="KAF-3002 rettet igjen")
        await world.requeue(BILL_KAFFE_2)
        await world.sync()

        record = (await world.records())[BILL_KAFFE_2]
        assert record.status is SyncStatus.NEEDS_ATTENTION
        assert record.error_code == "invoice_locked"
        assert number in (record.last_error or "")
        assert "Open" in (record.last_error or "")
        assert record.hint
        assert len(world.visma.journal.entries("PUT", INVOICE_PATH)) == 1  # no second PUT
        assert world.invoice_of(BILL_KAFFE_2)["status"] == "Open"


async def test_invoice_changed_in_visma_mid_update_is_read_again(world: World) -> None:
    """A 412 (someone saved the invoice between our read and our PUT) is re-read and re-applied."""
    await world.sync()
    number = world.invoice_of(BILL_KAFFE_2)["referenceNumber"]

    def accountant_saves() -> None:
        company = world.visma.state
        with company.lock:
            company.touch(company.invoices[("Invoice", number)])  # a new row version

    world.visma_hooks.after("GET", f"{INVOICE_PATH}/Invoice/{number}", 1, accountant_saves)
    world.ramp.update_bill(BILL_KAFFE_2, lines=_NEW_LINES)
    await world.requeue(BILL_KAFFE_2)

    await world.sync()

    puts = world.visma.journal.entries("PUT", INVOICE_PATH)
    assert [e.status for e in puts] == [412, 204]
    record = (await world.records())[BILL_KAFFE_2]
    assert (record.status, record.attempts) == (SyncStatus.SUCCEEDED, 1)
    assert Decimal(str(world.invoice_of(BILL_KAFFE_2)["amount"])) == Decimal("2123.45")


async def test_archived_after_sync_deletes_the_draft_invoice(world: World) -> None:
    """Archiving a synced bill in Ramp deletes its (still editable) invoice in Visma."""
    await world.sync()
    number = world.invoice_of(BILL_HETZNER_2)["referenceNumber"]

    world.ramp.archive_bill(BILL_HETZNER_2)
    await world.requeue(BILL_HETZNER_2)
    await world.sync()

    assert BILL_HETZNER_2 not in world.invoices_by_bill()
    deletes = world.visma.journal.entries("DELETE", INVOICE_PATH)
    assert [(e.path, e.status) for e in deletes] == [(f"{INVOICE_PATH}/Invoice/{number}", 204)]
    record = (await world.records())[BILL_HETZNER_2]
    assert record.status is SyncStatus.SUCCEEDED
    others = tuple(b for b in READY_BILLS if b != BILL_HETZNER_2)
    assert set(world.invoices_by_bill()) == set(others)


async def test_archived_before_sync_is_skipped(world: World) -> None:
    """A bill archived before its first sync is skipped: no supplier work, no invoice."""
    created = world.ramp.create_bill(
        vendor_id=VENDOR_KAFFE,
        invoice_number="KAF-3999",
        lines=[{"amount_minor": 5_000, "memo": "Feil", "gl_account": "7160"}],
    )
    bill_id = str(created["id"])
    world.ramp.archive_bill(bill_id)
    await world.requeue(bill_id)  # a webhook for it arrives after all

    summary = await world.sync()

    assert summary.skipped == 1
    record = (await world.records())[bill_id]
    assert record.status is SyncStatus.SUCCEEDED
    assert record.visma_ref is None
    assert bill_id not in world.invoices_by_bill()
    await world.check_exactly_once()


async def test_sync_on_creation_never_syncs_a_rejected_bill(tmp_path: Path) -> None:
    """With sync-on-creation, a pending bill syncs but a rejected one is skipped."""
    settings = {**operator_settings(core_dataset()), "sync_on_creation": True}
    async with open_world(tmp_path, connection_settings=settings) as world:
        world.ramp.state.sync_on_creation = True  # the same setting on Ramp's side
        line = {"amount_minor": 5_000, "memo": "Kaffe", "gl_account": "7160"}
        rejected = str(
            world.ramp.create_bill(
                vendor_id=VENDOR_KAFFE, invoice_number="KAF-R", lines=[line],
                approval_status="REJECTED",
            )["id"]
        )  # fmt: skip
        await world.requeue(rejected)  # its bills.rejected webhook queues it all the same

        summary = await world.sync()

        assert summary.ramp_bills_ready == len(READY_BILLS) + 1  # the pending bill too
        assert summary.skipped == 1
        assert rejected not in world.invoices_by_bill()
        assert (await world.records())[rejected].status is SyncStatus.SUCCEEDED
        world.ready = (*world.ready, BILL_PENDING)
        await world.check_exactly_once()
        world.check_synced_in_ramp(world.ready)


async def test_bill_archived_mid_pass_holds_back_no_other_write_back(world: World) -> None:
    """A bill archived while its invoice was being written: Ramp refuses only its write-back."""
    first = BILL_ATEA  # created first, so queued first: with one worker slot it posts first
    world.visma_hooks.after("POST", INVOICE_PATH, 1, lambda: world.ramp.archive_bill(first))
    await world.sync(concurrency=1)

    others = tuple(b for b in READY_BILLS if b != first)
    world.check_synced_in_ramp(others)
    assert world.ramp.state.bills[first].sync_status.value == "NOT_SYNCED"
    assert len(world.invoices_by_bill()[first]) == 1  # written before the archive was seen

    await world.requeue(first)  # its bills.archived webhook
    await world.sync()

    assert first not in world.invoices_by_bill()
    world.ready = others
    await world.check_exactly_once()
