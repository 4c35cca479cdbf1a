"""Issue 14, item 5: strangers write nothing to the database and cannot grow /metrics, and
/metrics can be locked (a bearer token) or moved (its own address). Attacks go over real HTTP
to the running app; the last test runs ``ml-connector serve`` as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import httpx
from bench._ports import await_listening, free_port
from cryptography.fernet import Fernet

from ml_connector.runtime.rejections import RejectionPolicy
from ml_connector.store import UNKNOWN_SCOPE
from ml_connector.web.webhooks import ReceiverConfig
from security.webhook_attack_kit import ramp_body, serving

METRICS_TOKEN = "metrics-token-5d1e0c77b2a94f"
DEADLINE_S = 60.0


async def test_requests_to_unknown_names_leave_no_row(tmp_path: Path) -> None:
    """Two hundred requests to made-up connection names (signed or not, any content type):
    each 404 or 415, not one row in the rejection log or the inbox; they add up in one counted
    tally per source and status, and /metrics names none of them."""
    async with serving(tmp_path) as app:
        statuses = []
        for n in range(200):
            name = f"stranger-{uuid.uuid4().hex[:12]}"
            source = "ramp" if n % 2 else "visma"
            kind = "text/plain" if n % 10 == 0 else "application/json"
            response = await app.http.post(
                f"/webhooks/{source}/{name}",
                content=ramp_body(f"evt_{n}", "bill_1"),
                headers={"content-type": kind, "X-Ramp-Signature": "00" * 32},
            )
            statuses.append(response.status_code)
        assert set(statuses) == {404, 415}
        assert await app.runtime.store.list_rejections() == []
        assert await app.stored() == (0, 0, 0)
        metrics = (await app.http.get("/metrics")).text
        assert "stranger-" not in metrics
        await app.stop()  # the lifespan writes what was counted

        tallies = await app.runtime.store.list_rejection_tallies()
        assert {t.scope for t in tallies} == {UNKNOWN_SCOPE}
        assert sum(t.count for t in tallies) == 200
        assert {(t.source, t.http_status) for t in tallies} == {
            ("ramp", 404),
            ("visma", 404),
            ("visma", 415),
        }


async def test_a_flood_of_forged_requests_to_a_real_name_is_counted(tmp_path: Path) -> None:
    """Forged requests to a configured connection: the first few are logged one row each
    (the policy's rate), the rest counted under the connection's name; /metrics shows them
    all under that one configured label."""
    policy = RejectionPolicy(rows_per_minute=5)
    async with serving(tmp_path, config=ReceiverConfig(rejections=policy)) as app:
        body = ramp_body("evt_forged", "bill_1")
        headers = {"content-type": "application/json", "X-Ramp-Signature": "ab" * 32}
        for _ in range(40):
            response = await app.http.post("/webhooks/ramp/acme", content=body, headers=headers)
            assert response.status_code == 401
        assert len(await app.runtime.store.list_rejections("acme")) == 5
        assert await app.stored() == (0, 0, 0)
        await app.stop()
        [tally] = await app.runtime.store.list_rejection_tallies()
        assert (tally.scope, tally.http_status, tally.count) == ("acme", 401, 35)


async def test_metrics_need_the_token_when_one_is_set(tmp_path: Path) -> None:
    """With ML_CONNECTOR_METRICS_TOKEN set, /metrics refuses a missing or wrong bearer token."""
    async with serving(tmp_path, metrics_token=METRICS_TOKEN) as app:
        assert (await app.http.get("/metrics")).status_code == 401
        wrong = {"authorization": "Bearer metrics-token-5d1e0c77b2a94e"}
        assert (await app.http.get("/metrics", headers=wrong)).status_code == 401
        basic = {"authorization": f"Basic {METRICS_TOKEN}"}
        assert (await app.http.get("/metrics", headers=basic)).status_code == 401
        right = {"authorization": f"Bearer {METRICS_TOKEN}"}
        granted = await app.http.get("/metrics", headers=right)
        assert granted.status_code == 200
        assert "ml_connector_records" in granted.text


async def _get(url: str, **headers: str) -> int | None:
    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            return (await http.get(url, headers=headers)).status_code
    except httpx.TransportError:
        return None


async def test_serve_answers_metrics_only_on_its_own_port(tmp_path: Path) -> None:
    """``serve`` with ML_CONNECTOR_METRICS_PORT: /metrics is gone from the receivers' port and
    answers (with its token) on the other; SIGTERM stops both and exits 0."""
    main_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "ML_CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        "ML_CONNECTOR_MASTER_KEY": Fernet.generate_key().decode(),
        "ML_CONNECTOR_METRICS_PORT": str(metrics_port),
        "ML_CONNECTOR_METRICS_TOKEN": METRICS_TOKEN,
    }
    script = Path(sys.executable).with_name("ml-connector")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from ml_connector.cli import main; main()"]
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        serve = await asyncio.create_subprocess_exec(
            *command, "serve", "--port", str(main_port), "--no-worker",
            env=env, stdout=sink, stderr=sink,
        )  # fmt: skip
    main, side = f"http://127.0.0.1:{main_port}", f"http://127.0.0.1:{metrics_port}"
    try:
        # Both ports are this serve's (the kernel says so) before anything is asked of them.
        await await_listening(
            serve.pid, [main_port, metrics_port], lambda: serve.returncode is None, what="serve"
        )
        deadline = time.monotonic() + DEADLINE_S
        while await _get(f"{main}/readyz") != 200 or await _get(f"{side}/metrics") is None:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            await asyncio.sleep(0.1)
        assert await _get(f"{main}/metrics") == 404
        assert await _get(f"{main}/metrics", authorization=f"Bearer {METRICS_TOKEN}") == 404
        assert await _get(f"{side}/metrics") == 401
        assert await _get(f"{side}/metrics", authorization=f"Bearer {METRICS_TOKEN}") == 200
        assert await _get(f"{side}/readyz") == 404  # the metrics address serves nothing else
        serve.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(serve.wait(), timeout=DEADLINE_S) == 0
    finally:
        if serve.returncode is None:
            serve.kill()
            await serve.wait()
