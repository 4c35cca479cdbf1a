"""The receiver app served over real HTTP (uvicorn on a free port) for the webhook attacks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.runtime.webhook_secrets import add_webhook_secret
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.serve import RunningServer, start_server
from ml_connector.settings import Settings
from ml_connector.store import Connection, EventSource
from ml_connector.web.app import create_app
from ml_connector.web.signatures import ramp_signature, visma_signature
from ml_connector.web.webhooks import ReceiverConfig

RAMP_SECRET = "whsec_sec_ramp_8c1f0a7e55"
VISMA_SECRET = "vwd_sec_visma_1b9e4d2c70"


def settings_for(tmp_path: Path, **extra: Any) -> Settings:
    """A fresh SQLite store and an in-memory master key, plus any ``Settings`` fields."""
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=tmp_path / "unused.key",
        **extra,
    )


def ramp_body(event_id: str | None, bill: str, *, created_at: datetime | None = None) -> bytes:
    """A Ramp event as Ramp sends it; ``created_at`` None leaves the signed time out."""
    payload: dict[str, Any] = {"type": "bills.approved", "object": {"id": bill}}
    if event_id is not None:
        payload["id"] = event_id
    if created_at is not None:
        payload["created_at"] = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(payload, separators=(",", ":")).encode()


@dataclass
class Served:
    """The runtime, its connection ``acme``, and an HTTP client to the app over TCP."""

    runtime: Runtime
    acme: Connection
    http: httpx.AsyncClient
    server: RunningServer
    stopped: bool = False

    async def stop(self) -> None:
        """Stop the server the way SIGTERM does: the app's lifespan ends (and flushes)."""
        if not self.stopped:
            self.stopped = True
            await self.server.stop()

    async def post_ramp(
        self, body: bytes, *, name: str = "acme", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        signed = {
            "content-type": "application/json",
            "X-Ramp-Signature": ramp_signature(RAMP_SECRET, body),
            **(headers or {}),
        }
        return await self.http.post(f"/webhooks/ramp/{name}", content=body, headers=signed)

    async def post_visma(self, body: bytes, *, name: str = "acme") -> httpx.Response:
        signed = {
            "content-type": "application/json",
            "x-vwd-signature-v1": visma_signature(VISMA_SECRET, body),
        }
        return await self.http.post(f"/webhooks/visma/{name}", content=body, headers=signed)

    async def stored(self) -> tuple[int, int, int]:
        """(inbox events, sync records, audit entries) of ``acme``: what an attack could add."""
        store, cid = self.runtime.store, self.acme.id
        return (
            len(await store.list_events(cid, limit=10_000)),
            len(await store.list_records(cid, limit=10_000)),
            len(await store.list_audit(cid)),
        )


@asynccontextmanager
async def serving(
    tmp_path: Path, *, config: ReceiverConfig | None = None, **settings: Any
) -> AsyncIterator[Served]:
    """The app (receivers, /metrics, …) under uvicorn with connection ``acme``; the app's
    lifespan runs, and stops (flushing what it counted) when the block ends."""
    runtime = await Runtime.open(settings_for(tmp_path, **settings))
    acme = await admin.add_connection(
        Actor.local_admin("tests"),
        runtime,
        "acme",
        credentials={
            "ramp_client_id": "ramp-id",
            "ramp_client_secret": "ramp-client-secret-unused",
            "visma_client_id": "visma-id",
            "visma_client_secret": "visma-client-secret-unused",
            "visma_tenant_id": "tenant",
            "visma_company_id": "1",
        },
        ramp_base_url="http://ramp.invalid",
        visma_base_url="http://visma.invalid",
        visma_token_url="http://visma.invalid/connect/token",
    )
    await add_webhook_secret(runtime, acme, EventSource.RAMP, RAMP_SECRET, subscription_id="s1")
    await add_webhook_secret(runtime, acme, EventSource.VISMA, VISMA_SECRET)
    server = await start_server(create_app(runtime, config=config))
    served: Served | None = None
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as http:
            served = Served(runtime, acme, http, server)
            yield served
    finally:
        if served is None:
            await server.stop()
        else:
            await served.stop()
        await runtime.close()
