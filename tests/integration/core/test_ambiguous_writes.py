"""Writes whose outcome the connector cannot see: exactly one Visma document per bill anyway.

A POST that commits in Visma but answers 5xx, or hangs past the client timeout, or a process
that dies between the POST and the local confirm: each time the next step must find the
invoice by its ``ramp-bill:<id>`` note and adopt it, never post a second one.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from integration.core.company import BILL_ATEA, READY_BILLS
from integration.core.world import INVOICE_PATH, World, open_world
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.seed import SeedBillLine
from ml_connector.store import LinkKind, LinkState, SyncStatus
from support.store_fixtures import backend, world_store

# Every test here runs on SQLite and on PostgreSQL (the world_store fixture).
__all__ = ["backend", "world_store"]


def _created(world: World) -> int:
    """Invoice POSTs that Visma committed (201, or a fault that ran the handler first)."""
    return sum(
        1
        for e in world.invoice_posts()
        if e.status == 201 or e.fault in ("commit_then_fail", "commit_then_hang")
    )


async def test_commit_then_hang_is_adopted_by_lookup(
    tmp_path: Path, world_store: dict[str, Any]
) -> None:
    """An invoice POST that commits and then hangs past the timeout is adopted, not re-posted."""
    async with open_world(tmp_path, http_timeout_s=1.0, **world_store) as world:
        world.visma.faults.add(
            FaultRule(kind="commit_then_hang", method="POST", path_contains=INVOICE_PATH, hang_s=30)
        )
        summary = await world.sync()

        hung = [e for e in world.invoice_posts() if e.fault == "commit_then_hang"]
        assert len(hung) == 1
        assert len(world.invoice_posts()) == len(READY_BILLS)  # nobody posted twice
        assert summary.visma_invoices_created == len(READY_BILLS)
        lookups = world.visma.journal.entries("GET", INVOICE_PATH)
        assert any(e.seq > hung[0].seq and e.path == INVOICE_PATH for e in lookups)
        await world.check_exactly_once()
        world.check_synced_in_ramp(READY_BILLS)


async def test_commit_then_fail_at_a_rate_never_duplicates(world: World) -> None:
    """A 30% rate of 500-after-commit on invoice and attachment POSTs leaves one invoice each."""
    world.visma.faults.add(
        FaultRule(
            kind="commit_then_fail",
            status=500,
            method="POST",
            path_contains="supplierInvoice",
            count=None,
            rate=0.3,
        )
    )
    await world.sync()

    faulted = [e for e in world.visma.journal.entries("POST") if e.fault == "commit_then_fail"]
    assert faulted, "the fault rate never fired; the test proves nothing"
    assert len(world.invoice_posts()) == len(READY_BILLS)
    assert _created(world) == len(READY_BILLS)
    await world.check_exactly_once()
    for bill_id in READY_BILLS:
        attachments = world.invoice_of(bill_id).get("attachments") or []
        assert len(attachments) == 1, (bill_id, attachments)
    world.check_synced_in_ramp(READY_BILLS)


async def test_supplier_and_invoice_commit_then_fail_heal_by_matching(world: World) -> None:
    """500-after-commit on the first supplier creations: the next attempt matches, not creates."""
    world.visma.faults.add(
        FaultRule(kind="commit_then_fail", method="POST", path_contains="/v1/supplier", count=3)
    )
    summary = await world.sync()

    assert summary.retrying == 0
    assert len(world.visma.suppliers()) == 5  # two seeded, three new vendors, no twins
    await world.check_exactly_once()
    links = await world.runtime.store.list_links(world.connection_id, LinkKind.VENDOR)
    assert all(link.state is LinkState.CONFIRMED for link in links)
    assert len({link.visma_id for link in links}) == len(links)


async def test_lost_confirm_after_commit_is_adopted_next_attempt(world: World) -> None:
    """POST commits, its 500 hides it and the lookup fails too: the retry adopts, never reposts."""
    world.visma.faults.add(
        FaultRule(kind="commit_then_fail", method="POST", path_contains=INVOICE_PATH, count=1)
    )
    # Four failing lookups exhaust the in-call retries of the first lookup after the 500.
    world.visma.faults.add(
        FaultRule(kind="status", status=503, method="GET", path_contains=INVOICE_PATH, count=4)
    )
    await world.sync(concurrency=1)

    records = await world.records()
    retried = [r for r in records.values() if r.attempts > 1]
    assert len(retried) == 1
    attempts = await world.runtime.store.list_attempts(retried[0].id)
    waits = [a for a in attempts if a.status is SyncStatus.RETRY_WAIT]
    assert len(waits) == 1
    assert "503" in (waits[0].error or "")
    assert len(world.invoice_posts()) == len(READY_BILLS)  # exactly one POST per bill
    await world.check_exactly_once()


async def test_crash_between_post_and_confirm_adopts_on_rerun(world: World) -> None:
    """A link left ``attempted`` (a crash after the POST) is adopted by reference on the rerun."""
    await world.sync()
    before = world.invoice_of(BILL_ATEA)
    # What a crash between the Visma POST and the local confirm leaves behind.
    changed = await world.db.execute(
        "UPDATE links SET state = 'attempted', visma_id = NULL, data = '{}' "
        "WHERE connection_id = :c AND kind = 'bill' AND ramp_id = :b",
        {"c": world.connection_id, "b": BILL_ATEA},
    )
    assert changed == 1
    posts = len(world.invoice_posts())
    await world.requeue(BILL_ATEA)

    await world.sync()

    assert len(world.invoice_posts()) == posts  # looked up and adopted, not posted again
    link = await world.runtime.store.get_link(world.connection_id, LinkKind.BILL, BILL_ATEA)
    assert link is not None
    assert link.state is LinkState.CONFIRMED
    assert link.visma_id == f"Invoice/{before['referenceNumber']}"
    await world.check_exactly_once()
    assert len(world.invoice_of(BILL_ATEA).get("attachments") or []) == 1


# A retry that falls due long after the pass ends: the record waits with its link attempted.
_LATER = RetryPolicy(max_attempts=8, base_s=600, cap_s=600, floor_s=600)


async def _leave_one_post_uncertain(world: World) -> str:
    """Run a pass in which one invoice POST commits but neither its answer nor a lookup lands.

    Returns the bill left waiting with an ``attempted`` link and an invoice in Visma.
    """
    world.visma.faults.add(
        FaultRule(kind="commit_then_fail", method="POST", path_contains=INVOICE_PATH, count=1)
    )
    world.visma.faults.add(
        FaultRule(kind="status", status=503, method="GET", path_contains=INVOICE_PATH, count=4)
    )
    await world.sync(concurrency=1, policy=_LATER, settle_s=0)
    waiting = [r for r in (await world.records()).values() if r.status is SyncStatus.RETRY_WAIT]
    assert len(waiting) == 1
    bill_id = waiting[0].object_id
    link = await world.runtime.store.get_link(world.connection_id, LinkKind.BILL, bill_id)
    assert link is not None
    assert link.state is LinkState.ATTEMPTED
    assert len(world.invoices_by_bill()[bill_id]) == 1  # the POST did commit
    return bill_id


async def test_bill_edited_after_an_uncertain_post_updates_the_adopted_invoice(
    world: World,
) -> None:
    """An edit between an uncertain POST and its retry reaches the adopted invoice (no repost)."""
    bill_id = await _leave_one_post_uncertain(world)
    edited = [SeedBillLine(77_700, "Rettet", "6800", "100", "10", "X")]
    world.ramp.update_bill(bill_id, lines=edited)
    await world.requeue(bill_id)

    await world.sync()

    invoice = world.invoice_of(bill_id)
    assert Decimal(str(invoice["amount"])) == Decimal("777.00")
    assert [line["account"]["number"] for line in invoice["invoiceLines"]] == ["6800"]
    assert len(world.invoice_posts()) == len(READY_BILLS)
    ref = f"{INVOICE_PATH}/Invoice/{invoice['referenceNumber']}"
    assert [e.path for e in world.visma.journal.entries("PUT", INVOICE_PATH)] == [ref]
    await world.check_exactly_once()
    world.check_synced_in_ramp(READY_BILLS)


async def test_bill_archived_after_an_uncertain_post_removes_the_invoice(world: World) -> None:
    """A bill archived while its POST was uncertain: the invoice is found and deleted."""
    bill_id = await _leave_one_post_uncertain(world)
    number = world.invoice_of(bill_id)["referenceNumber"]
    world.ramp.archive_bill(bill_id)
    await world.requeue(bill_id)

    await world.sync()

    assert bill_id not in world.invoices_by_bill()
    deletes = world.visma.journal.entries("DELETE", INVOICE_PATH)
    assert [e.path for e in deletes] == [f"{INVOICE_PATH}/Invoice/{number}"]
    assert (await world.records())[bill_id].status is SyncStatus.SUCCEEDED
    world.ready = tuple(b for b in world.ready if b != bill_id)
    await world.check_exactly_once()


async def test_long_named_vendor_gets_one_supplier_after_an_ambiguous_create(
    world: World,
) -> None:
    """A vendor name longer than a supplier name may be: an ambiguous create is matched later."""
    await world.sync()
    long_name = "Sørvestlandets Rådgivende Ingeniører og Arkitekter Sammenslutning AS"
    vendor = world.ramp.create_vendor(name=long_name)  # no organisation or VAT number
    bill = world.ramp.create_bill(
        vendor_id=str(vendor["id"]),
        invoice_number="SRV-1",
        lines=[{"amount_minor": 12_500, "memo": "Rådgivning", "gl_account": "6800"}],
    )
    world.ready = (*world.ready, str(bill["id"]))
    world.visma.faults.add(
        FaultRule(kind="commit_then_fail", method="POST", path_contains="/v1/supplier", count=1)
    )

    await world.sync()

    assert [e.fault for e in world.supplier_posts()][-1] == "commit_then_fail"
    names = [s["name"] for s in world.visma.suppliers() if str(s["name"]).startswith("Sørvest")]
    assert names == [long_name[:60]]
    await world.check_exactly_once()
    await world.check_vendors_linked_in_ramp()
