"""``serve``, ``worker`` and the webhook commands as separate processes, the way an operator runs
them: register against a Ramp sandbox, receive a signed approval, sync it, stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from integration.webhooks.webhook_kit import generated_dataset
from ml_connector.demo import NOTE_PREFIX, DemoSetup, operator_settings
from ml_connector.sandbox.serve import start_server

DEADLINE_S = 60.0  # generous: a slow machine makes this slower, never red


def _command() -> list[str]:
    script = Path(sys.executable).with_name("ml-connector")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ml_connector.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ML_CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        "ML_CONNECTOR_MASTER_KEY": Fernet.generate_key().decode(),
        "ML_CONNECTOR_LOG_JSON": "true",
        **extra,
    }


async def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run one CLI command to completion: (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        *_command(),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=DEADLINE_S)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _start(env: dict[str, str], log: Path, *args: str) -> asyncio.subprocess.Process:
    """Start a long-running command with its output going to ``log``."""
    with log.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            *_command(), *args, env=env, stdout=sink, stderr=sink
        )


async def _stop(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, then the exit code (killed, and the test failed, if it hangs)."""
    process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), timeout=DEADLINE_S)
    except TimeoutError:
        process.kill()
        raise


def _tail(log: Path | None) -> str:
    """The end of a child's log, to explain a timeout."""
    return log.read_text()[-4000:] if log is not None and log.exists() else ""


async def _until(check: Any, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{_tail(log)}")
        await asyncio.sleep(0.1)


def _connection_args(setup: DemoSetup, ramp_url: str, visma_url: str) -> Sequence[str]:
    return [
        "connection", "add", "acme",
        "--ramp-client-id", setup.ramp_id,
        "--visma-client-id", setup.visma_id,
        "--visma-tenant-id", setup.tenant,
        "--visma-company-id", setup.company,
        "--ramp-base-url", ramp_url,
        "--visma-base-url", visma_url,
        "--visma-token-url", f"{visma_url}/connect/token",
        "--default-vat", str(operator_settings(setup.dataset)["mapping"]["default_vat"]),
    ]  # fmt: skip


async def test_serve_registers_receives_syncs_and_stops_on_sigterm(tmp_path: Path) -> None:
    """serve + webhooks register (separate processes): an approval becomes one invoice, the
    inbox shows the event, no secret reaches the logs, and SIGTERM exits 0."""
    dataset = generated_dataset(1)
    [bill] = dataset.bills
    setup = DemoSetup(dataset)
    ramp_server = await start_server(setup.ramp.app)
    visma_server = await start_server(setup.visma.app)
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    env = _env(
        tmp_path,
        ML_CONNECTOR_RAMP_CLIENT_SECRET=setup.ramp_secret,
        ML_CONNECTOR_VISMA_CLIENT_SECRET=setup.visma_secret,
    )
    serve = None
    try:
        code, _, err = await _run(env, *_connection_args(setup, ramp_server.url, visma_server.url))
        assert code == 0, err
        log = tmp_path / "serve.log"
        serve = await _start(env, log, "serve", "--port", str(port), "--poll-interval-s", "0.2")
        async with httpx.AsyncClient(base_url=public) as http:

            async def healthy() -> bool:
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(healthy, "serve to answer /readyz", log)
            code, out, err = await _run(
                env, "webhooks", "register", "acme", "--public-url", public, "--json"
            )
            assert code == 0, err
            registration = json.loads(out)
            assert registration["verified"] is True
            assert registration["endpoint_url"] == f"{public}/webhooks/ramp/acme"

            setup.ramp.approve_bill(bill.id)

            async def invoiced() -> bool:
                notes = [str(i.get("note") or "") for i in setup.visma.invoices()]
                return any(f"{NOTE_PREFIX}{bill.id}" in note for note in notes)

            await _until(invoiced, "the approved bill to reach Visma", log)
            unknown = await http.post(
                "/webhooks/ramp/nobody", content=b"{}", headers={"content-type": "application/json"}
            )
            assert unknown.status_code == 404

        code, out, _ = await _run(env, "events", "list", "acme", "--type", "bills.*", "--json")
        assert code == 0
        [approved] = json.loads(out)
        assert (approved["type"], approved["object_id"], approved["status"]) == (
            "bills.approved",
            bill.id,
            "processed",
        )
        code, out, _ = await _run(env, "events", "show", "acme", approved["event_id"])
        assert json.loads(out)["payload"]["object"] == {"id": bill.id}
        code, out, _ = await _run(env, "webhooks", "rejections", "--json")
        assert json.loads(out) == []  # a stranger's request leaves no row of its own

        assert await _stop(serve) == 0
        serve = None
        code, out, _ = await _run(env, "webhooks", "rejections", "--counts", "--json")
        assert [(t["scope"], t["http_status"], t["count"]) for t in json.loads(out)] == [
            ("(unknown connection names)", 404, 1)
        ]
    finally:
        if serve is not None and serve.returncode is None:
            serve.kill()
            await serve.wait()
        await ramp_server.stop()
        await visma_server.stop()
    [subscription] = setup.ramp.hub.subscriptions.values()
    assert subscription.status == "active"
    assert len([i for i in setup.visma.invoices() if bill.id in str(i.get("note"))]) == 1
    logged = (tmp_path / "serve.log").read_text()
    for secret in (subscription.secret, setup.ramp_secret, setup.visma_secret):
        assert secret not in logged


async def test_worker_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    """``worker`` runs until SIGTERM, then exits 0."""
    env = _env(tmp_path)
    log = tmp_path / "worker.log"
    worker = await _start(env, log, "worker", "--poll-interval-s", "0.1")

    async def running() -> bool:
        return "worker running" in log.read_text()

    try:
        await _until(running, "the worker to start")
        assert await _stop(worker) == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
