"""Chaos: worker processes SIGKILLed at random points of a 300-bill run, then restarted.

The workers are real ``ml-connector worker`` processes with a short lease; Visma commits some
writes and then fails or hangs (ambiguous outcomes). Whatever the kills and the faults, the run
ends with exactly one invoice per bill, one supplier per vendor, every record succeeded (none
left in flight) and every bill marked synced in Ramp. On SQLite one worker is killed and
restarted; on PostgreSQL four share the queue through SKIP LOCKED claims.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from integration.chaos.chaos_kit import ChaosRun, chaos_run, postgres_database
from ml_connector.store import SyncStatus

BILLS = 300
SETTLE_DEADLINE_S = 300.0  # generous: a slow machine makes this slower, never red
AMBIGUOUS_FAULTS: list[dict[str, Any]] = [
    # Matches supplier, invoice and attachment POSTs alike: each commits, then the answer is lost.
    {"kind": "commit_then_fail", "status": 500, "method": "POST", "path_contains": "/v1/supplier",
     "count": None, "rate": 0.04},
    {"kind": "commit_then_hang", "method": "POST", "path_contains": "/v1/supplier",
     "count": None, "rate": 0.02, "hang_s": 1.5},
]  # fmt: skip


async def _rampage(run: ChaosRun, *, workers: int, kills: int, seed: int) -> None:
    """Start ``workers`` processes, then SIGKILL and restart one at ``kills`` random points.

    The points are progress marks (a random share of the bills invoiced), so every kill lands
    mid-run whatever the machine's speed.
    """
    rng = random.Random(seed)
    await run.inject_visma_faults(AMBIGUOUS_FAULTS)
    for slot in range(workers):
        await run.start_worker(slot)
    marks = sorted(rng.uniform(0.05, 0.85) for _ in range(kills))
    for mark in marks:
        await run.wait_invoiced(int(mark * len(run.bill_ids)), SETTLE_DEADLINE_S)
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        slot = rng.randrange(workers)
        await run.kill_worker(slot)
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        await run.start_worker(slot)
    # The faults end with the kills, so the retries converge well inside the attempt budget.
    await run.clear_visma_faults()


async def _check(run: ChaosRun, kills: int) -> None:
    settle_s = await run.wait_settled(SETTLE_DEADLINE_S)
    codes = await run.stop_workers()
    assert set(codes.values()) == {0}, f"workers did not stop cleanly: {codes}\n{run.log_tail()}"
    assert run.kills == kills

    invoices = run.invoices_by_bill()
    assert set(invoices) == set(run.bill_ids)
    assert {bill: n for bill, n in invoices.items() if n != 1} == {}
    suppliers = run.supplier_name_counts()
    assert {name: n for name, n in suppliers.items() if n != 1} == {}
    counts = {status: n for status, n in (await run.status_counts()).items() if n}
    assert SyncStatus.IN_FLIGHT not in counts
    assert counts == {SyncStatus.SUCCEEDED: len(run.bill_ids)}
    assert run.unsynced_in_ramp() == []
    ambiguous = [
        e
        for e in run.visma.journal.entries("POST")
        if e.fault in ("commit_then_fail", "commit_then_hang")
    ]
    assert ambiguous, "no ambiguous Visma outcome was injected"
    print(
        f"{len(run.bill_ids)} bills settled {settle_s:.1f} s after the last kill; "
        f"{run.kills} kills, {len(ambiguous)} ambiguous Visma writes"
    )


@pytest.mark.slow
async def test_killed_worker_on_sqlite_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """One worker on SQLite, SIGKILLed and restarted 5 times mid-run: each bill invoiced once."""
    async with chaos_run(tmp_path, BILLS) as run:
        await _rampage(run, workers=1, kills=5, seed=4)
        await _check(run, kills=5)


@pytest.mark.slow
@pytest.mark.postgres
async def test_four_killed_workers_on_postgres_lose_and_duplicate_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    """Four workers on PostgreSQL, 8 random SIGKILLs and restarts: each bill invoiced once."""
    async with (
        postgres_database(postgres_url) as url,
        chaos_run(tmp_path, BILLS, database_url=url) as run,
    ):
        await _rampage(run, workers=4, kills=8, seed=8)
        await _check(run, kills=8)
