"""Write-back under ``serve`` (a real process): bills are marked synced in Ramp once the burst that
brought them ends, with no more work arriving and no reconciliation, and a ``serve`` killed with
SIGKILL between the invoices and their write-backs loses none of them.

Waits are generous deadlines on state, never timers: a slow machine makes these slower, not red.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from integration.webhooks.process_kit import (
    connection_args,
    env_for,
    free_port,
    run_cli,
    start_cli,
    stop_cli,
    until,
)
from integration.webhooks.webhook_kit import generated_dataset
from ml_connector.demo import NOTE_PREFIX, DemoSetup
from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.serve import RunningServer, start_server

SYNCS = "/developer/v1/accounting/syncs"
# No reconciliation pass during a test: only the write-back outbox can mark the bills.
NO_RECONCILE = ("--reconcile-interval-s", "86400")


@dataclass
class Stage:
    """The sandboxes as servers, the connector's environment and its public URL."""

    setup: DemoSetup
    env: dict[str, str]
    public: str
    port: int
    tmp_path: Path

    @property
    def bills(self) -> list[str]:
        return [bill.id for bill in self.setup.dataset.bills]

    async def serve(self, log: str) -> tuple[asyncio.subprocess.Process, Path]:
        """Start ``serve`` and wait until it is ready; returns the process and its log."""
        path = self.tmp_path / log
        process = await start_cli(
            self.env, path, "serve", "--port", str(self.port), "--poll-interval-s", "0.2",
            *NO_RECONCILE,
        )  # fmt: skip

        async def ready() -> bool:
            try:
                async with httpx.AsyncClient(base_url=self.public) as http:
                    return (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await until(ready, "serve to answer /readyz", path)
        return process, path

    def invoiced(self) -> set[str]:
        notes = [str(i.get("note") or "") for i in self.setup.visma.invoices()]
        return {n.split(NOTE_PREFIX, 1)[1].split()[0] for n in notes if NOTE_PREFIX in n}

    def synced(self) -> set[str]:
        bills = self.setup.ramp.state.bills
        return {b for b in self.bills if bills[b].sync_status.value == "BILL_SYNCED"}

    async def write_back(self, bill_id: str) -> dict[str, object]:
        """What ``records show`` says about the bill's write-back."""
        code, out, err = await run_cli(self.env, "records", "show", "acme", bill_id)
        assert code == 0, err
        shown: dict[str, object] = json.loads(out)["ramp_write_back"]
        return shown


@asynccontextmanager
async def staged(tmp_path: Path, bills: int) -> AsyncIterator[Stage]:
    """``bills`` bills awaiting approval in Ramp, both sandboxes served, the connection added."""
    setup = DemoSetup(generated_dataset(bills))
    servers: list[RunningServer] = [
        await start_server(setup.ramp.app),
        await start_server(setup.visma.app),
    ]
    port = free_port()
    env = env_for(
        tmp_path,
        ML_CONNECTOR_RAMP_CLIENT_SECRET=setup.ramp_secret,
        ML_CONNECTOR_VISMA_CLIENT_SECRET=setup.visma_secret,
    )
    try:
        code, _, err = await run_cli(env, *connection_args(setup, servers[0].url, servers[1].url))
        assert code == 0, err
        yield Stage(setup, env, f"http://127.0.0.1:{port}", port, tmp_path)
    finally:
        for server in servers:
            await server.stop()


async def _register(stage: Stage) -> None:
    code, out, err = await run_cli(
        stage.env, "webhooks", "register", "acme", "--public-url", stage.public, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["verified"] is True


@pytest.mark.slow
async def test_serve_marks_the_last_bills_of_a_burst_synced(tmp_path: Path) -> None:
    """A burst of approvals under serve: every invoiced bill ends marked synced in Ramp, exactly
    once, although no more work arrives after the burst and no reconciliation runs."""
    async with staged(tmp_path, 24) as stage:
        serve, log = await stage.serve("serve.log")
        try:
            await _register(stage)
            for bill_id in stage.bills:
                stage.setup.ramp.approve_bill(bill_id)

            async def all_invoiced() -> bool:
                return stage.invoiced() == set(stage.bills)

            async def all_synced() -> bool:
                return stage.synced() == set(stage.bills)

            await until(all_invoiced, "every approved bill to reach Visma", log)
            await until(all_synced, "every invoiced bill to be marked synced in Ramp", log)
            syncs = stage.setup.ramp.state.syncs.values()
            marked = [b for sync in syncs for b in sync.successful_ids]
            assert sorted(marked) == sorted(stage.bills)  # each bill marked by one sync
            last = stage.bills[-1]
            told = await stage.write_back(last)
            assert told["status"] == "told"
            assert told["sync_id"] in {s.sync_id for s in syncs if last in s.successful_ids}
            assert stage.setup.duplicates() == 0
            assert await stop_cli(serve) == 0
        finally:
            if serve.returncode is None:
                serve.kill()
                await serve.wait()


@pytest.mark.slow
async def test_serve_killed_between_invoices_and_write_backs_loses_none(tmp_path: Path) -> None:
    """Ramp's sync endpoint is down while serve writes the invoices; serve is killed (SIGKILL)
    with every write-back still waiting. After a restart, with Ramp back and its bill listing
    failing (so reconciliation cannot help), every bill is marked synced, once."""
    async with staged(tmp_path, 6) as stage:
        ramp = stage.setup.ramp
        ramp.faults.add(
            FaultRule(kind="status", status=503, method="POST", path_contains=SYNCS, count=None)
        )
        first, log = await stage.serve("serve-1.log")
        second = None
        try:
            await _register(stage)
            for bill_id in stage.bills:
                ramp.approve_bill(bill_id)

            async def all_succeeded() -> bool:
                code, out, _ = await run_cli(stage.env, "records", "list", "acme", "--json")
                rows = json.loads(out) if code == 0 else []
                return sorted(r["ramp_id"] for r in rows if r["status"] == "succeeded") == sorted(
                    stage.bills
                )

            await until(all_succeeded, "every bill's invoice to be written", log)
            assert stage.invoiced() == set(stage.bills)
            assert stage.synced() == set()
            assert (await stage.write_back(stage.bills[0]))["status"] == "waiting"
            first.kill()
            await first.wait()

            ramp.faults.clear()
            ramp.faults.add(
                FaultRule(
                    kind="status", status=500, method="GET", path_contains="/developer/v1/bills",
                    count=None,
                )
            )  # fmt: skip
            second, log = await stage.serve("serve-2.log")

            async def all_synced() -> bool:
                return stage.synced() == set(stage.bills)

            await until(all_synced, "the restarted serve to mark every bill", log, deadline_s=120)
            marked = [b for sync in ramp.state.syncs.values() for b in sync.successful_ids]
            assert sorted(marked) == sorted(stage.bills)
            assert stage.setup.duplicates() == 0
            told = await stage.write_back(stage.bills[0])
            assert told["status"] == "told"
            assert await stop_cli(second) == 0
        finally:
            for process in (first, second):
                if process is not None and process.returncode is None:
                    process.kill()
                    await process.wait()
