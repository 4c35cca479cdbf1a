"""PostgreSQL LISTEN/NOTIFY: work queued in one process wakes the workers of another at once.

Each test has a PostgreSQL database of its own (notification channels are database-wide, so a
shared database would mix in other tests' wake-ups).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text

from integration.chaos.chaos_kit import postgres_database
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.demo import DemoSetup, operator_settings
from ml_connector.runtime.service import Service
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox._demo import DELIBERATE_FAILURES
from ml_connector.sandbox.seed import demo_dataset
from ml_connector.settings import Settings
from ml_connector.store import Store, SyncStatus

RAMP = "http://ramp.test"
VISMA = "http://visma.test"
DEADLINE_S = 30.0  # generous: only a failure ever waits this long


@pytest.fixture
async def pg_database(postgres_url: str) -> AsyncIterator[str]:
    """The URL of a fresh PostgreSQL database, dropped afterwards."""
    async with postgres_database(postgres_url) as url:
        yield url


async def _until(condition: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Wait until ``condition()`` is true, failing after DEADLINE_S."""
    started = time.monotonic()
    while True:
        answer = condition()
        if await answer if inspect.isawaitable(answer) else answer:
            return
        assert time.monotonic() - started < DEADLINE_S, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def _new_connection(store: Store) -> int:
    connection = await store.create_connection(
        "acme",
        ramp_base_url=RAMP,
        visma_base_url=VISMA,
        visma_token_url=f"{VISMA}/connect/token",
        credentials_ciphertext=b"unused",
    )
    return connection.id


async def _listener_pids(store: Store) -> list[int]:
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'"
    )
    async with store._db.read() as session:
        return list((await session.scalars(query)).all())


async def test_work_queued_by_another_store_is_announced_on_commit(pg_database: str) -> None:
    """An upsert and an event ingest in another store each reach the listener with their id."""
    listening, queuing = Store.open(pg_database), Store.open(pg_database)
    await listening.migrate()
    heard: asyncio.Queue[int | None] = asyncio.Queue()
    try:
        connection_id = await _new_connection(queuing)
        async with listening.listen_for_work(heard.put_nowait) as listener:
            await _until(listener.connected.is_set, "the LISTEN")
            assert await asyncio.wait_for(heard.get(), DEADLINE_S) is None  # the connect wake-up
            await queuing.upsert_record(connection_id, "bill", "bill-1", reason="test")
            assert await asyncio.wait_for(heard.get(), DEADLINE_S) == connection_id
            record = await listening.find_record(connection_id, "bill", "bill-1")
            assert record is not None
            assert record.status is SyncStatus.PENDING
    finally:
        await listening.close()
        await queuing.close()


async def test_listener_reconnects_after_its_connection_is_killed(pg_database: str) -> None:
    """A terminated LISTEN connection is re-opened with backoff, and wake-ups flow again."""
    listening, queuing = Store.open(pg_database), Store.open(pg_database)
    await listening.migrate()
    heard: asyncio.Queue[int | None] = asyncio.Queue()
    try:
        connection_id = await _new_connection(queuing)
        async with listening.listen_for_work(
            heard.put_nowait, backoff_s=0.05, keepalive_s=60.0
        ) as listener:
            await _until(listener.connected.is_set, "the LISTEN")
            pids = await _listener_pids(queuing)
            assert len(pids) == 1
            async with queuing._db.write() as session:
                await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pids[0]})
            await _until(
                lambda: listener.reconnects == 1 and listener.connected.is_set(), "reconnect"
            )
            while not heard.empty():
                heard.get_nowait()
            await queuing.upsert_record(connection_id, "bill", "bill-2", reason="test")
            assert await asyncio.wait_for(heard.get(), DEADLINE_S) == connection_id
            assert await _listener_pids(queuing) != pids
    finally:
        await listening.close()
        await queuing.close()


async def test_service_wakes_for_a_record_queued_by_another_runtime(
    pg_database: str, tmp_path: Path
) -> None:
    """A worker sleeping a 30 s poll interval syncs a bill queued by another process's runtime."""
    full = demo_dataset()
    dataset = dataclasses.replace(full, bills=full.bills[:30])
    setup = DemoSetup(dataset)
    transports: dict[str, httpx.AsyncBaseTransport] = {
        RAMP: httpx.ASGITransport(app=setup.ramp.app),
        VISMA: httpx.ASGITransport(app=setup.visma.app),
    }
    settings = Settings(
        database_url=pg_database,
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=tmp_path / "unused.key",
    )
    worker_side = await Runtime.open(settings, transports=transports)
    queue_side = await Runtime.open(settings, transports=transports, migrate=False)
    stop = asyncio.Event()
    try:
        connection = await admin.add_connection(
            Actor.local_admin("tests"),
            queue_side,
            "nordlys",
            credentials=setup.credentials(),
            ramp_base_url=RAMP,
            visma_base_url=VISMA,
            visma_token_url=f"{VISMA}/connect/token",
            settings=operator_settings(dataset),
        )
        service = Service(
            worker_side, poll_interval_s=30.0, run_scheduler=False, refresh_s=0.0, concurrency=2
        )
        running = asyncio.create_task(service.run(stop))
        await _until(lambda: service.listening, "the worker's LISTEN")
        await asyncio.sleep(0.3)  # let the first (empty) pass end and the 30 s sleep begin
        # The demo's first approved bills fail on purpose; the next one is a plain good bill.
        approved = [b for b in dataset.bills if b.approval_status == "APPROVED"]
        bill_id = approved[DELIBERATE_FAILURES].id
        await queue_side.store.upsert_record(connection.id, "bill", bill_id, reason="test")

        async def settled() -> bool:
            record = await queue_side.store.find_record(connection.id, "bill", bill_id)
            return record is not None and record.status not in (
                SyncStatus.PENDING,
                SyncStatus.IN_FLIGHT,
            )

        await _until(settled, "the worker to settle the record")
        record = await queue_side.store.find_record(connection.id, "bill", bill_id)
        assert record is not None
        assert record.status is SyncStatus.SUCCEEDED, record.last_error
        stop.set()
        await asyncio.wait_for(running, DEADLINE_S)
    finally:
        stop.set()
        await queue_side.close()
        await worker_side.close()
