"""Benchmark 4: fairness, a small tenant's new bill while another tenant has a 10,000-bill backlog.

    python -m bench.fairness [--small] [--backlog 10000] [--tenants 50] [--backend postgresql]

Both sandboxes run in a child process at zero added latency (``bench._world``). The store (a
fresh PostgreSQL database by default, or a SQLite file) holds one big connection with
``--backlog`` pending bills and ``--tenants`` small connections, each of which has synced one
earlier bill (an existing customer: its tokens and Visma master data are warm). All of them
write to one Visma company, so the tenants' bills are of vendors Visma already knows (see
``_tenant_bills``). A worker (the
``Service`` work loop, in this process, the schedule loop off so no reconciliation adds work)
starts on the backlog; once it is busy, each small connection receives one new bill at a random
moment within ``--spread-s`` seconds (queued as a receiver queues it, then the worker is woken).
Time to invoice is, per small bill, from its record's creation to the commit that marks it
succeeded with its Visma invoice (both stamped by the store's clock); it is also split into the
wait until a worker claimed it (what fairness decides) and the work itself (what the machine's
CPU decides).

Reported: p50/p95/max time to invoice of the small tenants (target p95 < 5 s), how far the
backlog advanced meanwhile, and what a first-in-first-out queue would have made them wait (the
backlog still ahead of them over the measured backlog throughput). Prints one summary line and
writes ``fairness.json`` (``fairness_small.json`` with ``--small``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bench._fleet import load_average, write_result
from bench._procs import machine, percentile, store_url
from bench._world import World, sandboxes, scaled_demo
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.log import configure_logging
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.service import Service
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.store import SyncRecord, SyncStatus

TARGET_P95_S = 5.0
DEADLINE_S = 900.0


async def _connections(runtime: Runtime, world: World, tenants: int) -> list[int]:
    """The big connection's id, then the small ones'; all reach the same sandboxes."""
    ids = []
    for name in ["big", *(f"tenant-{n:02d}" for n in range(tenants))]:
        connection = await admin.add_connection(
            Actor.local_admin("tests"),
            runtime,
            name,
            credentials=world.credentials(),
            ramp_base_url=world.ramp_url,
            visma_base_url=world.visma_url,
            visma_token_url=f"{world.visma_url}/connect/token",
            settings={"mapping": {"default_vat": "1"}},
        )
        ids.append(connection.id)
    return ids


async def _succeeded(runtime: Runtime, connection_id: int) -> int:
    return (await runtime.store.count_by_status(connection_id))[SyncStatus.SUCCEEDED]


def _world_size(args: argparse.Namespace) -> int:
    """Bills in the sandboxes: the backlog, then enough to find the tenants' bills in."""
    return args.backlog + 20 * args.tenants + 200


def _tenant_bills(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Per small tenant, a warm-up bill and the measured one, of one vendor, past the backlog.

    The measured bill is then an everyday one: its vendor is already linked on its connection.
    And as all connections write to one Visma company, the vendors are ones Visma already has
    a supplier for (matched by organisation or VAT number), so no two connections ever race to
    create the same supplier (each connection locks only its own vendors).
    """
    dataset = scaled_demo(_world_size(args))
    active = [s for s in dataset.suppliers if s.status == "Active"]
    orgs = {s.corporate_id for s in active if s.corporate_id}
    vats = {s.vat_registration_id for s in active if s.vat_registration_id}
    known = sorted(
        v.id for v in dataset.vendors if (v.org_number in orgs) or (v.vat_number in vats)
    )
    by_vendor: dict[str, list[str]] = {vendor: [] for vendor in known}
    for bill in dataset.bills[args.backlog :]:
        if bill.vendor_id in by_vendor:
            by_vendor[bill.vendor_id].append(bill.id)
    warmups, measured = [], []
    for n in range(args.tenants):
        pair = by_vendor[known[n % len(known)]]
        if len(pair) < 2:
            raise RuntimeError("not enough bills of known suppliers for the tenants")
        warmups.append(pair.pop(0))
        measured.append(pair.pop(0))
    return warmups, measured


async def _settle(runtime: Runtime, worker: asyncio.Task[None]) -> None:
    """Wait until every record in the store succeeded (the warm-up phase)."""
    began = time.monotonic()
    while True:
        counts = await runtime.store.count_by_status()
        if counts[SyncStatus.SUCCEEDED] == sum(counts.values()):
            return
        if counts[SyncStatus.NEEDS_ATTENTION]:
            stuck = await runtime.store.list_records(None, status=SyncStatus.NEEDS_ATTENTION)
            raise RuntimeError(f"a warm-up bill needs attention: {stuck[0].last_error}")
        if worker.done() or time.monotonic() - began > DEADLINE_S:
            raise RuntimeError("the warm-up bills did not settle")
        await asyncio.sleep(0.5)


async def run(world: World, url: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(
        database_url=url,
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=folder / "unused.key",
        log_level="WARNING",
    )
    configure_logging(settings)
    runtime = await Runtime.open(settings)
    bills = scaled_demo(_world_size(args)).bills
    bill_ids = [bill.id for bill in bills[: args.backlog]]
    warmups, measured = _tenant_bills(args)
    rng = random.Random(4)
    try:
        big, *small = await _connections(runtime, world, args.tenants)
        service = Service(
            runtime,
            poll_interval_s=0.2,
            concurrency=args.concurrency,
            run_scheduler=False,
            policy=RetryPolicy(max_attempts=8, base_s=0.5, cap_s=5.0),
        )
        stop = asyncio.Event()
        worker = asyncio.create_task(service.run(stop))
        try:
            # Each small tenant is an existing customer: one earlier bill warms its connection
            # (tokens, Visma master data), so the measured bill is an everyday one.
            await runtime.store.upsert_records(
                [((cid, "bill", b), "webhook") for cid, b in zip(small, warmups, strict=True)]
            )
            await _settle(runtime, worker)
            for start in range(0, args.backlog, 1000):
                chunk = bill_ids[start : start + 1000]
                await runtime.store.upsert_records([((big, "bill", b), "backfill") for b in chunk])
            service.wake()
            began = time.monotonic()
            while await _succeeded(runtime, big) < 2 * args.concurrency:
                if worker.done() or time.monotonic() - began > DEADLINE_S:
                    raise RuntimeError("the worker never got going on the backlog")
                await asyncio.sleep(0.5)
            big_before, window_began = await _succeeded(runtime, big), time.monotonic()
            window_start = datetime.now(UTC)
            ahead: list[int] = []

            async def arrive(n: int, connection_id: int) -> SyncRecord:
                await asyncio.sleep(rng.uniform(0.0, args.spread_s))
                counts = await runtime.store.count_by_status(big)
                ahead.append(counts[SyncStatus.PENDING])
                bill = measured[n]
                record = await runtime.store.upsert_record(
                    connection_id, "bill", bill, reason="webhook"
                )
                service.wake()
                return record

            queued = await asyncio.gather(*(arrive(n, cid) for n, cid in enumerate(small)))
            finished: dict[int, SyncRecord] = {}
            wanted = {record.id for record in queued}
            while len(finished) < len(queued):
                if worker.done() or time.monotonic() - window_began > DEADLINE_S:
                    raise RuntimeError(f"only {len(finished)} small bills invoiced")
                await asyncio.sleep(0.5)  # one cheap query a poll: the worker shares this CPU
                done = await runtime.store.list_records(
                    None, status=SyncStatus.SUCCEEDED, updated_since=window_start, limit=100_000
                )
                finished.update({r.id: r for r in done if r.id in wanted})
            window_s = time.monotonic() - window_began
            big_after = await _succeeded(runtime, big)
        finally:
            stop.set()
            await asyncio.wait_for(worker, timeout=120)
        histories = [await runtime.store.list_attempts(r.id) for r in finished.values()]
    finally:
        await runtime.close()

    waits = [(r.updated_at - r.created_at).total_seconds() for r in finished.values()]
    # Split each wait: until a worker claimed the bill (the scheduling), then its own work.
    claimed_at = {h[0].record_id: h[0].started_at for h in histories if h}
    to_claim = [(claimed_at[r.id] - r.created_at).total_seconds() for r in finished.values()]
    working = [(r.updated_at - claimed_at[r.id]).total_seconds() for r in finished.values()]
    attempts = [len(h) for h in histories]
    throughput = (big_after - big_before) / window_s if window_s else 0.0
    fifo = [n / throughput for n in ahead] if throughput else []
    problems = []
    if any(r.visma_ref is None for r in finished.values()):
        problems.append("a small bill succeeded without a Visma invoice")
    if any(n != 2 for n in attempts):  # one claim row and one completion row each
        problems.append(f"small bills were claimed more than once: {attempts}")
    return {
        "small_bills": len(waits),
        "p50_s": round(percentile(waits, 0.50), 3),
        "p95_s": round(percentile(waits, 0.95), 3),
        "max_s": round(max(waits), 3),
        "until_claimed_p95_s": round(percentile(to_claim, 0.95), 3),
        "working_p95_s": round(percentile(working, 0.95), 3),
        "backlog": args.backlog,
        "backlog_done_meanwhile": big_after - big_before,
        "backlog_bills_per_s": round(throughput, 2),
        "fifo_estimate_p50_s": round(percentile(fifo, 0.5), 1) if fifo else None,
        "correct": not problems,
        "problems": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="smoke size: 100 + 5 bills")
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--spread-s", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()
    if args.small:
        args.backlog, args.tenants, args.spread_s = 100, 5, 1.0
    load_before = load_average()
    with (
        sandboxes(_world_size(args)) as world,
        tempfile.TemporaryDirectory() as tmp,
    ):

        async def measure() -> dict[str, Any]:
            async with store_url(args.backend, Path(tmp)) as url:
                return await run(world, url, Path(tmp), args)

        measured = asyncio.run(measure())
    result = {
        "benchmark": "fairness",
        **machine(),
        "backend": args.backend,
        "tenants": args.tenants,
        "concurrency": args.concurrency,
        "spread_s": args.spread_s,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "target_p95_s": TARGET_P95_S,
        **measured,
        "target_met": measured["p95_s"] < TARGET_P95_S,
    }
    write_result("fairness_small" if args.small else "fairness", result)
    print(
        f"fairness: {result['small_bills']} small-tenant bills behind a {args.backlog:,}-bill "
        f"backlog: time to invoice p50 {result['p50_s']} s, p95 {result['p95_s']} s "
        f"(target < {TARGET_P95_S:g} s {'met' if result['target_met'] else 'MISSED'}), "
        f"max {result['max_s']} s; FIFO would wait ~{result['fifo_estimate_p50_s']} s; "
        f"{'correct' if result['correct'] else 'INCORRECT'}"
    )
    if not result["correct"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
