"""Benchmark 2: end-to-end throughput, bills/s and the connector's CPU-ms per bill.

    python -m bench.e2e_throughput [--bills 1000] [--backends sqlite,postgresql] [--small]

Both sandboxes run in a child process at zero added latency (``bench._world``), started afresh
for each backend. The connector runs in this process with a fresh store (a SQLite file, or a
PostgreSQL database created for the run and dropped after) and syncs every ready bill in one
``sync_once`` pass, logging configured as the CLI does (``log_level`` WARNING).

What is measured, and what is not:

- CPU is this process's user + system time over the pass (``resource.getrusage``), so it covers
  the event loop and the SQLite engine threads (SQLite runs in-process), and never the
  simulators (another process). On PostgreSQL the database server's own CPU is not included.
- Vendor calls are counted from the sandboxes' request journals, per bill synced.
- Store round trips are counted per bill: transactions (BEGIN) and statements sent to the
  database, from SQLAlchemy's cursor events.
- ``sandboxes_cpu_s`` is the simulators' process CPU (start-up included), for context: at zero
  latency, the wall-clock throughput is bounded by whichever process saturates first.

Prints one summary line per backend and writes ``bench/results/e2e_throughput.json``
(``e2e_throughput_small.json`` with ``--small``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import event

from bench._procs import store_url
from bench._world import World, sandboxes
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.log import configure_logging
from ml_connector.runtime.sync import sync_once
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings

# ML_CONNECTOR_BENCH_RESULTS redirects the JSON (the smoke tests write to a temporary folder).
RESULTS = Path(os.environ.get("ML_CONNECTOR_BENCH_RESULTS") or Path(__file__).parent / "results")
SMALL_BILLS = 60
TARGET_CPU_MS = 5.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class StatementCounter:
    """Counts transactions and statements the store sends while ``active``."""

    def __init__(self, runtime: Runtime) -> None:
        self.active = False
        self.counts: Counter[str] = Counter()
        engine = runtime.store._db.engine.sync_engine

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*args: Any) -> None:
            if self.active:
                verb = str(args[2]).lstrip().split(None, 1)[0].upper()
                self.counts["transactions" if verb == "BEGIN" else "statements"] += 1

        @event.listens_for(engine, "begin")
        def _begin(*args: Any) -> None:  # PostgreSQL's BEGIN is not a cursor statement
            if self.active and runtime.store.dialect == "postgresql":
                self.counts["transactions"] += 1


async def run(world: World, database_url: str, folder: Path, backend: str) -> dict[str, Any]:
    settings = Settings(
        database_url=database_url,
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=folder / "bench.key",
        log_level="WARNING",
    )
    configure_logging(settings)
    runtime = await Runtime.open(settings)
    try:
        await admin.add_connection(
            Actor.local_admin("tests"),
            runtime,
            "bench",
            credentials=world.credentials(),
            ramp_base_url=world.ramp_url,
            visma_base_url=world.visma_url,
            visma_token_url=f"{world.visma_url}/connect/token",
            settings={"mapping": {"default_vat": "1"}},
        )
        counter = StatementCounter(runtime)
        calls_before = {s: world.journal_count(s) for s in ("ramp", "visma")}
        counter.active = True
        cpu0, wall0 = _cpu_s(), time.perf_counter()
        summary = await sync_once(runtime, "bench", settle_s=5)
        cpu, wall = _cpu_s() - cpu0, time.perf_counter() - wall0
        counter.active = False
        calls = {s: world.journal_count(s) - calls_before[s] for s in calls_before}
    finally:
        await runtime.close()
    synced = summary.visma_invoices_created
    cpu_us = round(cpu * 1_000_000)
    transactions, statements = counter.counts["transactions"], counter.counts["statements"]
    return {
        "backend": backend,
        "bills_ready": summary.ramp_bills_ready,
        "invoices_created": synced,
        "needs_attention": summary.needs_attention,
        "wall_s": round(wall, 3),
        "bills_per_s": round(synced / wall, 1) if wall else None,
        "connector_cpu_s": round(cpu, 3),
        # The exact counts the per-bill figures are rounded from (a check compares these).
        "connector_cpu_us": cpu_us,
        "ramp_calls": calls["ramp"],
        "visma_calls": calls["visma"],
        "store_transactions": transactions,
        "store_statements": statements,
        "cpu_ms_per_bill": per_bill(cpu_us / 1000, synced, 2),
        "ramp_calls_per_bill": per_bill(calls["ramp"], synced),
        "visma_calls_per_bill": per_bill(calls["visma"], synced),
        "store_transactions_per_bill": per_bill(transactions, synced, 2),
        "store_statements_per_bill": per_bill(statements, synced, 2),
    }


def per_bill(value: float, bills: int, digits: int = 3) -> float | None:
    """``value`` per bill, rounded for the report; None when no bill was synced."""
    return round(value / bills, digits) if bills else None


async def _measure(world: World, backend: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with store_url(backend, folder) as url:
            return await run(world, url, folder, backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bills", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--small", action="store_true", help=f"{SMALL_BILLS} bills (a smoke run)")
    args = parser.parse_args()
    bills = SMALL_BILLS if args.small else args.bills
    runs = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        children_before = _children_cpu_s()
        with sandboxes(bills) as world:  # on free ports, proven to be the child's
            result = asyncio.run(_measure(world, backend))
        # The sandboxes' process, counted once it has exited (its start-up included).
        result["sandboxes_cpu_s"] = round(_children_cpu_s() - children_before, 3)
        runs.append(result)
        print(
            f"e2e_throughput[{backend}]: {result['invoices_created']} bills in "
            f"{result['wall_s']} s = {result['bills_per_s']} bills/s, "
            f"{result['cpu_ms_per_bill']} connector CPU-ms/bill (target <= {TARGET_CPU_MS}), "
            f"{result['visma_calls_per_bill']} Visma + {result['ramp_calls_per_bill']} Ramp "
            f"calls/bill, {result['store_transactions_per_bill']} store transactions/bill"
        )
    document = {
        "benchmark": "e2e_throughput",
        "bills": bills,
        "target_cpu_ms_per_bill": TARGET_CPU_MS,
        "runs": runs,
        "load_average": [round(x, 2) for x in _loadavg()],
        "machine": f"{platform.machine()} {platform.processor() or ''} "
        f"{platform.python_implementation()} {platform.python_version()}".replace("  ", " "),
        "date": datetime.now(UTC).date().isoformat(),
    }
    RESULTS.mkdir(exist_ok=True)
    name = "e2e_throughput_small.json" if args.small else "e2e_throughput.json"
    (RESULTS / name).write_text(json.dumps(document, indent=2) + "\n")


def _loadavg() -> tuple[float, float, float]:
    try:
        one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    except (OSError, ValueError):
        return (0.0, 0.0, 0.0)
    return float(one), float(five), float(fifteen)


if __name__ == "__main__":
    main()
