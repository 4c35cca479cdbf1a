"""POST /accounting/syncs in the Ramp sandbox: effects, idempotency, readiness, export errors."""

from __future__ import annotations

from typing import Any

import httpx

from integration.sandbox_ramp.ramp_kit import (
    BILL_APPROVED,
    BILL_CREDIT,
    BILL_PENDING,
    bearer,
    error_code,
    ids,
)
from ml_connector.sandbox.ramp import RampSandbox

SYNCS = "/developer/v1/accounting/syncs"


async def _sync(
    client: httpx.AsyncClient, token: str, key: str, sync_type: str, **lists: Any
) -> httpx.Response:
    body = {"idempotency_key": key, "sync_type": sync_type, **lists}
    return await client.post(SYNCS, json=body, headers=bearer(token))


async def _ready(client: httpx.AsyncClient, token: str) -> set[str]:
    response = await client.get(
        "/developer/v1/bills", params={"sync_ready": "true"}, headers=bearer(token)
    )
    return set(ids(response.json()))


async def test_bill_sync_marks_bill_synced(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """BILL_SYNC moves NOT_SYNCED to BILL_SYNCED, copies the deep link, leaves sync_ready."""
    response = await _sync(
        client,
        token,
        "key-1",
        "BILL_SYNC",
        successful_syncs=[
            {"id": BILL_APPROVED, "reference_id": "INV-900", "deep_link_url": "https://erp/900"}
        ],
    )
    assert response.status_code == 201
    assert set(response.json()) == {"sync_id"}
    bill = (await client.get(f"/developer/v1/bills/{BILL_APPROVED}", headers=bearer(token))).json()
    assert bill["sync_status"] == "BILL_SYNCED"
    assert bill["deep_link_url"] == "https://erp/900"
    assert bill["remote_id"] == "INV-900"
    assert BILL_APPROVED not in await _ready(client, token)
    synced = await client.get(
        "/developer/v1/bills", params={"sync_status": "BILL_SYNCED"}, headers=bearer(token)
    )
    assert ids(synced.json()) == [BILL_APPROVED]


async def test_same_idempotency_key_replays_the_first_result(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """A repeat with the same key answers the same sync_id and records nothing new."""
    lists = {"successful_syncs": [{"id": BILL_APPROVED, "reference_id": "INV-900"}]}
    first = await _sync(client, token, "key-same", "BILL_SYNC", **lists)
    second = await _sync(client, token, "key-same", "BILL_SYNC", **lists)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len(sandbox.state.syncs) == 1
    fresh = await _sync(client, token, "key-other", "BILL_SYNC", **lists)
    assert fresh.status_code == 400  # the bill is no longer ready


async def test_syncing_a_non_ready_bill_is_refused_whole(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """A pending bill in the batch refuses it all: the ready bill stays NOT_SYNCED."""
    response = await _sync(
        client,
        token,
        "key-mixed",
        "BILL_SYNC",
        successful_syncs=[
            {"id": BILL_APPROVED, "reference_id": "A"},
            {"id": BILL_PENDING, "reference_id": "B"},
        ],
    )
    assert response.status_code == 400
    assert error_code(response) == "DEVELOPER_7001"
    assert BILL_PENDING in response.json()["error_v2"]["message"]
    assert sandbox.state.bills[BILL_APPROVED].sync_status == "NOT_SYNCED"
    assert sandbox.state.syncs == {}


async def test_unknown_object_and_other_sync_types_are_refused(
    client: httpx.AsyncClient, token: str
) -> None:
    """Ids the sandbox does not know, or sync types for objects it lacks, answer 400."""
    unknown = await _sync(
        client,
        token,
        "k1",
        "BILL_SYNC",
        successful_syncs=[{"id": "00000000-0000-4000-8000-000000000000", "reference_id": "x"}],
    )
    other = await _sync(
        client,
        token,
        "k2",
        "TRANSACTION_SYNC",
        successful_syncs=[{"id": BILL_APPROVED, "reference_id": "x"}],
    )
    empty = await _sync(client, token, "k3", "BILL_SYNC")
    assert unknown.status_code == other.status_code == empty.status_code == 400


async def test_payment_sync_needs_paid_and_synced_bill(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """BILL_PAYMENT_SYNC works only after BILL_SYNC and once the bill is PAID."""
    payment = {"successful_syncs": [{"id": BILL_APPROVED, "reference_id": "PAY-1"}]}
    too_early = await _sync(client, token, "p1", "BILL_PAYMENT_SYNC", **payment)
    assert too_early.status_code == 400
    await _sync(
        client,
        token,
        "b1",
        "BILL_SYNC",
        successful_syncs=[{"id": BILL_APPROVED, "reference_id": "INV-1"}],
    )
    unpaid = await _sync(client, token, "p2", "BILL_PAYMENT_SYNC", **payment)
    assert unpaid.status_code == 400
    sandbox.pay_bill(BILL_APPROVED)
    paid = await _sync(client, token, "p3", "BILL_PAYMENT_SYNC", **payment)
    assert paid.status_code == 201
    assert sandbox.state.bills[BILL_APPROVED].sync_status == "BILL_AND_PAYMENT_SYNCED"


async def test_failed_syncs_become_export_errors(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """failed_syncs are kept as export errors; the bill stays ready; success clears them."""
    response = await _sync(
        client,
        token,
        "f1",
        "BILL_SYNC",
        failed_syncs=[{"id": BILL_CREDIT, "error": {"message": "Period 202602 is closed"}}],
    )
    assert response.status_code == 201
    (problem,) = sandbox.state.export_errors
    assert (problem.object_id, problem.message) == (BILL_CREDIT, "Period 202602 is closed")
    assert BILL_CREDIT in await _ready(client, token)
    state = (await client.get("/_sandbox/state")).json()
    assert state["export_errors"][0]["message"] == "Period 202602 is closed"
    await _sync(
        client,
        token,
        "f2",
        "BILL_SYNC",
        successful_syncs=[{"id": BILL_CREDIT, "reference_id": "CN-1"}],
    )
    assert sandbox.state.export_errors == []


async def test_sync_body_is_validated(client: httpx.AsyncClient, token: str) -> None:
    """Missing idempotency_key, an unknown sync_type or a non-uuid id are 422s."""
    for body in (
        {"sync_type": "BILL_SYNC"},
        {"idempotency_key": "k", "sync_type": "BILL_SINK"},
        {
            "idempotency_key": "k",
            "sync_type": "BILL_SYNC",
            "successful_syncs": [{"id": "x", "reference_id": "y"}],
        },
    ):
        response = await client.post(SYNCS, json=body, headers=bearer(token))
        assert response.status_code == 422, body


async def test_unsynced_bill_needs_a_new_key_to_be_marked_again(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """After an accountant unsyncs a bill, the old key replays the first result and leaves it
    unsynced; only a new key marks it synced again (what the connector's keys are built for)."""
    lists = {"successful_syncs": [{"id": BILL_APPROVED, "reference_id": "INV-900"}]}
    first = await _sync(client, token, "key-first", "BILL_SYNC", **lists)
    unsynced = sandbox.unsync_bill(BILL_APPROVED)
    assert unsynced["sync_status"] == "NOT_SYNCED"
    assert BILL_APPROVED in await _ready(client, token)

    replayed = await _sync(client, token, "key-first", "BILL_SYNC", **lists)
    assert replayed.json() == first.json()
    assert sandbox.state.bills[BILL_APPROVED].sync_status.value == "NOT_SYNCED"

    fresh = await _sync(client, token, "key-second", "BILL_SYNC", **lists)
    assert fresh.status_code == 201
    assert fresh.json() != first.json()
    assert sandbox.state.bills[BILL_APPROVED].sync_status.value == "BILL_SYNCED"
    assert set(sandbox.state.syncs) == {"key-first", "key-second"}


async def test_unsync_control_refuses_an_unsynced_bill(client: httpx.AsyncClient) -> None:
    """POST /_sandbox/bills/{id}/unsync on a bill that was never synced: 400, nothing changes."""
    response = await client.post(f"/_sandbox/bills/{BILL_APPROVED}/unsync")
    assert response.status_code == 400
    assert "not synced" in response.text
