"""The supplier lock: a short lease renewed while its holder works, so a dead holder frees it soon.

The clock is injected (the store's and the renewals' sleep), never slept on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ml_connector.flows.held_lock import LOCK_LEASE_S, renewed
from ml_connector.store.testing import Backend, ScratchDatabase, scratch_database
from support.store_fixtures import backend

__all__ = ["backend"]

T0 = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
NAME = "vendor:1:v-1"
OLD_TTL_S = 60.0  # what the supplier lock lasted before it was renewed


class FakeClock:
    """The store's clock; ``sleep`` advances it instead of waiting."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def clocked(
    backend: tuple[Backend, str | None], tmp_path: Path
) -> AsyncIterator[tuple[ScratchDatabase, FakeClock]]:
    """A scratch store on each backend whose clock the test moves."""
    clock = FakeClock()
    async with scratch_database(
        backend[0], directory=tmp_path, postgres_url=backend[1], clock=clock
    ) as db:
        yield db, clock


async def test_a_dead_holders_lock_frees_after_the_lease_not_a_minute(
    clocked: tuple[ScratchDatabase, FakeClock],
) -> None:
    """A holder that dies holding the lock (no renewal, no release) blocks only one lease."""
    db, clock = clocked
    store = db.store
    assert await store.try_lock(NAME, "w1", ttl_s=LOCK_LEASE_S, now=T0)
    # w1 is killed here: nothing renews or releases its lock.
    clock.now = T0 + timedelta(seconds=LOCK_LEASE_S - 1)
    assert not await store.try_lock(NAME, "w2", ttl_s=LOCK_LEASE_S, now=clock.now)
    clock.now = T0 + timedelta(seconds=LOCK_LEASE_S)
    assert await store.try_lock(NAME, "w2", ttl_s=LOCK_LEASE_S, now=clock.now)
    assert await store.lock_holder(NAME, now=clock.now) == "w2"
    assert LOCK_LEASE_S <= OLD_TTL_S / 4


async def test_a_live_holder_keeps_the_lock_past_many_leases(
    clocked: tuple[ScratchDatabase, FakeClock],
) -> None:
    """Renewed while held, the lock outlives many leases; once renewal stops it lapses."""
    db, clock = clocked
    store = db.store
    assert await store.try_lock(NAME, "w1", ttl_s=LOCK_LEASE_S, now=T0)
    async with renewed(store, NAME, "w1", sleep=clock.sleep):
        while clock.now < T0 + timedelta(seconds=4 * OLD_TTL_S):
            await asyncio.sleep(0.01)  # the renewal task advances the clock as it sleeps
            assert await store.lock_holder(NAME, now=clock.now) == "w1"
            assert not await store.try_lock(NAME, "w2", ttl_s=LOCK_LEASE_S, now=clock.now)
        last = clock.now
    # w1 dies without releasing: its last renewal runs out one lease later.
    expiry = await store.lock_expiry(NAME, now=last)
    assert expiry is not None
    assert expiry - last <= timedelta(seconds=LOCK_LEASE_S)
    assert await store.try_lock(NAME, "w2", ttl_s=LOCK_LEASE_S, now=expiry)
