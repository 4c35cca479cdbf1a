"""The chaos harness: both sandboxes in this process, connector workers as child processes.

A ``ChaosRun`` owns a company of approved bills served by in-process Ramp and Visma sandboxes,
a store (a SQLite file, or a PostgreSQL database created for the run and dropped after it) with
one connection, and a set of ``ml-connector worker`` processes started with a short lease. The
test kills and restarts those processes at will; the checks at the end read the sandboxes and
the store, never the workers' logs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from integration.webhooks.webhook_kit import generated_dataset
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.demo import NOTE_PREFIX, operator_settings
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import Dataset
from ml_connector.sandbox.serve import RunningServer, start_server
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.settings import Settings
from ml_connector.store import SyncStatus

RAMP_ID, RAMP_SECRET = "chaos-ramp", "chaos-ramp-secret-7d1e"
VISMA_ID, VISMA_SECRET = "chaos-visma", "chaos-visma-secret-3b9a"
TENANT, COMPANY = "chaos-tenant", "8008"
CONNECTION = "chaos"


def approved_dataset(bills: int) -> Dataset:
    """The demo company with ``bills`` valid bills, all approved (ready to sync) from the start."""
    made = generated_dataset(bills)
    return dataclasses.replace(
        made, bills=tuple(dataclasses.replace(b, approval_status="APPROVED") for b in made.bills)
    )


def worker_command() -> list[str]:
    script = Path(sys.executable).with_name("ml-connector")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ml_connector.cli import main; main()"]


@asynccontextmanager
async def postgres_database(base_url: str) -> AsyncIterator[str]:
    """A PostgreSQL database of its own for one run (processes cannot share a scratch schema)."""
    name = f"mlc_chaos_{uuid.uuid4().hex[:12]}"
    admin_dsn = base_url.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield base_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@dataclass
class ChaosRun:
    """One company, its sandboxes, its store, and the worker processes serving it."""

    dataset: Dataset
    folder: Path
    database_url: str
    ramp: RampSandbox
    visma: VismaSandbox
    servers: list[RunningServer]
    runtime: Runtime
    connection_id: int
    lease_s: float
    workers: dict[int, asyncio.subprocess.Process] = field(default_factory=dict)
    worker_logs: dict[int, Path] = field(default_factory=dict)
    kills: int = 0
    _env: dict[str, str] = field(default_factory=dict)
    _logs: int = 0

    @property
    def visma_url(self) -> str:
        return self.servers[1].url

    @property
    def bill_ids(self) -> list[str]:
        return [bill.id for bill in self.dataset.bills]

    # --- processes ------------------------------------------------------------------------

    async def start_worker(self, slot: int) -> None:
        """Start (or restart) the worker in ``slot``; its output goes to a log file of its own."""
        self._logs += 1
        log = self.folder / f"worker-{slot}-{self._logs}.log"
        self.worker_logs[slot] = log
        with log.open("wb") as sink:
            self.workers[slot] = await asyncio.create_subprocess_exec(
                *worker_command(), "worker", env=self._env, stdout=sink, stderr=sink
            )

    async def kill_worker(self, slot: int) -> None:
        """SIGKILL: no shutdown handler runs, the claimed records stay leased."""
        process = self.workers[slot]
        if process.returncode is None:
            process.kill()
            self.kills += 1
        await process.wait()

    async def stop_workers(self) -> dict[int, int | None]:
        """SIGTERM every worker and wait: exit codes by slot (None: had to be killed).

        A worker restarted just before is first let finish starting (its log says it runs):
        a SIGTERM while Python still imports ends it by the signal's default, before its
        graceful handler exists, which says nothing about how a running worker stops.
        """
        codes: dict[int, int | None] = {}
        for slot, process in self.workers.items():
            await self._until_running(slot, process)
        for process in self.workers.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for slot, process in self.workers.items():
            try:
                codes[slot] = await asyncio.wait_for(process.wait(), timeout=60)
            except TimeoutError:
                process.kill()
                await process.wait()
                codes[slot] = None
        return codes

    async def _until_running(self, slot: int, process: asyncio.subprocess.Process) -> None:
        log = self.worker_logs.get(slot)
        for _ in range(1200):  # a ceiling of about two minutes, for a start that never ends
            if process.returncode is not None or log is None:
                return
            if b"worker running" in log.read_bytes():
                return
            await asyncio.sleep(0.1)

    def log_tail(self) -> str:
        logs = sorted(self.folder.glob("worker-*.log"), key=lambda p: p.stat().st_mtime)
        return "".join(f"--- {p.name}\n{p.read_text()[-1500:]}\n" for p in logs[-3:])

    # --- faults ---------------------------------------------------------------------------

    async def inject_visma_faults(self, rules: list[dict[str, Any]]) -> None:
        """Add fault rules through the sandbox's HTTP control API, as an operator would."""
        async with httpx.AsyncClient(base_url=self.visma_url) as http:
            for rule in rules:
                answer = await http.post("/_sandbox/faults", json=rule)
                assert answer.status_code == 201, answer.text

    async def clear_visma_faults(self) -> None:
        async with httpx.AsyncClient(base_url=self.visma_url) as http:
            assert (await http.delete("/_sandbox/faults")).status_code == 200

    # --- looking at the result ------------------------------------------------------------

    def invoices_by_bill(self) -> dict[str, int]:
        """How many Visma documents carry each Ramp bill's reference."""
        found: dict[str, int] = defaultdict(int)
        for invoice in self.visma.invoices():
            note = str(invoice.get("note") or "")
            if NOTE_PREFIX in note:
                found[note.split(NOTE_PREFIX, 1)[1].split()[0]] += 1
        return dict(found)

    def supplier_name_counts(self) -> Counter[str]:
        return Counter(str(s.get("name") or "").strip().lower() for s in self.visma.suppliers())

    def unsynced_in_ramp(self) -> list[str]:
        bills = self.ramp.state.bills
        return [b for b in self.bill_ids if bills[b].sync_status.value != "BILL_SYNCED"]

    async def status_counts(self) -> dict[SyncStatus, int]:
        return await self.runtime.store.count_by_status(self.connection_id)

    async def settled(self) -> bool:
        """Every bill has its invoice, every record succeeded, and Ramp knows it."""
        if len(self.invoices_by_bill()) < len(self.bill_ids):
            return False
        counts = await self.status_counts()
        if counts.get(SyncStatus.SUCCEEDED, 0) != sum(counts.values()):
            return False
        return not self.unsynced_in_ramp()

    async def wait_settled(self, deadline_s: float) -> float:
        """Seconds until settled; fails with the workers' logs after ``deadline_s``."""
        started = time.monotonic()
        while not await self.settled():
            counts = await self.status_counts()
            stuck = counts.get(SyncStatus.NEEDS_ATTENTION, 0) + counts.get(SyncStatus.EXCLUDED, 0)
            if stuck or time.monotonic() - started > deadline_s:
                raise AssertionError(
                    f"not settled after {time.monotonic() - started:.0f} s: {counts}, "
                    f"{len(self.invoices_by_bill())} bills invoiced, "
                    f"{len(self.unsynced_in_ramp())} unsynced in Ramp; "
                    f"{await self.attention()}\n{self.log_tail()}"
                )
            await asyncio.sleep(0.25)
        return time.monotonic() - started

    async def wait_invoiced(self, bills: int, deadline_s: float) -> None:
        """Wait until at least ``bills`` bills have a Visma document."""
        started = time.monotonic()
        while len(self.invoices_by_bill()) < bills:
            if time.monotonic() - started > deadline_s:
                raise AssertionError(f"fewer than {bills} bills invoiced\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    async def attention(self) -> list[tuple[str, str | None]]:
        """Records needing attention, with their errors (to explain a failure)."""
        records = await self.runtime.store.list_records(self.connection_id, limit=10_000)
        return [
            (r.object_id, r.last_error) for r in records if r.status is SyncStatus.NEEDS_ATTENTION
        ]


@asynccontextmanager
async def chaos_run(
    folder: Path, bills: int, *, database_url: str | None = None, lease_s: float = 4.0
) -> AsyncIterator[ChaosRun]:
    """Sandboxes, a store with one connection, and the environment for worker processes."""
    dataset = approved_dataset(bills)
    ramp = RampSandbox(RAMP_ID, RAMP_SECRET, dataset=dataset, rate_limit=10**6)
    visma = VismaSandbox(VISMA_ID, VISMA_SECRET, TENANT, COMPANY, dataset=dataset)
    servers = [await start_server(ramp.app), await start_server(visma.app)]
    url = database_url or f"sqlite+aiosqlite:///{folder / 'chaos.db'}"
    key = Fernet.generate_key().decode()
    settings = Settings(
        database_url=url,
        master_key=SecretStr(key),
        master_key_file=folder / "unused.key",
        log_level="WARNING",
    )
    runtime = await Runtime.open(settings)
    run: ChaosRun | None = None
    try:
        connection = await admin.add_connection(
            Actor.local_admin("tests"),
            runtime,
            CONNECTION,
            credentials={
                "ramp_client_id": RAMP_ID,
                "ramp_client_secret": RAMP_SECRET,
                "visma_client_id": VISMA_ID,
                "visma_client_secret": VISMA_SECRET,
                "visma_tenant_id": TENANT,
                "visma_company_id": COMPANY,
            },
            ramp_base_url=servers[0].url,
            visma_base_url=servers[1].url,
            visma_token_url=f"{servers[1].url}/connect/token",
            settings=operator_settings(dataset),
        )
        env = {
            **os.environ,
            "ML_CONNECTOR_DATABASE_URL": url,
            "ML_CONNECTOR_MASTER_KEY": key,
            "ML_CONNECTOR_LOG_LEVEL": "WARNING",
            "ML_CONNECTOR_LOG_JSON": "true",
            # An ambiguous call gives up quickly; a dead worker's records return within a lease.
            "ML_CONNECTOR_HTTP_TIMEOUT_S": "1.0",
            "ML_CONNECTOR_LEASE_S": str(lease_s),
            "ML_CONNECTOR_POLL_INTERVAL_S": "0.1",
            # Reconcile often, so a write-back lost with a killed worker is redone soon.
            "ML_CONNECTOR_RECONCILE_INTERVAL_S": "2",
            "ML_CONNECTOR_CONCURRENCY": "8",
            # A killed worker may die holding a vendor's supplier lock, which only expires after
            # its fixed TTL (120 s, flows/suppliers.py); the bills of that vendor retry quickly
            # and must not run out of attempts before then.
            "ML_CONNECTOR_RETRY_BASE_S": "0.5",
            "ML_CONNECTOR_RETRY_CAP_S": "3",
            "ML_CONNECTOR_MAX_ATTEMPTS": "200",
        }
        run = ChaosRun(
            dataset,
            folder,
            url,
            ramp,
            visma,
            servers,
            runtime,
            connection.id,
            lease_s,
            _env=env,
        )
        yield run
    finally:
        if run is not None:
            for process in run.workers.values():
                if process.returncode is None:
                    process.kill()
                    await process.wait()
        await runtime.close()
        for server in servers:
            await server.stop()
