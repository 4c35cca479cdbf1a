"""Benchmark 2: end-to-end throughput, bills/s and the connector's CPU-ms per bill.

    python -m bench.e2e_throughput [--bills 1000]

Both sandboxes run in a child process at zero added latency (``bench._world``); the connector
runs here with a fresh SQLite store and syncs every ready bill in one pass. CPU time is this
process's user + system time (event loop and SQLite threads), so the simulators' own work is
excluded. Prints one summary line and writes ``bench/results/e2e_throughput.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bench._world import World, sandboxes
from ml_connector.runtime import admin
from ml_connector.runtime.sync import sync_once
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings

RESULTS = Path(__file__).parent / "results"


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(world: World, folder: Path) -> dict[str, Any]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'bench.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=folder / "bench.key",
        log_level="WARNING",
    )
    runtime = await Runtime.open(settings)
    try:
        await admin.add_connection(
            runtime,
            "bench",
            credentials=world.credentials(),
            ramp_base_url=world.ramp_url,
            visma_base_url=world.visma_url,
            visma_token_url=f"{world.visma_url}/connect/token",
            settings={"mapping": {"default_vat": "1"}},
        )
        calls_before = {s: world.journal_count(s) for s in ("ramp", "visma")}
        cpu0, wall0 = _cpu_s(), time.perf_counter()
        summary = await sync_once(runtime, "bench", settle_s=5)
        cpu, wall = _cpu_s() - cpu0, time.perf_counter() - wall0
        calls = {s: world.journal_count(s) - calls_before[s] for s in calls_before}
    finally:
        await runtime.close()
    synced = summary.visma_invoices_created
    return {
        "benchmark": "e2e_throughput",
        "bills_ready": summary.ramp_bills_ready,
        "invoices_created": synced,
        "needs_attention": summary.needs_attention,
        "wall_s": round(wall, 3),
        "bills_per_s": round(synced / wall, 1) if wall else None,
        "connector_cpu_s": round(cpu, 3),
        "cpu_ms_per_bill": round(cpu * 1000 / synced, 2) if synced else None,
        "ramp_calls_per_bill": round(calls["ramp"] / synced, 3) if synced else None,
        "visma_calls_per_bill": round(calls["visma"] / synced, 3) if synced else None,
        "machine": f"{platform.machine()} {platform.processor() or ''} "
        f"{platform.python_implementation()} {platform.python_version()}".strip(),
        "date": datetime.now(UTC).date().isoformat(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bills", type=int, default=1000)
    args = parser.parse_args()
    with sandboxes(args.bills) as world, tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(run(world, Path(folder)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "e2e_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"e2e_throughput: {result['invoices_created']} bills in {result['wall_s']} s = "
        f"{result['bills_per_s']} bills/s, {result['cpu_ms_per_bill']} connector CPU-ms/bill, "
        f"{result['visma_calls_per_bill']} Visma + {result['ramp_calls_per_bill']} Ramp calls/bill"
    )


if __name__ == "__main__":
    main()
