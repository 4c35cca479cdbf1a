"""A worker renews its record's lease while the flow runs: a live but slow worker keeps its
record (no second worker can claim it and post the bill again); a dead one stops renewing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ml_connector.flows.bills import BillOutcome
from ml_connector.flows.context import FlowContext
from ml_connector.runtime.lease_keeper import kept_lease
from ml_connector.runtime.worker import Worker
from ml_connector.sandbox.seed import demo_dataset
from ml_connector.store import SyncRecord, SyncStatus
from support.demo_world import DemoWorld, open_demo_world

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE_S = 0.3  # renewals every 0.1 s of real time; the clock below is moved by hand


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[DemoWorld]:
    """A small world: the demo company without its bills (the test queues its own record)."""
    dataset = dataclasses.replace(demo_dataset(T0.date()), bills=(), purchase_orders=())
    opened = await open_demo_world(tmp_path, dataset)
    try:
        yield opened
    finally:
        await opened.runtime.close()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def _lease_reaches(world: DemoWorld, record_id: int, at_least: datetime) -> SyncRecord:
    """Wait until the stored lease runs to ``at_least``: renewals come every 0.1 s, so two
    minutes only run out when nothing renews (a ceiling for the failure, not a speed test)."""
    for _ in range(2400):
        record = await world.runtime.store.get_record(record_id)
        if record.lease_until is not None and record.lease_until >= at_least:
            return record
        await asyncio.sleep(0.05)
    pytest.fail(f"nothing renewed the lease of record {record_id} to {at_least}")


async def test_a_slow_worker_keeps_its_record_and_settles_it_once(world: DemoWorld) -> None:
    """With the clock far past the lease, the running flow's renewals keep the record leased:
    a second worker claims nothing, and the record succeeds once, by the first."""
    store = world.runtime.store
    connection = await store.get_connection("nordlys")
    ctx = await world.runtime.context(connection)
    clock = Clock()
    record = await store.upsert_record(connection.id, "bill", "slow-bill", reason="test", now=T0)
    release, calls = asyncio.Event(), []

    async def slow(_: FlowContext, unit: SyncRecord) -> BillOutcome:
        calls.append(unit.id)
        await release.wait()
        return BillOutcome("created", "Invoice/900001")

    def worker(owner: str) -> Worker:
        return Worker(
            store, {connection.id: ctx}, owner=owner, handler=slow, lease_s=LEASE_S, clock=clock
        )

    first, second = worker("slow"), worker("other")
    [claimed] = await first.claim(connection_id=connection.id)
    running = asyncio.create_task(first.process(claimed))
    clock.now = T0 + timedelta(minutes=5)  # the claim's own lease is long over
    renewed = await _lease_reaches(world, record.id, clock.now)
    assert renewed.lease_owner == "slow"
    assert await second.claim(connection_id=connection.id) == []
    release.set()
    await asyncio.wait_for(running, timeout=120)
    settled = await store.get_record(record.id)
    assert (settled.status, settled.visma_ref, calls) == (
        SyncStatus.SUCCEEDED,
        "Invoice/900001",
        [record.id],
    )


async def test_renewals_stop_with_the_unit(world: DemoWorld) -> None:
    """Once the unit ends (or its worker dies) nothing renews the lease: after it runs out,
    another worker claims the record."""
    store = world.runtime.store
    connection = await store.get_connection("nordlys")
    clock = Clock()
    record = await store.upsert_record(connection.id, "bill", "held", reason="test", now=T0)
    await store.claim_due("w1", limit=1, lease_s=LEASE_S, now=T0)
    async with kept_lease(store, record.id, "w1", LEASE_S, clock):
        clock.now = T0 + timedelta(seconds=10)
        await _lease_reaches(world, record.id, clock.now)
        assert await store.claim_due("w2", limit=1, lease_s=LEASE_S, now=clock.now) == []
    clock.now = T0 + timedelta(seconds=20)
    [taken] = await store.claim_due("w2", limit=1, lease_s=LEASE_S, now=clock.now)
    assert (taken.id, taken.lease_owner) == (record.id, "w2")
