"""PostgreSQL "restart" mid-run: workers reconnect and carry on; nothing is lost or duplicated.

How the restart is made: not with ``pg_ctlcluster … restart`` (the server is shared with other
tests running at the same time), but confined to this test's own database
(``pg_kit.database_outage``): every session connected to it is terminated with
``pg_terminate_backend`` and new connections are refused (``ALLOW_CONNECTIONS false``) for a few
seconds, twice during the run. To the connector that is what a server restart looks like:
pooled connections die mid-statement, the LISTEN connection drops, reconnects fail until the
database is back.

Two ``ml-connector worker`` processes and one in-process ``Service`` share the queue. The run
must end with one Visma invoice per bill, every record succeeded (none left in flight), every
bill marked synced in Ramp, both processes still running (and stopping cleanly on SIGTERM), and
the in-process service listening again.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from integration.chaos.chaos_kit import chaos_run, postgres_database
from integration.scale.pg_kit import database_outage
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.service import Service
from ml_connector.store import SyncStatus

BILLS = 120
DOWN_S = 3.0
DEADLINE_S = 300.0  # generous: a slow machine makes this slower, never red


@pytest.mark.slow
@pytest.mark.postgres
async def test_workers_survive_a_postgres_restart(tmp_path: Path, postgres_url: str) -> None:
    """Two outages mid-run: each bill invoiced once, no record in flight, workers alive."""
    async with (
        postgres_database(postgres_url) as url,
        chaos_run(tmp_path, BILLS, database_url=url, lease_s=4.0) as run,
    ):
        service = Service(
            run.runtime,
            poll_interval_s=0.1,
            reconcile_interval_s=2.0,
            lease_s=4.0,
            run_chart=False,
            policy=RetryPolicy(max_attempts=200, base_s=0.5, cap_s=3.0),
            outage_backoff_s=0.2,
            outage_cap_s=2.0,
        )
        stop = asyncio.Event()
        in_process = asyncio.create_task(service.run(stop))
        try:
            for slot in range(2):
                await run.start_worker(slot)
            outages = []
            for share in (0.25, 0.6):
                await run.wait_invoiced(int(share * BILLS), DEADLINE_S)
                outages.append(await database_outage(url, DOWN_S))
            settle_s = await run.wait_settled(DEADLINE_S)
            started = time.monotonic()
            while not service.listening:
                assert time.monotonic() - started < DEADLINE_S, "LISTEN never came back"
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await asyncio.wait_for(in_process, timeout=120)
        assert [p.returncode for p in run.workers.values()] == [None, None], run.log_tail()
        codes = await run.stop_workers()

    assert set(codes.values()) == {0}, codes
    assert all(outage.terminated > 0 for outage in outages)
    assert service._listener is None  # the run ended and closed its LISTEN
    invoices = run.invoices_by_bill()
    assert set(invoices) == set(run.bill_ids)
    assert {bill: n for bill, n in invoices.items() if n != 1} == {}
    assert run.unsynced_in_ramp() == []
    print(
        f"{BILLS} bills settled {settle_s:.1f} s after the second outage; "
        f"{[o.terminated for o in outages]} sessions cut"
    )


@pytest.mark.postgres
async def test_store_reconnects_after_its_sessions_are_cut(
    tmp_path: Path, postgres_url: str
) -> None:
    """After an outage the same Store answers again (pre-ping drops the dead pooled sessions)."""
    async with (
        postgres_database(postgres_url) as url,
        chaos_run(tmp_path, 3, database_url=url) as run,
    ):
        store = run.runtime.store
        record = await store.upsert_record(run.connection_id, "bill", "b-1", reason="test")
        outage = await database_outage(url, 0.5)
        found = await store.get_record(record.id)
        counts = await store.count_by_status(run.connection_id)
    assert outage.terminated >= 1
    assert found.status is SyncStatus.PENDING
    assert counts[SyncStatus.PENDING] == 1
