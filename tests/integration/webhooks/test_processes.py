"""``serve``, ``worker`` and the webhook commands as separate processes, the way an operator runs
them: register against a Ramp sandbox, receive a signed approval, sync it, stop on SIGTERM."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

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
from ml_connector.sandbox.serve import start_server


async def test_serve_registers_receives_syncs_and_stops_on_sigterm(tmp_path: Path) -> None:
    """serve + webhooks register (separate processes): an approval becomes one invoice, the
    inbox shows the event, no secret reaches the logs, and SIGTERM exits 0."""
    dataset = generated_dataset(1)
    [bill] = dataset.bills
    setup = DemoSetup(dataset)
    ramp_server = await start_server(setup.ramp.app)
    visma_server = await start_server(setup.visma.app)
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = env_for(
        tmp_path,
        ML_CONNECTOR_RAMP_CLIENT_SECRET=setup.ramp_secret,
        ML_CONNECTOR_VISMA_CLIENT_SECRET=setup.visma_secret,
    )
    serve = None
    try:
        code, _, err = await run_cli(
            env, *connection_args(setup, ramp_server.url, visma_server.url)
        )
        assert code == 0, err
        log = tmp_path / "serve.log"
        serve = await start_cli(env, log, "serve", "--port", str(port), "--poll-interval-s", "0.2")
        async with httpx.AsyncClient(base_url=public) as http:

            async def healthy() -> bool:
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(healthy, "serve to answer /readyz", log)
            code, out, err = await run_cli(
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

            await until(invoiced, "the approved bill to reach Visma", log)
            unknown = await http.post(
                "/webhooks/ramp/nobody", content=b"{}", headers={"content-type": "application/json"}
            )
            assert unknown.status_code == 404

        code, out, _ = await run_cli(env, "events", "list", "acme", "--type", "bills.*", "--json")
        assert code == 0
        [approved] = json.loads(out)
        assert (approved["type"], approved["object_id"], approved["status"]) == (
            "bills.approved",
            bill.id,
            "processed",
        )
        code, out, _ = await run_cli(env, "events", "show", "acme", approved["event_id"])
        assert json.loads(out)["payload"]["object"] == {"id": bill.id}
        code, out, _ = await run_cli(env, "webhooks", "rejections", "--json")
        assert json.loads(out) == []  # a stranger's request leaves no row of its own

        assert await stop_cli(serve) == 0
        serve = None
        code, out, _ = await run_cli(env, "webhooks", "rejections", "--counts", "--json")
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
    env = env_for(tmp_path)
    log = tmp_path / "worker.log"
    worker = await start_cli(env, log, "worker", "--poll-interval-s", "0.1")

    async def running() -> bool:
        return "worker running" in log.read_text()

    try:
        await until(running, "the worker to start")
        assert await stop_cli(worker) == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
