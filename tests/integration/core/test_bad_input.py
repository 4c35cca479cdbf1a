"""Bills Visma would refuse: caught before any write, explained in finance words, told to Ramp.

Each bad bill ends as needs_attention with a message naming the problem and a hint saying how to
fix it; Visma never receives an invoice POST for it; Ramp lists it among its export errors; and
every other bill of the pass still syncs.
"""

from __future__ import annotations

from datetime import date, timedelta

from integration.core.company import (
    BILL_POSTEN,
    READY_BILLS,
    SUPPLIER_ATEA,
    SUPPLIER_POSTEN,
    VENDOR_ATEA,
    VENDOR_KAFFE,
    month_start,
)
from integration.core.world import World
from ml_connector.store import SyncStatus


def _bad_bill(world: World, number: str, *, issued: date | None = None, **line: str) -> str:
    """A ready bill in Ramp with one line coded as given (defaults are all valid)."""
    coding = {"gl_account": "6552", "cost_centre": "100", "department": "10", "project": "X"}
    created = world.ramp.create_bill(
        vendor_id=VENDOR_KAFFE if number.startswith("K") else VENDOR_ATEA,
        invoice_number=number,
        lines=[{"amount_minor": 10_000, "memo": f"{number} line", **coding, **line}],
        issued_at=issued,
        due_at=(issued + timedelta(days=30)) if issued else None,
    )
    bill_id = str(created["id"])
    world.ready = (*world.ready, bill_id)
    return bill_id


async def test_bad_bills_need_attention_and_the_rest_sync(world: World) -> None:
    """Five kinds of bad bill each need attention with reason and hint, unposted; others sync."""
    closed = month_start(date.today(), 2) + timedelta(days=4)
    bad = {
        _bad_bill(world, "BAD-ACCOUNT", gl_account="6999"): ("account_unknown", "6999"),
        _bad_bill(world, "BAD-PERIOD", issued=closed): ("period_closed", "closed"),
        _bad_bill(world, "BAD-SEGMENT", cost_centre="300"): ("segment_value_inactive", "300"),
        _bad_bill(world, "KBAD-PROJECT", project="P1003"): ("project_not_in_ap", "P1003"),
        BILL_POSTEN: ("supplier_blocked", SUPPLIER_POSTEN),
    }
    # Visma's master data changed after the chart was pushed to Ramp.
    world.visma.set_segment_value(1, "300", active=False)
    world.visma.set_project("P1003", visible_in_ap=False)
    world.visma.set_supplier_status(SUPPLIER_POSTEN, "OnHold")

    summary = await world.sync()

    assert summary.needs_attention == len(bad)
    records = await world.records()
    for bill_id, (code, named) in bad.items():
        record = records[bill_id]
        assert record.status is SyncStatus.NEEDS_ATTENTION
        assert record.error_code == code
        assert named in (record.last_error or ""), record.last_error
        assert record.hint
        assert record.attempts == 1  # a person must act: no retries
    # Pre-flight stopped every bad bill: each POST Visma saw was a good bill, and it took it.
    good = [b for b in READY_BILLS if b not in bad]
    assert [e.status for e in world.invoice_posts()] == [201] * len(good)
    exported = {e.object_id: e.message for e in world.ramp.state.export_errors}
    for bill_id in bad:
        assert exported.get(bill_id) == records[bill_id].last_error
    await world.check_exactly_once(expect_attention=tuple(bad))
    world.check_synced_in_ramp(tuple(good))


async def test_fixed_bill_syncs_on_replay_and_clears_the_export_error(world: World) -> None:
    """Once the period is reopened, a replay syncs the bill and Ramp's export error goes away."""
    closed = month_start(date.today(), 2)
    bill_id = _bad_bill(world, "LATE", issued=closed + timedelta(days=2))
    await world.sync()
    assert (await world.records())[bill_id].error_code == "period_closed"
    assert bill_id in {e.object_id for e in world.ramp.state.export_errors}

    world.visma.set_period_closed(f"{closed.year:04d}{closed.month:02d}", False)
    await world.requeue(bill_id)
    # A fresh process: the first one caches master data for its TTL (five minutes).
    await world.sync(await world.open_runtime("core-b"))

    assert (await world.records())[bill_id].status is SyncStatus.SUCCEEDED
    assert bill_id not in {e.object_id for e in world.ramp.state.export_errors}
    await world.check_exactly_once()


async def test_supplier_blocked_after_linking_keeps_vismas_words(world: World) -> None:
    """A linked supplier put on hold later: Visma's refusal, verbatim, needs attention."""
    await world.sync()
    world.visma.set_supplier_status(SUPPLIER_ATEA, "OnHold")
    bill_id = _bad_bill(world, "AFTER-HOLD")

    await world.sync()

    record = (await world.records())[bill_id]
    assert record.status is SyncStatus.NEEDS_ATTENTION
    assert SUPPLIER_ATEA in (record.last_error or "")
    assert "OnHold" in (record.last_error or "")
    assert record.hint
    assert bill_id in {e.object_id for e in world.ramp.state.export_errors}
    await world.check_exactly_once(expect_attention=(bill_id,))
