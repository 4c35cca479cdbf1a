"""Rate limits and server errors from either vendor: everything still ends synced, once.

429s are retried inside the call (honouring Retry-After) and, when a storm outlasts those
retries, across attempts by the worker. 5xx on reads are retried inside the call; 5xx on writes
are ambiguous and resolved by lookup. Nothing here may create a second document.
"""

from __future__ import annotations

import pytest

from integration.core.company import READY_BILLS
from integration.core.world import World
from ml_connector.sandbox.faults import FaultRule
from ml_connector.store import SyncStatus
from support.store_fixtures import backend, world_store

# Every test here runs on SQLite and on PostgreSQL (the world_store fixture).
__all__ = ["backend", "world_store"]


async def _all_synced(world: World) -> None:
    records = await world.records()
    assert {records[b].status for b in READY_BILLS} == {SyncStatus.SUCCEEDED}
    await world.check_exactly_once()
    world.check_synced_in_ramp(READY_BILLS)


@pytest.mark.parametrize("retry_after", [0, 1])
async def test_visma_429_storm_ends_synced(world: World, retry_after: int) -> None:
    """A burst of Visma 429s (with Retry-After) delays the pass but every bill syncs once."""
    world.visma.faults.add(
        FaultRule(kind="status", status=429, path_contains="/v1/", count=6, retry_after=retry_after)
    )
    await world.sync()

    limited = [e for e in world.visma.journal.entries() if e.status == 429]
    assert len(limited) == 6
    assert sum(1 for e in world.invoice_posts() if e.status == 201) == len(READY_BILLS)
    await _all_synced(world)
    await world.check_vendors_linked_in_ramp()


@pytest.mark.parametrize("retry_after", [0, 1])
async def test_ramp_429_storm_ends_synced(world: World, retry_after: int) -> None:
    """A burst of Ramp 429s after the poll: no twins; what missed Ramp, the next pass marks."""
    storm = FaultRule(
        kind="status", status=429, path_contains="/developer/v1/", count=12,
        retry_after=retry_after,
    )  # fmt: skip
    # The storm starts once the pass has listed the ready bills and hits the work itself:
    # vendor reads, accounting-vendor uploads, invoice downloads and the write-back.
    world.ramp_hooks.after("GET", "/developer/v1/bills", 1, lambda: world.ramp.faults.add(storm))
    await world.sync()

    limited = [e for e in world.ramp.journal.entries() if e.status == 429]
    assert len(limited) == 12
    records = await world.records()
    assert {records[b].status for b in READY_BILLS} == {SyncStatus.SUCCEEDED}
    await world.check_exactly_once()

    await world.sync()  # a write-back the storm refused is sent by the next poll

    assert len(world.invoice_posts()) == len(READY_BILLS)
    await _all_synced(world)


async def test_5xx_burst_on_every_visma_call_settles_in_the_pass(world: World) -> None:
    """Ten 503s in a row (reads and writes alike) leave no twin and no unsynced bill."""
    world.visma.faults.add(FaultRule(kind="status", status=503, path_contains="/v1/", count=10))
    await world.sync()

    assert sum(1 for e in world.visma.journal.entries() if e.status == 503) == 10
    assert sum(1 for e in world.invoice_posts() if e.status == 201) == len(READY_BILLS)
    await _all_synced(world)
    await world.check_vendors_linked_in_ramp()


async def test_5xx_rate_on_both_vendors_then_a_clean_pass_finishes(world: World) -> None:
    """10% 5xx on both vendors: synced or retrying, no twins; a clean second pass finishes."""
    world.visma.faults.add(FaultRule(kind="status", status=500, count=None, rate=0.1))
    world.ramp.faults.add(
        FaultRule(kind="status", status=502, path_contains="/developer/v1/", count=None, rate=0.1)
    )
    await world.sync(settle_s=0.5)

    failed = [e for e in world.visma.journal.entries() if e.fault == "status"]
    failed += [e for e in world.ramp.journal.entries() if e.fault == "status"]
    assert failed, "the fault rate never fired; the test proves nothing"
    await world.check_exactly_once(allow_retrying=True)

    world.visma.faults.clear()
    world.ramp.faults.clear()
    await world.sync()

    assert sum(1 for e in world.invoice_posts() if e.status == 201) == len(READY_BILLS)
    await _all_synced(world)
    await world.check_vendors_linked_in_ramp()


async def test_failed_link_push_to_ramp_is_finished_by_the_retry(world: World) -> None:
    """Ramp refusing the accounting-vendor uploads: the retry still links every new vendor."""
    world.ramp.faults.add(
        FaultRule(kind="status", status=500, method="POST", path_contains="/accounting/vendors")
    )
    world.ramp.faults.add(
        FaultRule(kind="status", status=503, method="PATCH", path_contains="/vendors/", count=2)
    )
    await world.sync()

    assert len(world.visma.suppliers()) == 5  # the retries matched, never created again
    await _all_synced(world)
    await world.check_vendors_linked_in_ramp()
