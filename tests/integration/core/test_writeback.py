"""Write-back to Ramp through the durable outbox: keys per occurrence, retries with the same key,
nothing lost between an invoice and its write-back, senders sharing the outbox on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from integration.core.company import BILL_ATEA, BILL_POSTEN, READY_BILLS, month_start
from integration.core.world import World, open_world
from ml_connector.app.principal import Actor
from ml_connector.app.records import describe_record
from ml_connector.runtime.outbox import WriteBackSender
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.faults import FaultRule
from ml_connector.store import OutboxKind, OutboxState, SyncStatus
from ml_connector.store.testing import Backend

SYNCS = "/developer/v1/accounting/syncs"


def _syncs_naming(world: World, bill_id: str, *, failed: bool = False) -> list[str]:
    """The idempotency keys of the Ramp syncs that marked (or reported failed) the bill."""
    return [
        key
        for key, sync in world.ramp.state.syncs.items()
        if bill_id in (sync.failed_ids if failed else sync.successful_ids)
    ]


def _outage(world: World) -> None:
    """Ramp's sync endpoint answers 503 to every call until the faults are cleared."""
    world.ramp.faults.add(
        FaultRule(kind="status", status=503, method="POST", path_contains=SYNCS, count=None)
    )


async def _sender(runtime: Runtime, world: World, *, later_s: float = 3600.0) -> WriteBackSender:
    """A sender for the world's connection whose clock is ``later_s`` ahead (retries are due)."""
    connection = await runtime.store.get_connection(world.name)
    ctx = await runtime.context(connection)
    return WriteBackSender(
        runtime.store,
        {connection.id: ctx},
        owner=runtime.owner,
        clock=lambda: datetime.now(UTC) + timedelta(seconds=later_s),
    )


async def test_bill_unsynced_in_ramp_is_marked_synced_again(world: World) -> None:
    """An accountant unsyncs a bill in Ramp; the next pass marks it again under a new key, and
    Visma still holds one invoice."""
    await world.sync()
    world.check_synced_in_ramp(READY_BILLS)
    [first] = _syncs_naming(world, BILL_ATEA)

    world.ramp.unsync_bill(BILL_ATEA)
    summary = await world.sync()

    assert summary.unchanged >= 1
    world.check_synced_in_ramp(READY_BILLS)
    keys = _syncs_naming(world, BILL_ATEA)
    assert len(keys) == 2
    assert first in keys
    await world.check_exactly_once()


async def test_failure_that_recurs_is_reported_again(world: World) -> None:
    """A failure cleared in Ramp and met again on a replay is reported again, under a new key."""
    closed = month_start(date.today(), 2) + timedelta(days=3)
    bill_id = str(
        world.ramp.create_bill(
            vendor_id=world.ramp.state.bills[BILL_ATEA].vendor_id,
            invoice_number="LATE-1",
            lines=[{"amount_minor": 10_000, "gl_account": "6552", "cost_centre": "100",
                    "department": "10", "project": "X"}],
            issued_at=closed,
            due_at=closed + timedelta(days=30),
        )["id"]
    )  # fmt: skip
    await world.sync()
    assert (await world.records())[bill_id].status is SyncStatus.NEEDS_ATTENTION
    [first] = _syncs_naming(world, bill_id, failed=True)
    world.ramp.state.export_errors.clear()  # someone dismissed it in Ramp

    await world.requeue(bill_id)
    await world.sync()

    keys = _syncs_naming(world, bill_id, failed=True)
    assert len(keys) == 2
    assert first in keys
    assert bill_id in {e.object_id for e in world.ramp.state.export_errors}


async def test_retry_after_an_uncertain_answer_reuses_the_key(world: World) -> None:
    """Ramp applies a sync but the answer is lost: the retry, a flush later, posts the same key,
    so Ramp answers with the first sync and nothing is applied twice."""
    world.ramp.faults.add(
        FaultRule(kind="commit_then_fail", status=502, method="POST", path_contains=SYNCS, count=8)
    )
    await world.sync()
    connection = await world.runtime.store.get_connection(world.name)
    waiting = await world.runtime.store.list_writebacks(connection.id, state=OutboxState.PENDING)
    assert {row.object_id for row in waiting} == set(READY_BILLS)
    world.check_synced_in_ramp(READY_BILLS)  # Ramp did apply the first POST
    keys = {row.batch_key for row in waiting}
    assert keys <= set(world.ramp.state.syncs)

    world.ramp.faults.clear()
    sent = await (await _sender(world.runtime, world)).flush()

    assert sent.sent == len(READY_BILLS)
    assert set(world.ramp.state.syncs) == keys  # the retry added no sync of its own
    rows = await world.runtime.store.list_writebacks(connection.id)
    assert {row.sync_id for row in rows} == {world.ramp.state.syncs[k].sync_id for k in keys}


async def test_write_back_waits_through_an_outage_and_a_restart(world: World) -> None:
    """Ramp is down when the invoices are written: the write-backs wait in the store (records
    show says so), and a new process tells Ramp later (records show names the sync)."""
    _outage(world)
    summary = await world.sync()
    assert summary.visma_invoices_created == len(READY_BILLS)
    assert {
        b.sync_status.value for b in world.ramp.state.bills.values() if b.id in READY_BILLS
    } == {"NOT_SYNCED"}
    shown = (
        await describe_record(Actor.local_admin("tester"), world.runtime, world.name, BILL_POSTEN)
    ).as_dict()
    assert shown["status"] == "succeeded"
    assert shown["ramp_write_back"]["status"] == "waiting"
    assert "503" in str(shown["ramp_write_back"]["last_error"])

    world.ramp.faults.clear()
    world.ramp.journal.clear()
    restarted = await world.open_runtime("core-restarted")
    await (await _sender(restarted, world)).flush()

    world.check_synced_in_ramp(READY_BILLS)
    assert len(world.ramp.journal.entries("POST", SYNCS)) == 1  # one batch for every bill
    shown = (
        await describe_record(Actor.local_admin("tester"), restarted, world.name, BILL_POSTEN)
    ).as_dict()
    told = shown["ramp_write_back"]
    assert told["status"] == "told"
    [key] = _syncs_naming(world, BILL_POSTEN)
    assert told["sync_id"] == world.ramp.state.syncs[key].sync_id
    assert told["told_at"]
    await world.check_exactly_once()


async def test_write_back_is_stored_with_the_invoice_link(world: World) -> None:
    """Each created invoice's link and its write-back appear together: one success row per bill,
    carrying the Visma reference number."""
    _outage(world)
    await world.sync()
    connection = await world.runtime.store.get_connection(world.name)
    rows = await world.runtime.store.list_writebacks(connection.id)
    successes = [r for r in rows if r.kind is OutboxKind.SUCCESS]
    assert sorted(r.object_id for r in successes) == sorted(READY_BILLS)
    for row in successes:
        assert row.reference_id == world.invoice_of(row.object_id)["referenceNumber"]
        assert row.sync_type == "BILL_SYNC"


@pytest.mark.postgres
async def test_two_senders_share_the_outbox_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    """Two processes flush the same outbox at once: every bill is marked by exactly one POST."""
    backend: Backend = "postgresql"
    async with open_world(tmp_path, backend=backend, postgres_url=postgres_url) as world:
        _outage(world)
        await world.sync()
        world.ramp.faults.clear()
        world.ramp.faults.add(
            FaultRule(kind="latency", method="POST", path_contains=SYNCS, latency_s=0.2, count=None)
        )
        other = await world.open_runtime("core-b")
        senders = [await _sender(world.runtime, world), await _sender(other, world)]
        results = await asyncio.gather(*(s.flush() for s in senders))

        assert sum(r.sent for r in results) == len(READY_BILLS)
        world.check_synced_in_ramp(READY_BILLS)
        for bill_id in READY_BILLS:
            assert len(_syncs_naming(world, bill_id)) == 1, bill_id


async def test_a_missing_scope_keeps_write_backs_waiting_not_refused(world: World) -> None:
    """Ramp answers 403 (the token lacks accounting:write): that is the connection's problem,
    not the bills', so the write-backs wait and go out once it is fixed."""
    world.ramp.faults.add(
        FaultRule(kind="status", status=403, method="POST", path_contains=SYNCS, count=None)
    )
    await world.sync()
    connection = await world.runtime.store.get_connection(world.name)
    rows = await world.runtime.store.list_writebacks(connection.id)
    assert {row.state for row in rows} == {OutboxState.PENDING}

    world.ramp.faults.clear()
    await (await _sender(world.runtime, world)).flush()
    world.check_synced_in_ramp(READY_BILLS)
