"""Rate limiting, injected faults and the request journal of the Ramp sandbox."""

from __future__ import annotations

import httpx

from integration.sandbox_ramp.ramp_kit import (
    ENTITY_ID,
    VENDOR_A,
    ManualClock,
    bearer,
    client_for,
    error_code,
    fetch_token,
    make_sandbox,
)
from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.ramp import RampSandbox

BILLS = "/developer/v1/bills"


def _bill_body(sandbox: RampSandbox, number: str) -> dict[str, object]:
    return {
        "vendor_id": VENDOR_A,
        "vendor_contact_id": sandbox.state.vendors[VENDOR_A].contact_ids[0],
        "entity_id": ENTITY_ID,
        "invoice_number": number,
        "invoice_currency": "NOK",
        "issued_at": "2026-03-10",
        "due_at": "2026-04-09",
        "payment_method": "ACH",
        "line_items": [{"amount": "10.00"}],
    }


def _numbers(sandbox: RampSandbox) -> set[str]:
    return {b.invoice_number for b in sandbox.state.bills.values()}


async def test_rate_limit_window(clock: ManualClock) -> None:
    """Beyond rate_limit calls per window: 429 error_v2 with Retry-After; later it recovers."""
    sandbox = make_sandbox(clock, rate_limit=3, rate_window_s=10.0)
    async with client_for(sandbox) as client:
        token = await fetch_token(client)  # the token call counts too
        clock.advance(1)
        assert (await client.get(BILLS, headers=bearer(token))).status_code == 200
        assert (await client.get(BILLS, headers=bearer(token))).status_code == 200
        limited = await client.get(BILLS, headers=bearer(token))
        assert limited.status_code == 429
        assert error_code(limited) == "RATE_LIMIT_EXCEEDED"
        assert limited.headers["retry-after"] == "10"  # the refused call counts too
        clock.advance(10)
        assert (await client.get(BILLS, headers=bearer(token))).status_code == 200


async def test_calls_while_limited_extend_the_window(clock: ManualClock) -> None:
    """Refused calls count too, so hammering keeps the caller limited."""
    sandbox = make_sandbox(clock, rate_limit=2, rate_window_s=10.0)
    async with client_for(sandbox) as client:
        token = await fetch_token(client)
        await client.get(BILLS, headers=bearer(token))
        for _ in range(4):  # by t=12 the two accepted calls are out of the window
            clock.advance(3)
            response = await client.get(BILLS, headers=bearer(token))
            assert response.status_code == 429
        clock.advance(10)
        assert (await client.get(BILLS, headers=bearer(token))).status_code == 200


async def test_control_api_is_not_rate_limited(clock: ManualClock) -> None:
    """/_sandbox calls neither count nor get refused."""
    sandbox = make_sandbox(clock, rate_limit=2)
    async with client_for(sandbox) as client:
        for _ in range(5):
            assert (await client.get("/_sandbox/state?objects=false")).status_code == 200
        await fetch_token(client)


async def test_status_fault_answers_without_running_the_handler(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """A status fault answers at once with Ramp's envelope; the bill is not created."""
    sandbox.faults.add(FaultRule(kind="status", status=503, method="POST", path_contains="/bills"))
    failed = await client.post(BILLS, json=_bill_body(sandbox, "F-1"), headers=bearer(token))
    assert failed.status_code == 503
    assert error_code(failed) == "INTERNAL_SERVER_ERROR"
    assert "F-1" not in _numbers(sandbox)
    retried = await client.post(BILLS, json=_bill_body(sandbox, "F-1"), headers=bearer(token))
    assert retried.status_code == 201  # count=1 is used up


async def test_injected_429_carries_retry_after(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """A 429 fault with retry_after answers that header and the rate-limit error code."""
    sandbox.faults.add(FaultRule(status=429, retry_after=7, count=2))
    first = await client.get(BILLS, headers=bearer(token))
    second = await client.get(BILLS, headers=bearer(token))
    third = await client.get(BILLS, headers=bearer(token))
    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["retry-after"] == "7"
    assert error_code(first) == "RATE_LIMIT_EXCEEDED"


async def test_commit_then_fail_leaves_the_write_committed(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """commit_then_fail answers 500, yet the bill exists: an ambiguous outcome."""
    sandbox.faults.add(FaultRule(kind="commit_then_fail", status=500, method="POST"))
    response = await client.post(BILLS, json=_bill_body(sandbox, "AMB-1"), headers=bearer(token))
    assert response.status_code == 500
    assert "AMB-1" in _numbers(sandbox)


async def test_commit_then_hang_answers_504_after_committing(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """commit_then_hang commits, waits hang_s, then answers 504."""
    sandbox.faults.add(FaultRule(kind="commit_then_hang", method="POST", hang_s=0.05))
    response = await client.post(BILLS, json=_bill_body(sandbox, "HANG-1"), headers=bearer(token))
    assert response.status_code == 504
    assert "HANG-1" in _numbers(sandbox)


async def test_latency_fault_still_answers_normally(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """A latency fault delays the call but the answer is the real one."""
    sandbox.faults.add(FaultRule(kind="latency", latency_s=0.02))
    response = await client.get(BILLS, headers=bearer(token))
    assert response.status_code == 200
    (entry,) = sandbox.journal.entries(method="GET", path_contains="/bills")
    assert entry.fault == "latency"


async def test_faults_through_the_control_api(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """POST /_sandbox/faults arms a rule, GET lists it, DELETE clears them all."""
    armed = await client.post(
        "/_sandbox/faults", json={"kind": "status", "status": 502, "count": 5}
    )
    assert armed.json()["rules"][0]["status"] == 502
    assert (await client.get(BILLS, headers=bearer(token))).status_code == 502
    assert (await client.delete("/_sandbox/faults")).json() == {"rules": []}
    assert (await client.get(BILLS, headers=bearer(token))).status_code == 200
    bad = await client.post("/_sandbox/faults", json={"kind": "explode"})
    assert bad.status_code == 422


async def test_journal_records_calls_and_filters(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """GET /_sandbox/requests lists vendor-API calls (not control calls), filterable."""
    await client.get(BILLS, params={"page_size": 5}, headers=bearer(token))
    await client.post(BILLS, json=_bill_body(sandbox, "J-1"), headers=bearer(token))
    await client.get("/_sandbox/state?objects=false")
    posts = (await client.get("/_sandbox/requests", params={"method": "POST"})).json()
    assert [(e["method"], e["path"], e["status"]) for e in posts] == [
        ("POST", "/developer/v1/token", 200),
        ("POST", BILLS, 201),
    ]
    gets = (
        await client.get("/_sandbox/requests", params={"method": "GET", "path_contains": "bills"})
    ).json()
    assert [e["query"] for e in gets] == ["page_size=5"]
    assert (await client.delete("/_sandbox/requests")).json() == []
    assert sandbox.journal.entries() == []
