"""Alerts against a real local receiver (uvicorn on loopback) and a local SMTP server.

Each group (connection + cause) fires once, repeats inside the grouping window are counted and
reported in one message once the window has passed, and recovery is sent once. Every webhook
carries a valid HMAC-SHA256 signature over its timestamp and body.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from bench._ports import free_port, listening_ports
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integration.observability.obs_kit import NAME, World, open_world
from ml_connector.app import alerts as alert_admin
from ml_connector.app.principal import Actor
from ml_connector.runtime import alerts
from ml_connector.runtime.alert_delivery import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from ml_connector.runtime.sync import sync_once
from ml_connector.sandbox.serve import RunningServer, start_server
from ml_connector.store import ConnectionStatus, SyncStatus

SECRET = "alert-signing-secret-for-tests"
ADMIN = Actor.local_admin("tests")


@dataclass
class Receiver:
    """A webhook receiver that checks signatures; ``fail_next`` answers 500 that many times."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    fail_next: int = 0
    bodies: list[bytes] = field(default_factory=list)

    def kinds(self) -> list[tuple[str, str]]:
        return [(m["kind"], m["cause"]) for m in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The receiver, served by uvicorn on a free loopback port."""
    state = Receiver()

    async def hook(request: Request) -> Response:
        body = await request.body()
        if state.fail_next:
            state.fail_next -= 1
            return Response(status_code=500)
        valid = verify_signature(
            SECRET,
            timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
            body=body,
            signature=request.headers.get(SIGNATURE_HEADER, ""),
            now=time.time(),
        )
        if not valid:
            state.bad_signatures += 1
            return Response(status_code=401)
        state.bodies.append(body)
        state.received.append(await request.json())
        return Response(status_code=204)

    server: RunningServer = await start_server(
        Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    )
    state.url = f"{server.url}/hook"
    yield state
    await server.stop()


@pytest.fixture
async def alert_world(tmp_path: Path, receiver: Receiver) -> AsyncIterator[World]:
    """The demo world with a one-hour grouping window and the receiver as alert webhook."""
    world = await open_world(tmp_path, alert_group_window_s=3600.0)
    await alert_admin.configure(
        ADMIN, world.runtime, NAME, webhook_url=receiver.url, webhook_secret=SECRET
    )
    yield world
    await world.runtime.close()


async def _pass(world: World, now: datetime) -> None:
    """One alert pass at ``now``: evaluate the groups and send what is due."""
    await alerts.evaluate(world.runtime, now=now, force=True)
    await alerts.deliver_due(world.runtime, now=now)


async def _attention_records(world: World, code: str) -> list[Any]:
    connection = await world.runtime.store.get_connection(NAME)
    records = await world.runtime.store.list_records(
        connection.id, status=SyncStatus.NEEDS_ATTENTION, limit=100
    )
    return [r for r in records if r.error_code == code]


async def test_each_group_fires_once_repeats_are_grouped_and_recovery_fires_once(
    alert_world: World, receiver: Receiver
) -> None:
    """Two error codes fire two alerts; failing again inside the window sends nothing; after
    the window one repeat summarises them; excluding the records resolves each group once."""
    world, store = alert_world, alert_world.runtime.store
    await sync_once(world.runtime, NAME)
    t0 = datetime.now(UTC)
    await _pass(world, t0)
    firing = {("firing", "attention:account_unknown"), ("firing", "attention:period_closed")}
    assert set(receiver.kinds()) == firing
    assert len(receiver.received) == 2
    await _pass(world, t0 + timedelta(seconds=1))
    assert len(receiver.received) == 2

    connection = await store.get_connection(NAME)
    failing = await _attention_records(world, "account_unknown")
    for record in failing:  # replayed: waiting again is not recovery
        await store.upsert_record(
            connection.id, "bill", record.object_id, reason="replay", replay=True
        )
    await _pass(world, t0 + timedelta(seconds=2))
    assert len(receiver.received) == 2
    await sync_once(world.runtime, NAME)  # they fail again: counted, not sent
    await _pass(world, t0 + timedelta(seconds=3))
    assert len(receiver.received) == 2
    (group,) = [
        g for g in await store.list_alert_groups(connection.id) if g.cause.endswith("unknown")
    ]
    assert group.unsent == len(failing)

    await _pass(world, t0 + timedelta(seconds=3601))
    assert receiver.kinds()[2:] == [("repeat", "attention:account_unknown")]
    assert receiver.received[2]["since_last_message"] == len(failing)
    assert receiver.received[2]["occurrences"] == 2 * len(failing)

    for code in ("account_unknown", "period_closed"):
        for record in await _attention_records(world, code):
            await store.exclude(record.id, reason="not for Visma")
    await _pass(world, t0 + timedelta(seconds=3602))
    await _pass(world, t0 + timedelta(seconds=3603))
    resolved = {("resolved", "attention:account_unknown"), ("resolved", "attention:period_closed")}
    assert set(receiver.kinds()[3:]) == resolved
    assert len(receiver.received) == 5
    assert receiver.bad_signatures == 0
    text = b"\n".join(receiver.bodies).decode()
    for secret in [*world.secrets(), SECRET]:
        assert secret not in text
    deliveries = await store.list_alert_deliveries(connection.id)
    assert {d.state for d in deliveries} == {"sent"}


async def test_health_alert_fires_when_paused_and_recovers_when_active(
    alert_world: World, receiver: Receiver
) -> None:
    """A paused connection fires one health alert however long it stays paused; resuming it
    sends one recovery."""
    world, store = alert_world, alert_world.runtime.store
    connection = await store.get_connection(NAME)
    t0 = datetime.now(UTC)
    await store.set_connection_status(connection.id, ConnectionStatus.PAUSED, "401 from Visma")
    for second in range(3):
        await _pass(world, t0 + timedelta(seconds=second))
    assert receiver.kinds() == [("firing", "health")]
    assert "401 from Visma" in receiver.received[0]["summary"]
    await store.set_connection_status(connection.id, ConnectionStatus.ACTIVE, "")
    for second in range(3, 6):
        await _pass(world, t0 + timedelta(seconds=second))
    assert receiver.kinds() == [("firing", "health"), ("resolved", "health")]


async def test_a_failed_delivery_is_retried_with_backoff(
    alert_world: World, receiver: Receiver
) -> None:
    """A 500 from the receiver leaves the message pending until its backoff has passed; then
    it is delivered once."""
    world, store = alert_world, alert_world.runtime.store
    connection = await store.get_connection(NAME)
    receiver.fail_next = 1
    t0 = datetime.now(UTC)
    await store.set_connection_status(connection.id, ConnectionStatus.PAUSED, "paused by test")
    await _pass(world, t0)
    assert receiver.received == []
    (delivery,) = await store.list_alert_deliveries(connection.id)
    assert delivery.state == "pending"
    assert delivery.last_error == "webhook answered HTTP 500"
    await _pass(world, t0 + timedelta(seconds=1))
    assert receiver.received == []
    await _pass(world, t0 + timedelta(seconds=world.settings.alert_retry_base_s + 1))
    assert receiver.kinds() == [("firing", "health")]
    (delivery,) = await store.list_alert_deliveries(connection.id)
    assert delivery.state == "sent"
    assert delivery.attempts == 2


class _Mailbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Mailbox]]:
    """A local SMTP server (aiosmtpd, in its own thread) and its mailbox."""
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    assert port in listening_ports(os.getpid()), "another process took the SMTP port"
    yield port, mailbox
    controller.stop()


async def test_alerts_are_mailed_when_smtp_is_configured(
    tmp_path: Path, smtp_server: tuple[int, _Mailbox]
) -> None:
    """With an SMTP server in the settings and an address set, the test alert and a health
    alert arrive as mail that names the connection and carries no secret."""
    port, mailbox = smtp_server
    world = await open_world(tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    try:
        await alert_admin.configure(ADMIN, world.runtime, NAME, email_to="ops@example.test")
        results = await alert_admin.send_test(ADMIN, world.runtime, NAME, now=datetime.now(UTC))
        assert [r.as_dict() for r in results] == [
            {"channel": "email", "ok": True, "detail": "delivered"}
        ]
        store = world.runtime.store
        connection = await store.get_connection(NAME)
        await store.set_connection_status(connection.id, ConnectionStatus.PAUSED, "rejected")
        await _pass(world, datetime.now(UTC))
        for _ in range(100):  # the SMTP thread hands the message over asynchronously
            if len(mailbox.messages) == 2:
                break
            await asyncio.sleep(0.05)
        subjects = [message_from_bytes(m)["Subject"] for m in mailbox.messages]
        assert subjects == [
            f"[ml-connector] TEST: {NAME} (test)",
            f"[ml-connector] FIRING: {NAME} (health)",
        ]
        assert message_from_bytes(mailbox.messages[1])["To"] == "ops@example.test"
        text = b"\n".join(mailbox.messages).decode()
        for secret in world.secrets():
            assert secret not in text
    finally:
        await world.runtime.close()
