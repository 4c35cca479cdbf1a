"""Every Ramp sandbox exchange of the spend scenarios (transactions, reimbursements, receipts,
transfers, statements, people, and their syncs) follows Ramp's own OpenAPI spec; see
test_ramp_sandbox_contract.py for how the exchanges are checked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contract.ramp_contract_kit import (
    API,
    CLIENT_ID,
    CLIENT_SECRET,
    Harness,
    open_harness,
)


@pytest.fixture
async def harness(shared_specs_dir: Path) -> AsyncIterator[Harness]:
    """A demo-seeded sandbox behind a recording client, with an all-scopes token."""
    async with open_harness(shared_specs_dir) as h:
        yield h


SPEND_SCOPES = (
    "transactions:read reimbursements:read transfers:read statements:read users:read "
    "departments:read departments:write locations:read locations:write receipts:read "
    "business:read entities:read accounting:read accounting:write"
)


async def _spend_token(h: Harness) -> dict[str, str]:
    response = await h.client.post(
        f"{API}/token",
        data={"grant_type": "client_credentials", "scope": SPEND_SCOPES},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_spend_reads_follow_the_spec(harness: Harness) -> None:
    """Transactions (foreign, split, refund, declined), reimbursements (mileage), receipts,
    transfers and statements of the demo, listed with every kind of filter and read one by one."""
    h = harness
    auth = await _spend_token(h)
    state = h.sandbox.state
    cards = list(state.transactions.values())
    page = await h.call(
        "GET",
        f"{API}/transactions",
        params={"page_size": 5, "order_by_date_desc": "true"},
        headers=auth,
    )
    await h.call("GET", page.json()["page"]["next"], headers=auth)
    entity = next(iter(state.entities))
    user = next(iter(state.users.values()))
    await h.call(
        "GET",
        f"{API}/transactions",
        params={
            "sync_status": "SYNC_READY",
            "entity_id": entity,
            "from_date": "2020-01-01T00:00:00+00:00",
            "to_date": "2100-01-01T00:00:00+00:00",
            "state": "ALL",
            "department_id": user.department_id,
            "min_amount": "-5000.50",
            "has_no_sync_commits": "true",
        },
        headers=auth,
    )
    await h.call(
        "GET",
        f"{API}/transactions",
        params={"sync_ready": "true", "user_id": user.id},
        headers=auth,
    )
    shown = [
        next(c for c in cards if c.original_currency),
        next(c for c in cards if c.lines),
        next(c for c in cards if c.amount_minor < 0),
        next(c for c in cards if c.state == "DECLINED"),
        next(c for c in cards if c.state == "PENDING"),
    ]
    for card in shown:
        await h.call("GET", f"{API}/transactions/{card.id}", headers=auth)
    claims = list(state.reimbursements.values())
    await h.call(
        "GET",
        f"{API}/reimbursements",
        params={"page_size": 50, "sync_status": "SYNC_READY"},
        headers=auth,
    )
    await h.call(
        "GET",
        f"{API}/reimbursements",
        params={"direction": "USER_TO_BUSINESS", "entity_id": entity},
        headers=auth,
    )
    for claim in (
        next(r for r in claims if r.type == "MILEAGE"),
        next(r for r in claims if r.original_currency),
    ):
        await h.call("GET", f"{API}/reimbursements/{claim.id}", headers=auth)
    receipts = await h.call(
        "GET", f"{API}/receipts", params={"transaction_id": shown[0].id}, headers=auth
    )
    await h.call("GET", f"{API}/receipts/{receipts.json()['data'][0]['id']}", headers=auth)
    transfers = await h.call(
        "GET", f"{API}/transfers", params={"status": "COMPLETED"}, headers=auth
    )
    await h.call("GET", f"{API}/transfers/{transfers.json()['data'][0]['id']}", headers=auth)
    statements = await h.call("GET", f"{API}/statements", headers=auth)
    for statement in statements.json()["data"]:
        await h.call("GET", f"{API}/statements/{statement['id']}", headers=auth)
    await h.call("GET", f"{API}/transactions/7e000000-0000-4000-8000-0000000000ff", headers=auth)
    await h.call("GET", f"{API}/transactions", params={"page_size": 101}, headers=auth)  # 422
    assert h.check() == 24


async def test_people_and_spend_syncs_follow_the_spec(harness: Harness) -> None:
    """Users, departments, locations, business, entities with accounts; spend syncs and hooks."""
    h = harness
    auth = await _spend_token(h)
    state = h.sandbox.state
    users = await h.call(
        "GET", f"{API}/users", params={"page_size": 5, "role": "BUSINESS_USER"}, headers=auth
    )
    await h.call("GET", f"{API}/users/{users.json()['data'][0]['id']}", headers=auth)
    await h.call("GET", f"{API}/departments", headers=auth)
    department = await h.call("POST", f"{API}/departments", json={"name": "Legal"}, headers=auth)
    await h.call("GET", f"{API}/departments/{department.json()['id']}", headers=auth)
    await h.call(
        "PATCH", f"{API}/departments/{department.json()['id']}", json={"name": "Law"}, headers=auth
    )
    entity = next(iter(state.entities))
    await h.call("GET", f"{API}/locations", params={"entity_id": entity}, headers=auth)
    place = await h.call(
        "POST", f"{API}/locations", json={"name": "Tromsø", "entity_id": entity}, headers=auth
    )
    await h.call("GET", f"{API}/locations/{place.json()['id']}", headers=auth)
    await h.call(
        "PATCH",
        f"{API}/locations/{place.json()['id']}",
        json={"name": "Tromsø sentrum"},
        headers=auth,
    )
    await h.call("GET", f"{API}/business", headers=auth)
    await h.call("GET", f"{API}/entities", headers=auth)
    ready_card = next(t for t in state.transactions.values() if t.sync_status.value == "SYNC_READY")
    ready_claim = next(
        r for r in state.reimbursements.values() if r.sync_status.value == "SYNC_READY"
    )
    ready_transfer = next(
        t for t in state.transfers.values() if t.sync_status.value == "SYNC_READY"
    )
    for key, sync_type, object_id in (
        ("ct-tx", "TRANSACTION_SYNC", ready_card.id),
        ("ct-re", "REIMBURSEMENT_SYNC", ready_claim.id),
        ("ct-tr", "TRANSFER_SYNC", ready_transfer.id),
    ):
        synced = await h.call(
            "POST",
            f"{API}/accounting/syncs",
            json={
                "idempotency_key": key,
                "sync_type": sync_type,
                "successful_syncs": [{"id": object_id, "reference_id": f"GL-{key}"}],
            },
            headers=auth,
        )
        assert synced.status_code == 201, synced.text
    await h.call("GET", f"{API}/transactions/{ready_card.id}", headers=auth)  # SYNCED, synced_at
    failing = next(t for t in state.transactions.values() if t.sync_status.value == "SYNC_READY")
    await h.call(
        "POST",
        f"{API}/accounting/syncs",
        json={
            "idempotency_key": "ct-fail",
            "sync_type": "TRANSACTION_SYNC",
            "failed_syncs": [{"id": failing.id, "error": {"message": "Period closed"}}],
        },
        headers=auth,
    )
    refused = await h.call(
        "POST",
        f"{API}/accounting/syncs",
        json={
            "idempotency_key": "ct-again",
            "sync_type": "TRANSACTION_SYNC",
            "successful_syncs": [{"id": ready_card.id, "reference_id": "GL-2"}],
        },
        headers=auth,
    )
    assert refused.status_code == 400  # synced already: declared "raises InvalidInput"
    hooks = await h.call(
        "POST",
        f"{API}/webhooks",
        json={
            "endpoint_url": "https://hooks.example/ramp",
            "event_types": [
                "transactions.ready_to_sync",
                "reimbursements.ready_to_sync",
                "transactions.cleared",
            ],
        },
        headers=auth,
    )
    assert hooks.status_code == 201, hooks.text
    assert h.check() == 21
