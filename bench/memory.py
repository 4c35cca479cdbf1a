"""Benchmark 5: peak memory of ``ml-connector backfill`` over a long bill history.

    python -m bench.memory [--small] [--sizes 10000,100000] [--ready 500]

For each history size, both sandboxes run in a child process (``bench._fleet.history_world``)
with that many bills, of which the first ``--ready`` are still to sync and the rest are already
``BILL_SYNCED`` in Ramp: a company with years of history, backfilled from its first day. The
connector is a separate ``ml-connector backfill NAME --since 2000-01-01 --json`` process over a
SQLite store: it pages through every bill of the history and queues and syncs the ready ones.
Its peak resident set size is the kernel's own high-water mark for that process (``VmHWM`` in
``/proc/PID/status``, read every 50 ms until it exits), and the RSS curve is recorded too.

Correctness, checked every run: the backfill saw every bill, queued exactly the ready ones and
created one Visma invoice for each. Prints one summary line and writes ``memory.json`` (or
``memory_small.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bench._fleet import history_world, load_average, write_result
from bench._procs import cli, machine
from bench._world import World
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings

TARGET_MB = 250.0
CONNECTION = "bench"


async def _add_connection(world: World, settings: Settings) -> None:
    runtime = await Runtime.open(settings)
    try:
        await admin.add_connection(
            Actor.local_admin("tests"),
            runtime,
            CONNECTION,
            credentials=world.credentials(),
            ramp_base_url=world.ramp_url,
            visma_base_url=world.visma_url,
            visma_token_url=f"{world.visma_url}/connect/token",
            settings={"mapping": {"default_vat": "1"}},
        )
    finally:
        await runtime.close()


def _status_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB: its resident set now, and the kernel's high-water mark."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024  # kB
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def _sample(pid: int, samples: list[tuple[float, float, float]], done: threading.Event) -> None:
    """(seconds, RSS, high-water mark) of ``pid`` every 50 ms until ``done`` or its exit."""
    started = time.monotonic()
    while not done.is_set():
        try:
            rss, hwm = _status_mb(pid)
        except (OSError, ValueError):
            return  # gone (or a zombie without memory figures)
        if hwm:
            samples.append((time.monotonic() - started, rss, hwm))
        done.wait(0.05)


def measure(bills: int, ready: int) -> dict[str, Any]:
    """One backfill over a history of ``bills`` bills: peak RSS and what the backfill did."""
    with history_world(bills, ready) as world, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        key = Fernet.generate_key().decode()
        url = f"sqlite+aiosqlite:///{folder / 'memory.db'}"
        settings = Settings(
            database_url=url,
            master_key=SecretStr(key),
            master_key_file=folder / "unused.key",
            log_level="WARNING",
        )
        asyncio.run(_add_connection(world, settings))
        env = {
            **os.environ,
            "ML_CONNECTOR_DATABASE_URL": url,
            "ML_CONNECTOR_MASTER_KEY": key,
            "ML_CONNECTOR_LOG_LEVEL": "WARNING",
        }
        out_path = folder / "backfill.json"
        began = time.monotonic()
        with out_path.open("wb") as out, (folder / "backfill.log").open("wb") as err:
            child = subprocess.Popen(
                [*cli(), "backfill", CONNECTION, "--since", "2000-01-01", "--json"],
                env=env,
                stdout=out,
                stderr=err,
            )
            samples: list[tuple[float, float, float]] = []
            done = threading.Event()
            sampler = threading.Thread(target=_sample, args=(child.pid, samples, done))
            sampler.start()
            code = child.wait()
            done.set()
            sampler.join()
        wall = time.monotonic() - began
        if code != 0:
            raise RuntimeError(f"backfill exited {code}: {(folder / 'backfill.log').read_text()}")
        summary = json.loads(out_path.read_text())
    problems = []
    if summary["bills_seen"] != bills:
        problems.append(f"saw {summary['bills_seen']} of {bills} bills")
    if summary["bills_queued"] != ready or summary["visma_invoices_created"] != ready:
        problems.append(
            f"queued {summary['bills_queued']}, created {summary['visma_invoices_created']}, "
            f"expected {ready}"
        )
    if summary["needs_attention"] or summary["retrying"]:
        problems.append(f"{summary['needs_attention']} need attention, {summary['retrying']} wait")
    step = max(1, len(samples) // 40)
    late = [rss for t, rss, _ in samples if t >= wall / 2]
    return {
        "history_bills": bills,
        "ready_bills": ready,
        # The kernel's high-water mark of the backfill process (the last one read before exit).
        "peak_rss_mb": round(max((hwm for _, _, hwm in samples), default=0.0), 1),
        # The largest RSS seen in the second half of the run: does it creep with the history?
        "late_rss_mb": round(max(late, default=0.0), 1),
        "wall_s": round(wall, 1),
        "backfill": summary,
        "rss_curve_mb": [(round(t, 1), round(rss, 1)) for t, rss, _ in samples[::step]],
        "correct": not problems,
        "problems": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="smoke size: 300 and 1,000 bills")
    parser.add_argument("--sizes", default="10000,100000", help="history sizes, comma-separated")
    parser.add_argument("--ready", type=int, default=500, help="bills still to sync")
    args = parser.parse_args()
    sizes = [300, 1000] if args.small else [int(s) for s in args.sizes.split(",")]
    ready = 10 if args.small else args.ready
    load_before = load_average()
    runs = [measure(size, min(ready, size)) for size in sizes]
    largest, smallest = runs[-1], runs[0]
    growth = largest["peak_rss_mb"] - smallest["peak_rss_mb"]
    result = {
        "benchmark": "memory",
        **machine(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "target_peak_rss_mb": TARGET_MB,
        "runs": runs,
        "growth_mb": round(growth, 1),
        "target_met": all(r["peak_rss_mb"] < TARGET_MB for r in runs),
        "correct": all(r["correct"] for r in runs),
    }
    write_result("memory_small" if args.small else "memory", result)
    peaks = ", ".join(f"{r['history_bills']:,} bills {r['peak_rss_mb']} MB" for r in runs)
    print(
        f"memory: backfill peak RSS {peaks} ({growth:+.1f} MB; target < {TARGET_MB:g} MB "
        f"{'met' if result['target_met'] else 'MISSED'}); "
        f"{'correct' if result['correct'] else 'INCORRECT'}"
    )
    if not result["correct"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
