"""Benchmark 6: multi-process chaos on PostgreSQL, 2 receivers and 4 workers SIGKILLed at random.

    python -m bench.chaos [--small] [--bills 5000] [--kills 12] [--seed 6]

Both sandboxes run in this process. Every bill starts awaiting approval; the benchmark approves
them in batches, and the Ramp sandbox delivers each approval as a signed ``bills.approved``
webhook (with its own retries) through a round-robin balancer to two
``ml-connector serve --no-worker`` receivers. Four ``ml-connector worker`` processes share the
queue in a fresh PostgreSQL database through SKIP LOCKED claims and 5 s leases, and reconcile
every 5 s (a webhook that never arrived is caught there). At ``--kills`` random progress marks
one of the six processes, chosen at random, is SIGKILLed and restarted up to a second later.

At the end every process gets SIGTERM and must exit 0. Reported: duplicates (Visma invoices
beyond the first per bill; must be 0), losses (bills without an invoice, records not succeeded,
bills not marked synced in Ramp; must be 0), the time from the last kill until everything
settled, and per killed worker the time until the records it held were reclaimed. Prints one
summary line and writes ``chaos.json`` (``chaos_small.json`` with ``--small``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bench._fleet import Balancer, Fleet, load_average, pending_approval, write_result
from bench._procs import machine, store_url, wait_ready
from bench._world import COMPANY, RAMP_ID, RAMP_SECRET, TENANT, VISMA_ID, VISMA_SECRET, scaled_demo
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.app.webhooks import register_ramp
from ml_connector.demo import NOTE_PREFIX
from ml_connector.log import configure_logging
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.serve import start_server
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.settings import Settings
from ml_connector.store import SyncRecord, SyncStatus, Transition

CONNECTION = "chaos"
RECEIVERS, WORKERS = 2, 4
LEASE_S = 5.0
RECONCILE_S = 5.0
DEADLINE_S = 1800.0  # generous: only a failure waits this long


def _invoices_by_bill(visma: VismaSandbox) -> Counter[str]:
    """How many Visma documents carry each Ramp bill's reference."""
    found: Counter[str] = Counter()
    for invoice in visma.invoices():
        note = str(invoice.get("note") or "")
        if NOTE_PREFIX in note:
            found[note.split(NOTE_PREFIX, 1)[1].split()[0]] += 1
    return found


class Run:
    """The sandboxes, the store and the fleet of one chaos run."""

    def __init__(self, args: argparse.Namespace, folder: Path, url: str) -> None:
        self.args = args
        self.folder = folder
        self.url = url
        dataset = pending_approval(scaled_demo(args.bills))
        self.bill_ids = [bill.id for bill in dataset.bills]
        self.ramp = RampSandbox(
            RAMP_ID, RAMP_SECRET, dataset=dataset, rate_limit=10**9, webhook_retry_base_s=0.5
        )
        self.visma = VismaSandbox(VISMA_ID, VISMA_SECRET, TENANT, COMPANY, dataset=dataset)
        self.key = Fernet.generate_key().decode()
        self.rng = random.Random(args.seed)
        self.kill_log: list[dict[str, Any]] = []

    def settings(self) -> Settings:
        return Settings(
            database_url=self.url,
            master_key=SecretStr(self.key),
            master_key_file=self.folder / "unused.key",
            log_level="WARNING",
        )

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ML_CONNECTOR_DATABASE_URL": self.url,
            "ML_CONNECTOR_MASTER_KEY": self.key,
            "ML_CONNECTOR_LOG_LEVEL": "WARNING",
            "ML_CONNECTOR_LOG_JSON": "true",
            "ML_CONNECTOR_HTTP_TIMEOUT_S": "10",
            "ML_CONNECTOR_LEASE_S": str(LEASE_S),
            "ML_CONNECTOR_POLL_INTERVAL_S": "0.2",
            "ML_CONNECTOR_RECONCILE_INTERVAL_S": str(RECONCILE_S),
            "ML_CONNECTOR_CONCURRENCY": "8",
            # A worker killed holding a vendor's supplier lock leaves it for its TTL; the bills
            # of that vendor wait it out, so the attempt budget must be large.
            "ML_CONNECTOR_RETRY_BASE_S": "0.5",
            "ML_CONNECTOR_RETRY_CAP_S": "3",
            "ML_CONNECTOR_MAX_ATTEMPTS": "400",
        }

    async def approve(self) -> None:
        """Approve every bill, in batches of 50 (each approval sends one webhook)."""
        for start in range(0, len(self.bill_ids), 50):
            for bill_id in self.bill_ids[start : start + 50]:
                self.ramp.approve_bill(bill_id)
            await asyncio.sleep(0.25)

    async def rampage(self, fleet: Fleet, names: list[str]) -> float:
        """SIGKILL a random process at each random progress mark; the monotonic time of the last."""
        marks = sorted(self.rng.uniform(0.05, 0.85) for _ in range(self.args.kills))
        last = time.monotonic()
        for mark in marks:
            target = int(mark * len(self.bill_ids))
            began = time.monotonic()
            while len(_invoices_by_bill(self.visma)) < target:
                if time.monotonic() - began > DEADLINE_S:
                    raise RuntimeError(f"fewer than {target} bills invoiced\n{fleet.tail()}")
                await asyncio.sleep(0.25)
            await asyncio.sleep(self.rng.uniform(0.0, 0.3))
            name = self.rng.choice(names)
            pid = fleet.running[name].pid
            await fleet.kill(name)
            last = time.monotonic()
            self.kill_log.append(
                {"process": name, "pid": pid, "at": datetime.now(UTC).isoformat(), "mark": mark}
            )
            await asyncio.sleep(self.rng.uniform(0.0, 1.0))
            await fleet.start(name)
        return last

    async def settled(self, runtime: Runtime, connection_id: int) -> bool:
        """Every bill invoiced and marked synced, every record succeeded, no webhook pending
        (a late delivery would queue its bill again)."""
        if self.ramp.webhooks.pending or len(_invoices_by_bill(self.visma)) < len(self.bill_ids):
            return False
        counts = await runtime.store.count_by_status(connection_id)
        if counts[SyncStatus.SUCCEEDED] != sum(counts.values()):
            return False
        bills = self.ramp.state.bills
        return all(bills[b].sync_status.value == "BILL_SYNCED" for b in self.bill_ids)


async def _recovery(
    runtime: Runtime, records: list[SyncRecord], kills: list[dict[str, Any]], host: str
) -> tuple[list[float], int]:
    """Per killed worker, seconds from its kill until the last of its leases was reclaimed;
    and how many attempts waited for a lock someone else held (``busy``)."""
    killed = {f"{host}:{k['pid']}": datetime.fromisoformat(k["at"]) for k in kills}
    last_reclaim: dict[str, datetime] = {}
    busy = 0
    for record in records:
        if record.attempts <= 1:
            continue  # claimed once: never reclaimed, never waited
        for attempt in await runtime.store.list_attempts(record.id):
            busy += attempt.error_code == "busy"
            owner = attempt.owner or ""
            expired = attempt.outcome == Transition.EXPIRE.value
            if expired and owner in killed and attempt.finished_at:
                seen = last_reclaim.get(owner)
                if seen is None or attempt.finished_at > seen:
                    last_reclaim[owner] = attempt.finished_at
    delays = [round((last_reclaim[o] - killed[o]).total_seconds(), 2) for o in last_reclaim]
    return delays, busy


async def _quiet(run: Run, runtime: Runtime, connection_id: int, began: float) -> float:
    """When the run settled (monotonic), once it has stayed settled for two reconcile periods.

    A reconciliation pass that listed a bill just before its write-back landed queues it again
    (the flow then finds everything done); judging the run in that moment would see a pending
    record that is about to succeed.
    """
    settled_at: float | None = None
    while time.monotonic() - began < DEADLINE_S:
        if await run.settled(runtime, connection_id):
            settled_at = settled_at or time.monotonic()
            if time.monotonic() - settled_at >= 2 * RECONCILE_S:
                return settled_at
        else:
            settled_at = None
        await asyncio.sleep(0.25)
    return time.monotonic()


async def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    async with store_url("postgresql", folder) as url:
        chaos = Run(args, folder, url)
        settings = chaos.settings()
        configure_logging(settings)
        servers = [await start_server(chaos.ramp.app), await start_server(chaos.visma.app)]
        runtime = await Runtime.open(settings)
        fleet = Fleet(chaos.env(), folder)
        balancer: Balancer | None = None
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
                settings={"mapping": {"default_vat": "1"}},
            )
            ports = [
                await fleet.serve(f"receiver-{n}", "--no-worker", "--host", "127.0.0.1")
                for n in range(RECEIVERS)
            ]
            for port in ports:
                await wait_ready(f"http://127.0.0.1:{port}/readyz")
            balancer = Balancer([("127.0.0.1", port) for port in ports])
            await balancer.start()
            registration = await register_ramp(
                Actor.local_admin("bench"), runtime, CONNECTION, balancer.url, timeout_s=60
            )
            if not registration.verified:
                raise RuntimeError(f"webhook registration failed: {registration.detail}")
            for n in range(WORKERS):
                await fleet.start(f"worker-{n}", "worker")
            names = [f"receiver-{n}" for n in range(RECEIVERS)]
            names += [f"worker-{n}" for n in range(WORKERS)]

            began = time.monotonic()
            approving = asyncio.create_task(chaos.approve())
            last_kill = await chaos.rampage(fleet, names)
            await approving
            settled_at = await _quiet(chaos, runtime, connection.id, began)
            codes = await fleet.stop()
            records = await runtime.store.list_records(connection.id, limit=10 * args.bills)
            host = runtime.owner.rsplit(":", 1)[0]
            reclaims, busy = await _recovery(
                runtime,
                records,
                [k for k in chaos.kill_log if k["process"].startswith("worker")],
                host,
            )
        finally:
            await fleet.stop()
            if balancer is not None:
                await balancer.stop()
            await runtime.close()
            for server in servers:
                await server.stop()

    invoices = _invoices_by_bill(chaos.visma)
    statuses = Counter(r.status.value for r in records)
    bills = chaos.ramp.state.bills
    deliveries = Counter(d.outcome for d in chaos.ramp.webhooks.deliveries)
    failed_answers = Counter(
        str(d.status or d.error or "no answer")[:60]
        for d in chaos.ramp.webhooks.deliveries
        if d.outcome != "delivered"
    )
    duplicates = sum(n - 1 for n in invoices.values() if n > 1)
    missing = [b for b in chaos.bill_ids if invoices.get(b, 0) == 0]
    unsynced = [b for b in chaos.bill_ids if bills[b].sync_status.value != "BILL_SYNCED"]
    not_succeeded = sum(n for s, n in statuses.items() if s != SyncStatus.SUCCEEDED.value)
    return {
        "bills": len(chaos.bill_ids),
        "receivers": RECEIVERS,
        "workers": WORKERS,
        "lease_s": LEASE_S,
        "kills": chaos.kill_log,
        "kills_by_kind": dict(Counter(k["process"].split("-")[0] for k in chaos.kill_log)),
        "duplicates": duplicates,
        "losses": len(missing),
        "records_not_succeeded": not_succeeded,
        "unsynced_in_ramp": len(unsynced),
        "record_statuses": dict(statuses),
        "records_by_reason": dict(Counter(r.reason.split()[0].rstrip(":") for r in records)),
        "webhook_deliveries": dict(deliveries),
        "webhook_failures": dict(failed_answers.most_common(5)),
        "exit_codes": codes,
        "wall_s": round(settled_at - began, 1),
        "bills_per_s": round(len(chaos.bill_ids) / (settled_at - began), 2),
        "settled_after_last_kill_s": round(settled_at - last_kill, 1),
        "worker_reclaim_s": reclaims,
        "busy_lock_waits": busy,
        "correct": duplicates == 0
        and not missing
        and not unsynced
        and not_succeeded == 0
        and set(codes.values()) == {0},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="smoke size: 30 bills, 2 kills")
    parser.add_argument("--bills", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    if args.small:
        args.bills, args.kills = 30, 2
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        measured = asyncio.run(run(args, Path(tmp)))
    result = {
        "benchmark": "chaos",
        **machine(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        **measured,
    }
    write_result("chaos_small" if args.small else "chaos", result)
    reclaim = max(measured["worker_reclaim_s"], default=None)
    print(
        f"chaos: {measured['bills']} bills, {RECEIVERS} receivers + {WORKERS} workers on "
        f"PostgreSQL, {len(measured['kills'])} SIGKILLs {measured['kills_by_kind']}: "
        f"duplicates {measured['duplicates']}, losses {measured['losses']}, "
        f"settled {measured['settled_after_last_kill_s']} s after the last kill "
        f"(worst worker reclaim {reclaim} s), {measured['bills_per_s']} bills/s; "
        f"{'correct' if measured['correct'] else 'INCORRECT'}"
    )
    if not measured["correct"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
