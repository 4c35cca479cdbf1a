"""Helpers for the dashboard and admin-API tests: the sites, their secrets, logging in."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.demo import DemoSetup
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.wiring import Runtime
from ml_connector.runtime.worker import Worker, dispatcher
from ml_connector.sandbox.seed import Dataset, demo_dataset

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
        Actor.local_admin("tests"),
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


async def post_login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    """Submit the login form as a browser does: fetch it (its CSRF token), then post it."""
    form = await client.get("/ui/login")
    data = {"email": email, "password": password, "csrf": form_csrf(form.text)}
    return await client.post("/ui/login", data=data)


async def login(client: httpx.AsyncClient, email: str) -> str:
    """Log in through the form; returns the session's CSRF token (read from a rendered form)."""
    response = await post_login(client, email)
    assert response.status_code == 303, response.text
    page = await client.get("/ui")
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def small_demo(bills: int = 30) -> Dataset:
    """The demo company with only its first ``bills`` bills (the deliberate failures included)."""
    full = demo_dataset()
    return dataclasses.replace(full, bills=full.bills[:bills])


@dataclass
class DemoSite:
    """The demo company in both sandboxes, synced once, behind the admin routes."""

    setup: DemoSetup
    runtime: Runtime
    app: Starlette
    tokens: dict[str, str]
    name: str = "nordlys"

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("10.0.0.8", 1234))
        return httpx.AsyncClient(transport=transport, base_url="https://ui.test")

    def bearer(self, email: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[email]}"}

    def open_closed_periods(self) -> None:
        """The finance fix for the closed-period group: reopen the periods in Visma."""
        for period in self.setup.dataset.periods:
            if period.closed_in_supplier_ledger:
                self.setup.visma.set_period_closed(period.period_id, False)

    def invoices_for(self, ramp_id: str) -> int:
        """How many Visma invoices carry this Ramp bill's reference."""
        return sum(ramp_id in str(i.get("note") or "") for i in self.setup.visma.invoices())


async def work_queue(rt: Runtime, name: str) -> None:
    """Work the connection's due records until none is left, as ``serve``'s worker does."""
    connection = await rt.store.get_connection(name)
    ctx = await rt.context(connection)
    worker = Worker(
        rt.store, {connection.id: ctx}, owner="ui-test", handler=dispatcher(), policy=RetryPolicy()
    )
    await worker.run_until_idle(connection_id=connection.id)


def form_csrf(html: str) -> str:
    """The CSRF token in a rendered form."""
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
