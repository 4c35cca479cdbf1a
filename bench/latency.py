"""Benchmark: webhook-to-invoice latency, from Ramp's signed webhook to the Visma invoice.

    python -m bench.latency [--small] [--bills 100] [--rate 5] [--backends sqlite,postgresql]

Both sandboxes run in a child process (``bench._world``) with bills awaiting approval;
``ml-connector serve`` (receiver and worker in one process) runs as another child, with its
Ramp webhook registered through the real subscription and challenge. The benchmark approves
bills through the Ramp sandbox's control API, which emits a signed ``bills.approved`` webhook
for each; the connector receives it, queues the bill and wakes its worker, which creates the
Visma invoice. Nothing polls Ramp for ready bills meanwhile (the reconciliation interval is an
hour), so every invoice is the webhook's doing.

A bill's latency is the Visma invoice's ``createdDateTime`` minus the Ramp event's
``created_at``: both are the sandboxes' own timestamps, taken by one process with one clock
(Visma's has millisecond resolution). Two phases per store, each with its own bills:
``steady`` approves ``--bills`` bills at ``--rate`` per second, ``burst`` approves as many
back to back. Each bill must end with exactly one invoice. Prints one summary line and writes
``bench/results/latency.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bench._procs import Children, machine, percentile, store_url, wait_ready
from bench._world import World, sandboxes
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.app.webhooks import register_ramp
from ml_connector.demo import NOTE_PREFIX
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.store import SyncStatus

RESULTS = Path(os.environ.get("ML_CONNECTOR_BENCH_RESULTS") or Path(__file__).parent / "results")
CONNECTION = "bench"


def _moment(value: str) -> datetime:
    """An ISO timestamp from a sandbox as an aware UTC datetime (Visma's are naive UTC)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _approve(world: World, bill_ids: list[str], rate_per_s: float | None) -> float:
    """Approve the bills, at ``rate_per_s`` or back to back (None); returns the seconds taken."""
    async with httpx.AsyncClient(base_url=world.ramp_url, timeout=30) as http:
        started = time.monotonic()
        for n, bill_id in enumerate(bill_ids):
            if rate_per_s is not None:
                await asyncio.sleep(max(0.0, started + n / rate_per_s - time.monotonic()))
            answer = await http.post(f"/_sandbox/bills/{bill_id}/approve")
            answer.raise_for_status()
        return time.monotonic() - started


async def _wait_synced(runtime: Runtime, connection_id: int, done: int, deadline_s: float) -> None:
    """Until ``done`` records succeeded; raises when one needs attention or time runs out."""
    started = time.monotonic()
    while True:
        counts = await runtime.store.count_by_status(connection_id)
        if counts[SyncStatus.NEEDS_ATTENTION]:
            stuck = await runtime.store.list_records(
                connection_id, status=SyncStatus.NEEDS_ATTENTION, limit=3
            )
            raise RuntimeError("; ".join(f"{r.object_id}: {r.last_error}" for r in stuck))
        if counts[SyncStatus.SUCCEEDED] >= done:
            return
        if time.monotonic() - started > deadline_s:
            raise RuntimeError(f"not synced within {deadline_s:g} s: {counts}")
        await asyncio.sleep(0.25)


async def _sandbox_times(world: World) -> tuple[dict[str, datetime], dict[str, list[datetime]]]:
    """When each bill's approval event was emitted, and when each of its invoices was created."""
    async with httpx.AsyncClient(timeout=60) as http:
        ramp = (await http.get(f"{world.ramp_url}/_sandbox/state")).json()
        visma = (await http.get(f"{world.visma_url}/_sandbox/state")).json()
    emitted = {
        event["object"]["id"]: _moment(event["created_at"])
        for event in ramp["events"]
        if event["type"] == "bills.approved"
    }
    created: dict[str, list[datetime]] = {}
    for invoice in visma["invoices"]:
        note = str(invoice.get("note") or "")
        if NOTE_PREFIX in note:
            bill_id = note.split(NOTE_PREFIX, 1)[1].split()[0]
            created.setdefault(bill_id, []).append(_moment(str(invoice["createdDateTime"])))
    return emitted, created


def _summary(
    phase: str,
    bill_ids: list[str],
    emitted: dict[str, datetime],
    stored: dict[str, datetime],
    created: dict[str, list[datetime]],
) -> dict[str, Any]:
    invoices = Counter({bill_id: len(created.get(bill_id, [])) for bill_id in bill_ids})
    measured = [b for b in bill_ids if invoices[b] == 1 and b in emitted and b in stored]
    latencies = [(created[b][0] - emitted[b]).total_seconds() for b in measured]
    to_inbox = [(stored[b] - emitted[b]).total_seconds() for b in measured]
    return {
        "phase": phase,
        "bills": len(bill_ids),
        "invoiced_once": sum(1 for count in invoices.values() if count == 1),
        "without_invoice": sum(1 for count in invoices.values() if count == 0),
        "invoiced_twice_or_more": sum(1 for count in invoices.values() if count > 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies, default=0.0) * 1000, 1),
        # The part until the receiver stored the event (the serve process's clock).
        "to_inbox_p50_ms": round(percentile(to_inbox, 0.50) * 1000, 1),
        "to_inbox_p99_ms": round(percentile(to_inbox, 0.99) * 1000, 1),
    }


async def run_backend(world: World, backend: str, bills: int, rate: float) -> list[dict[str, Any]]:
    """Both phases against a fresh store and a fresh ``serve`` process."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with store_url(backend, folder) as url:
            key = Fernet.generate_key().decode()
            settings = Settings(
                database_url=url,
                master_key=SecretStr(key),
                master_key_file=folder / "unused.key",
                log_level="WARNING",
            )
            runtime = await Runtime.open(settings)
            env = {
                **os.environ,
                "ML_CONNECTOR_DATABASE_URL": url,
                "ML_CONNECTOR_MASTER_KEY": key,
                "ML_CONNECTOR_LOG_LEVEL": "WARNING",
            }
            children = Children(env, folder)
            try:
                connection = await admin.add_connection(
                    Actor.local_admin("tests"),
                    runtime,
                    CONNECTION,
                    credentials=world.credentials(),
                    ramp_base_url=world.ramp_url,
                    visma_base_url=world.visma_url,
                    visma_token_url=f"{world.visma_url}/connect/token",
                    settings={"mapping": {"default_vat": "1"}},
                )
                port = await children.serve("--reconcile-interval-s", "3600")
                serve_url = f"http://127.0.0.1:{port}"
                await wait_ready(f"{serve_url}/readyz")
                registration = await register_ramp(
                    Actor.local_admin("bench"), runtime, CONNECTION, serve_url, timeout_s=60
                )
                if not registration.verified:
                    raise RuntimeError(registration.detail)
                bill_ids = await _pending_bills(world, 2 * bills)
                phases = [("steady", bill_ids[:bills], rate), ("burst", bill_ids[bills:], None)]
                done = 0
                for _, ids, per_s in phases:
                    await _approve(world, ids, per_s)
                    done += len(ids)
                    await _wait_synced(runtime, connection.id, done, deadline_s=120 + 2 * bills)
                events = await runtime.store.list_events(
                    connection.id, event_type="bills.approved", limit=10 * bills
                )
                stored = {e.object_id: e.received_at for e in events if e.object_id is not None}
            finally:
                children.stop()
                await runtime.close()
    emitted, created = await _sandbox_times(world)
    rows = [_summary(name, ids, emitted, stored, created) for name, ids, _ in phases]
    for row, (_, _, per_s) in zip(rows, phases, strict=True):
        row |= {"backend": backend, "rate_per_s": per_s}
    return rows


async def _pending_bills(world: World, count: int) -> list[str]:
    """``count`` bill ids that await approval, in a fixed order."""
    async with httpx.AsyncClient(timeout=60) as http:
        state = (await http.get(f"{world.ramp_url}/_sandbox/state")).json()
    ids = sorted(b["id"] for b in state["bills"] if b.get("approval_status") != "APPROVED")
    if len(ids) < count:
        raise RuntimeError(f"the Ramp sandbox has {len(ids)} bills awaiting approval, not {count}")
    return ids[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="10 bills per phase (smoke)")
    parser.add_argument("--bills", type=int, default=100, help="bills per phase")
    parser.add_argument("--rate", type=float, default=5.0, help="approvals per second (steady)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    bills = 10 if args.small else args.bills
    load_before = os.getloadavg()[0]
    runs: list[dict[str, Any]] = []
    for backend in args.backends.split(","):
        # A fresh world per store: each run's bills and events are its own.
        with sandboxes(2 * bills, approved=False) as world:
            runs += asyncio.run(run_backend(world, backend, bills, args.rate))
    result = {
        "benchmark": "latency",
        "runs": runs,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        **machine(),
    }
    RESULTS.mkdir(exist_ok=True)
    name = "latency_small.json" if args.small else "latency.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(
        "latency: "
        + "; ".join(
            f"{r['backend']} {r['phase']}"
            + (f" {r['rate_per_s']:g}/s" if r["rate_per_s"] else "")
            + f": p50 {r['p50_ms']} p95 {r['p95_ms']} p99 {r['p99_ms']} max {r['max_ms']} ms "
            f"({r['invoiced_once']}/{r['bills']} invoiced once)"
            for r in runs
        )
    )


if __name__ == "__main__":
    main()
