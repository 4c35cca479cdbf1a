"""The service's schedule loop: per-connection poll intervals and daily audit retention."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from integration.runtime.conftest import World
from ml_connector.runtime.service import Service
from ml_connector.runtime.sync import sync_once

_DEADLINE_S = 30.0


class FakeWallClock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


async def _until(condition: Callable[[], bool]) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < _DEADLINE_S, "condition not reached in time"
        await asyncio.sleep(0.05)


def _ready_listings(world: World) -> int:
    entries = world.setup.ramp.journal.entries("GET", "/bills")
    return sum("sync_ready" in e.query and "start" not in e.query for e in entries)


async def _set(world: World, **settings: object) -> None:
    connection = await world.runtime.store.get_connection(world.name)
    await world.runtime.store.update_connection_settings(
        connection.id, {**connection.settings.as_stored(), **settings}
    )


async def test_polling_connection_reconciles_on_its_interval(world: World) -> None:
    """A polling connection reconciles at start and again once its interval has passed."""
    await _set(world, mode="polling", poll_interval_s=600)
    clock = FakeWallClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    service = Service(world.runtime, refresh_s=0.0, run_chart=False, listen=False, wall_clock=clock)
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    try:
        await _until(lambda: _ready_listings(world) >= 1)
        clock.now += timedelta(seconds=601)
        await _until(lambda: _ready_listings(world) >= 2)
    finally:
        stop.set()
        await running


async def test_service_prunes_audit_past_retention_and_chain_verifies(world: World) -> None:
    """With audit_retention_days set, the service prunes old entries; the chain still verifies."""
    await sync_once(world.runtime, world.name)
    connection = await world.runtime.store.get_connection(world.name)
    before = len(await world.runtime.store.list_audit(connection.id))
    assert before > 0
    await _set(world, audit_retention_days=30)
    clock = FakeWallClock(datetime.now(UTC) + timedelta(days=31))
    service = Service(world.runtime, refresh_s=0.0, run_chart=False, listen=False, wall_clock=clock)
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    store = world.runtime.store
    try:
        started = time.monotonic()
        while len(await store.list_audit(connection.id, limit=before)) >= before:
            assert time.monotonic() - started < _DEADLINE_S, "audit was not pruned in time"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    assert await store.verify_audit(connection.id) == []
