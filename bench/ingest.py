"""Benchmark 1: webhook ingest, signed Ramp webhooks acknowledged per second and ack latency.

    python -m bench.ingest [--small] [--requests 10000] [--backends sqlite,postgresql]

For each store (SQLite file; a fresh PostgreSQL database) and each receiver count (1 and 2
``ml-connector serve --no-worker`` processes on their own ports), a load client in this process
sends signed ``bills.approved`` events, each for a different bill, over 32 keep-alive
connections spread round robin across the receivers. An ack is a 200 after the event and its
queued record are committed. Latency is measured from writing the request to reading the whole
answer. Afterwards the store must hold one pending record per event (correctness, not timing).
Prints one summary line and writes ``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bench._procs import (
    Children,
    fire,
    free_port,
    http_post,
    machine,
    percentile,
    store_url,
    wait_ready,
)
from ml_connector.runtime import admin
from ml_connector.runtime.webhooks import add_webhook_secret
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.store import EventSource, SyncStatus
from ml_connector.web.signatures import ramp_signature

# Results go beside the benchmarks unless ML_CONNECTOR_BENCH_RESULTS names another folder
# (the smoke test uses a temporary one, so a test run never rewrites recorded results).
RESULTS = Path(os.environ.get("ML_CONNECTOR_BENCH_RESULTS") or Path(__file__).parent / "results")
SECRET = "whsec_bench_ingest_0c1d2e3f"
CONNECTION = "bench"
CONNECTIONS = 32
WARMUP = 200


def _events(count: int, tag: str) -> list[bytes]:
    """Pre-built signed requests, one new bill per event."""
    built = []
    for n in range(count):
        body = json.dumps(
            {
                "id": f"evt_{tag}_{n}",
                "type": "bills.approved",
                "created_at": "2026-11-24T10:00:00Z",
                "business_id": "945c7d8f-6c35-4d63-9c1c-79e67c9cee73",
                "object": {"id": str(uuid.uuid4())},
            },
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Ramp-Signature": ramp_signature(SECRET, body),
        }
        built.append(http_post(f"/webhooks/ramp/{CONNECTION}", body, headers))
    return built


async def _prepare(settings: Settings) -> int:
    runtime = await Runtime.open(settings)
    try:
        connection = await admin.add_connection(
            runtime,
            CONNECTION,
            credentials={
                "ramp_client_id": "unused",
                "ramp_client_secret": "unused-ramp-secret",
                "visma_client_id": "unused",
                "visma_client_secret": "unused-visma-secret",
                "visma_tenant_id": "tenant",
                "visma_company_id": "1",
            },
            ramp_base_url="http://ramp.invalid",
            visma_base_url="http://visma.invalid",
            visma_token_url="http://visma.invalid/connect/token",
        )
        await add_webhook_secret(runtime, connection, EventSource.RAMP, SECRET)
        return connection.id
    finally:
        await runtime.close()


async def _pending(settings: Settings, connection_id: int) -> int:
    runtime = await Runtime.open(settings, migrate=False)
    try:
        counts = await runtime.store.count_by_status(connection_id)
        return counts.get(SyncStatus.PENDING, 0)
    finally:
        await runtime.close()


async def run_one(backend: str, receivers: int, requests: int) -> dict[str, Any]:
    """One configuration: a fresh store, ``receivers`` processes, ``requests`` signed events."""
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
            connection_id = await _prepare(settings)
            env = {
                **os.environ,
                "ML_CONNECTOR_DATABASE_URL": url,
                "ML_CONNECTOR_MASTER_KEY": key,
                "ML_CONNECTOR_LOG_LEVEL": "WARNING",
            }
            children = Children(env, folder)
            try:
                ports = [free_port() for _ in range(receivers)]
                for port in ports:
                    children.start("serve", "--no-worker", "--port", str(port))
                for port in ports:
                    await wait_ready(f"http://127.0.0.1:{port}/readyz")
                targets = [("127.0.0.1", port) for port in ports]
                await fire(targets, _events(WARMUP, "warm"), CONNECTIONS)
                load = await fire(targets, _events(requests, "run"), CONNECTIONS)
            finally:
                children.stop()
            stored = await _pending(settings, connection_id)
    acks = load.statuses.get(200, 0)
    return {
        "backend": backend,
        "receivers": receivers,
        "requests": requests,
        "acks": acks,
        "other_statuses": {str(k): v for k, v in load.statuses.items() if k != 200},
        "records_queued": stored - WARMUP,
        "wall_s": round(load.wall_s, 3),
        "acks_per_s": round(acks / load.wall_s, 1),
        "p50_ms": round(percentile(load.latencies_s, 0.50) * 1000, 2),
        "p99_ms": round(percentile(load.latencies_s, 0.99) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="a few hundred requests (smoke)")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--receivers", default="1,2")
    args = parser.parse_args()
    requests = 300 if args.small else args.requests
    runs = [
        asyncio.run(run_one(backend, int(receivers), requests))
        for backend in args.backends.split(",")
        for receivers in args.receivers.split(",")
    ]
    result = {"benchmark": "ingest", "connections": CONNECTIONS, "runs": runs, **machine()}
    RESULTS.mkdir(exist_ok=True)
    name = "ingest_small.json" if args.small else "ingest.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(
        "ingest: "
        + "; ".join(
            f"{r['backend']} x{r['receivers']}: {r['acks_per_s']} acks/s "
            f"p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms ({r['acks']}/{r['requests']} acked, "
            f"{r['records_queued']} queued)"
            for r in runs
        )
    )


if __name__ == "__main__":
    main()
