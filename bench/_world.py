"""Benchmark worlds: a scaled demo company served by both sandboxes in a separate process.

The sandboxes run in their own process (``python -m bench._world``), so the connector's CPU time
can be measured on its own: ``resource.getrusage`` in the connector process counts only the
connector (its event loop and its SQLite threads), never the simulators.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from bench._ports import PortLost, free_port, wait_listening
from ml_connector.sandbox._demo import UNKNOWN_ACCOUNT
from ml_connector.sandbox.seed import Dataset, SeedBill, demo_dataset

RAMP_ID, RAMP_SECRET = "bench-ramp", "bench-ramp-secret-0001"
VISMA_ID, VISMA_SECRET = "bench-visma", "bench-visma-secret-0001"
TENANT, COMPANY = "bench-tenant", "7001"


def scaled_demo(bills: int, *, approved: bool = True) -> Dataset:
    """The demo company with ``bills`` approved, syncable bills (clones of the clean demo ones).

    ``approved=False`` leaves them awaiting approval: approving one later (the control API's
    ``POST /_sandbox/bills/{id}/approve``) emits its ``bills.approved`` webhook.
    """
    demo = demo_dataset()
    closed = {p.period_id for p in demo.periods if p.closed_in_supplier_ledger}
    clean = [
        b
        for b in demo.bills
        if b.approval_status == "APPROVED"
        and f"{b.issued_at:%Y%m}" not in closed
        and all(line.gl_account != UNKNOWN_ACCOUNT for line in b.lines)
    ]
    made: list[SeedBill] = []
    for n in range(bills):
        template = clean[n % len(clean)]
        made.append(
            dataclasses.replace(
                template,
                id=str(uuid.UUID(int=n + 1, version=4)),
                invoice_number=f"B-{n:07d}",
                approval_status="APPROVED" if approved else "PENDING",
                memo=template.memo.removeprefix("[CREDIT] "),
                is_credit=False,
            )
        )
    return dataclasses.replace(demo, bills=tuple(made), purchase_orders=())


@dataclass(frozen=True)
class World:
    ramp_url: str
    visma_url: str

    def credentials(self) -> dict[str, str]:
        return {
            "ramp_client_id": RAMP_ID,
            "ramp_client_secret": RAMP_SECRET,
            "visma_client_id": VISMA_ID,
            "visma_client_secret": VISMA_SECRET,
            "visma_tenant_id": TENANT,
            "visma_company_id": COMPANY,
        }

    def journal_count(self, system: str) -> int:
        url = self.ramp_url if system == "ramp" else self.visma_url
        data = httpx.get(f"{url}/_sandbox/requests", timeout=30).json()
        entries = data.get("requests", data) if isinstance(data, dict) else data
        return len(entries)


START_ATTEMPTS = 3  # a child that lost a port to another process is started again elsewhere


@contextmanager
def sandboxes(bills: int, *, approved: bool = True) -> Iterator[World]:
    """Run both sandboxes with ``bills`` bills in a child process; stop it afterwards.

    The sandboxes listen on free ports, proven to be the child's (``bench._ports``), so a
    sandbox already running on the usual ports is never mistaken for ours.
    ``approved=False``: the bills await approval (see ``scaled_demo``).
    """
    args = [str(bills), *([] if approved else ["--pending"])]
    with serving_child("bench._world", args, deadline_s=120) as world:
        yield world


@contextmanager
def serving_child(module: str, args: list[str], *, deadline_s: float) -> Iterator[World]:
    """``python -m module RAMP_PORT VISMA_PORT *args`` on free ports it is proven to hold."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for attempt in range(START_ATTEMPTS):
        ramp_port, visma_port = free_port(), free_port()
        command = [sys.executable, "-m", module, str(ramp_port), str(visma_port), *args]
        child = subprocess.Popen(command, env=env)
        try:
            wait_listening(
                child.pid,
                [ramp_port, visma_port],
                lambda child=child: child.poll() is None,
                what=f"python -m {module}",
                deadline_s=deadline_s,
            )
            break
        except PortLost:
            _stop(child)
            if attempt == START_ATTEMPTS - 1:
                raise
        except BaseException:
            _stop(child)
            raise
    world = World(f"http://127.0.0.1:{ramp_port}", f"http://127.0.0.1:{visma_port}")
    try:
        yield world
    finally:
        _stop(child)


def _stop(child: subprocess.Popen[bytes]) -> None:
    """SIGINT (the child stops its servers), then SIGKILL after 30 s."""
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


async def _serve(bills: int, ramp_port: int, visma_port: int, approved: bool = True) -> None:
    from ml_connector.sandbox.ramp import RampSandbox
    from ml_connector.sandbox.serve import start_server
    from ml_connector.sandbox.visma import VismaSandbox

    dataset = scaled_demo(bills, approved=approved)
    ramp = RampSandbox(RAMP_ID, RAMP_SECRET, dataset=dataset, rate_limit=10**9)
    visma = VismaSandbox(VISMA_ID, VISMA_SECRET, TENANT, COMPANY, dataset=dataset)
    servers = [
        await start_server(ramp.app, port=ramp_port),
        await start_server(visma.app, port=visma_port),
    ]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    for server in servers:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ramp_port", type=int)
    parser.add_argument("visma_port", type=int)
    parser.add_argument("bills", type=int)
    parser.add_argument("--pending", action="store_true", help="bills await approval")
    args = parser.parse_args()
    asyncio.run(_serve(args.bills, args.ramp_port, args.visma_port, not args.pending))


if __name__ == "__main__":
    main()
    print(json.dumps({"stopped": True}))
