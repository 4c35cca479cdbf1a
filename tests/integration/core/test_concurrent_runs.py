"""Two processes' passes at once, on one database: still one invoice per bill, one supplier each.

Each Runtime has its own store engine, clients, caches and in-process locks, as two worker
processes would; only the database (and the vendors) are shared. Both poll the same ready bills
and start together, so they race for every record and for every new vendor's supplier.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from integration.core.company import NEW_VENDORS, READY_BILLS
from integration.core.world import World, open_world
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.store import LinkKind
from ml_connector.store.testing import Backend

# A busy vendor lock is retried by the worker; give the loser room to wait out the winner.
PATIENT = RetryPolicy(max_attempts=40, base_s=0.02, cap_s=0.1, floor_s=0.02)


async def _race(world: World) -> None:
    other = await world.open_runtime("core-b")
    # Two claimers of four records each: every new vendor has one bill on each side.
    await asyncio.gather(
        world.sync(concurrency=2, policy=PATIENT), world.sync(other, concurrency=2, policy=PATIENT)
    )

    assert sum(1 for e in world.invoice_posts() if e.status == 201) == len(READY_BILLS)
    assert sum(1 for e in world.supplier_posts() if e.status == 201) == len(NEW_VENDORS)
    assert len(world.visma.suppliers()) == 2 + len(NEW_VENDORS)
    links = await world.runtime.store.list_links(world.connection_id, LinkKind.VENDOR)
    by_vendor = {link.ramp_id: link.visma_id for link in links}
    assert len(set(by_vendor.values())) == len(by_vendor)
    await world.check_exactly_once()
    world.check_synced_in_ramp(READY_BILLS)


async def test_two_runtimes_race_on_sqlite(tmp_path: Path) -> None:
    """Two Runtimes on one SQLite file, started together: no twin invoice or supplier."""
    async with open_world(tmp_path) as world:
        await _race(world)


@pytest.mark.postgres
async def test_two_runtimes_race_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    """The same race on PostgreSQL (a scratch schema, dropped afterwards)."""
    backend: Backend = "postgresql"
    async with open_world(tmp_path, backend=backend, postgres_url=postgres_url) as world:
        await _race(world)
