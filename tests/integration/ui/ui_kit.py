"""Helpers for the dashboard and admin-API tests: the site, its secrets, logging in."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from starlette.applications import Starlette

from ml_connector.runtime import admin
from ml_connector.runtime.wiring import Runtime

PASSWORD = "correct horse battery"
SECRETS = {
    "acme": "acme-ramp-secret-Zq81xP",
    "globex": "globex-ramp-secret-Lw93kT",
}
VISMA_SECRETS = {
    "acme": "acme-visma-secret-Pq11aa",
    "globex": "globex-visma-secret-Rt55bb",
}


@dataclass
class Site:
    runtime: Runtime
    app: Starlette
    record_ids: dict[str, list[int]]
    tokens: dict[str, str]

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("10.0.0.7", 1234))
        return httpx.AsyncClient(transport=transport, base_url="https://ui.test")


async def add_connection(rt: Runtime, name: str) -> int:
    connection = await admin.add_connection(
        rt,
        name,
        credentials={
            "ramp_client_id": f"{name}-ramp-id",
            "ramp_client_secret": SECRETS[name],
            "visma_client_id": f"{name}-visma-id",
            "visma_client_secret": VISMA_SECRETS[name],
            "visma_tenant_id": "tenant",
            "visma_company_id": "company",
        },
        ramp_base_url="http://ramp.invalid",
        visma_base_url="http://visma.invalid",
        visma_token_url="http://visma.invalid/token",
    )
    return connection.id


async def login(client: httpx.AsyncClient, email: str) -> str:
    """Log in through the form; returns the session's CSRF token (read from a rendered form)."""
    response = await client.post("/ui/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.text
    page = await client.get("/ui")
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]
