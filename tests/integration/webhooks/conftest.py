"""Fixtures for the webhook tests: a runtime with two connections and the receiver app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from integration.webhooks.webhook_kit import (
    OTHER_SECRET,
    RAMP_SECRET,
    TTL_S,
    VISMA_SECRET,
    FakeClock,
    Receiving,
    add_connection,
    store_settings,
)
from ml_connector.runtime.webhook_secrets import add_webhook_secret
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import EventSource
from ml_connector.web.app import create_app
from ml_connector.web.webhooks import ReceiverConfig


@pytest.fixture
async def rx(tmp_path: Path) -> AsyncIterator[Receiving]:
    """Connections ``acme`` (Ramp and Visma secrets) and ``other`` (its own Ramp secret)."""
    runtime = await Runtime.open(store_settings(tmp_path))
    acme = await add_connection(runtime, "acme")
    other = await add_connection(runtime, "other")
    await add_webhook_secret(runtime, acme, EventSource.RAMP, RAMP_SECRET, subscription_id="sub_a")
    await add_webhook_secret(runtime, acme, EventSource.VISMA, VISMA_SECRET)
    await add_webhook_secret(runtime, other, EventSource.RAMP, OTHER_SECRET, subscription_id="o")
    clock = FakeClock()
    wakes: list[int] = []
    app = create_app(
        runtime,
        on_work=lambda: wakes.append(1),
        config=ReceiverConfig(secret_ttl_s=TTL_S, clock=clock),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://connector.test") as client:
        connections = {"acme": acme, "other": other}
        yield Receiving(runtime, connections, client, clock, wakes, app.state.receiver)
    await runtime.close()
