"""Rate limiting (X-RateLimit-*, 429 + Retry-After) and every FaultPlan kind."""

from __future__ import annotations

import httpx
import pytest

from integration.sandbox_visma.visma_kit import (
    ManualClock,
    client_for,
    fetch_token,
    invoice_body,
    make_sandbox,
    send,
)
from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.visma import VismaSandbox


async def test_rate_limit_headers_and_429(clock: ManualClock) -> None:
    """Every answer carries the four headers; call limit+1 gets 429 with Retry-After."""
    sandbox = make_sandbox(clock, rate_limit_per_hour=3)
    async with client_for(sandbox) as http:
        token = await fetch_token(http)
        answers = [await send(http, "GET", "/v1/vat", token) for _ in range(3)]
        clock.advance(600)
        limited = await send(http, "GET", "/v1/vat", token)
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
    assert {a.headers["x-ratelimit-limit"] for a in answers} == {"3"}
    assert {a.headers["x-ratelimit-policy"] for a in answers} == {"4-fixed-window"}
    assert answers[0].headers["x-ratelimit-reset"] == "3600"
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3000"
    assert limited.headers["x-ratelimit-reset"] == "3000"
    assert limited.json()["statusCode"] == 429


async def test_rate_window_resets_after_an_hour(clock: ManualClock) -> None:
    """When the fixed window ends, the count starts again; errors after auth count too."""
    sandbox = make_sandbox(clock, rate_limit_per_hour=1)
    async with client_for(sandbox) as http:
        token = await fetch_token(http)
        assert (await send(http, "GET", "/v1/supplier/99999", token)).status_code == 404
        assert (await send(http, "GET", "/v1/vat", token)).status_code == 429
        clock.advance(3599.5)
        token = await fetch_token(http)
        assert (await send(http, "GET", "/v1/vat", token)).status_code == 429
        clock.advance(0.5)
        ok = await send(http, "GET", "/v1/vat", token)
    assert ok.status_code == 200
    assert ok.headers["x-ratelimit-remaining"] == "0"


async def test_no_limit_means_no_headers(client: httpx.AsyncClient, token: str) -> None:
    """With rate_limit_per_hour None the headers are absent."""
    response = await send(client, "GET", "/v1/vat", token)
    assert "x-ratelimit-limit" not in response.headers


async def test_limit_can_be_set_through_control_api(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """PUT /_sandbox/ratelimit switches limiting on for subsequent calls."""
    response = await client.put("/_sandbox/ratelimit", json={"limit_per_hour": 1})
    assert response.json()["limit_per_hour"] == 1
    assert (await send(client, "GET", "/v1/vat", token)).status_code == 200
    assert (await send(client, "GET", "/v1/vat", token)).status_code == 429


async def test_status_fault_answers_without_running_the_handler(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """A status fault answers at once with a generic server message; nothing is written."""
    sandbox.faults.add(FaultRule(kind="status", status=503, method="POST", retry_after=7))
    response = await send(client, "POST", "/v1/supplierInvoice", token, invoice_body())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json() == {"message": "An error has occurred."}  # no validation text
    assert sandbox.invoices() == []
    entry = sandbox.journal.entries("POST", "/v1/supplierInvoice")[-1]
    assert (entry.status, entry.fault) == (503, "status")


async def test_injected_429_burst_then_recovery(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """A counted 429 fault affects exactly count calls."""
    sandbox.faults.add(FaultRule(kind="status", status=429, count=2, retry_after=1))
    statuses = [(await send(client, "GET", "/v1/vat", token)).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]


async def test_commit_then_fail_leaves_the_invoice_stored(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """The write commits, the client sees 500: an ambiguous outcome to resolve by lookup."""
    sandbox.faults.add(
        FaultRule(kind="commit_then_fail", status=500, path_contains="supplierInvoice")
    )
    response = await send(client, "POST", "/v1/supplierInvoice", token, invoice_body())
    assert response.status_code == 500
    (stored,) = sandbox.invoices()
    assert stored["supplierReference"] == "INV-1001"
    found = await send(client, "GET", "/v1/supplierInvoice?supplier=50001", token)
    assert [i["referenceNumber"] for i in found.json()] == [stored["referenceNumber"]]


async def test_commit_then_hang_answers_504_after_committing(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """commit_then_hang writes, waits hang_s, then answers 504."""
    sandbox.faults.add(FaultRule(kind="commit_then_hang", hang_s=0.05, method="POST"))
    response = await send(client, "POST", "/v1/supplierInvoice", token, invoice_body())
    assert response.status_code == 504
    assert len(sandbox.invoices()) == 1


async def test_latency_fault_delays_but_answers(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """A latency fault runs the handler normally after the delay."""
    sandbox.faults.add(FaultRule(kind="latency", latency_s=0.02))
    response = await send(client, "GET", "/v1/supplier/50001", token)
    assert response.status_code == 200
    assert sandbox.journal.entries("GET")[-1].fault == "latency"


async def test_faults_through_control_api(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """POST /_sandbox/faults adds a rule, GET lists it, DELETE clears; bad rules are 400."""
    added = await client.post(
        "/_sandbox/faults", json={"kind": "status", "status": 502, "path_contains": "/v1/vat"}
    )
    assert added.status_code == 201
    assert (await send(client, "GET", "/v1/vat", token)).status_code == 502
    always = {"kind": "status", "status": 500, "count": None, "path_contains": "/v1/currency"}
    await client.post("/_sandbox/faults", json=always)
    listed = (await client.get("/_sandbox/faults")).json()
    assert always.items() <= listed[-1].items()
    assert (await client.delete("/_sandbox/faults")).json() == []
    assert (await send(client, "GET", "/v1/currency", token)).status_code == 200
    bad = await client.post("/_sandbox/faults", json={"kind": "explode"})
    assert bad.status_code == 400


@pytest.mark.parametrize("path", ["/_sandbox/state", "/_sandbox/requests"])
async def test_control_calls_are_not_journaled(
    client: httpx.AsyncClient, sandbox: VismaSandbox, path: str
) -> None:
    """The journal records vendor-API calls only."""
    await client.get(path)
    assert sandbox.journal.entries() == []


async def test_journal_over_http(client: httpx.AsyncClient, token: str) -> None:
    """GET /_sandbox/requests lists calls, filterable by method and path."""
    await send(client, "GET", "/v1/supplier", token)
    await send(client, "POST", "/v1/supplierInvoice", token, invoice_body())
    posts = (await client.get("/_sandbox/requests", params={"method": "POST"})).json()
    assert [(e["method"], e["path"], e["status"]) for e in posts] == [
        ("POST", "/connect/token", 200),
        ("POST", "/v1/supplierInvoice", 201),
    ]
    assert posts[1]["request_bytes"] > 0
