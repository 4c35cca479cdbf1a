"""The /_sandbox control routes for people and spend, and the demo dataset's spend."""

from __future__ import annotations

from collections import Counter
from datetime import date

from integration.sandbox_ramp.ramp_kit import ManualClock, client_for
from integration.sandbox_ramp.spend_kit import (
    DEPT_TECH,
    LOC_OSLO,
    RE_TAXI,
    TX_HOTEL,
    SpendWorld,
)
from ml_connector.sandbox import _demo, _demo_spend
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import demo_dataset


async def test_control_drives_a_card_purchase_end_to_end(spend: SpendWorld) -> None:
    """People and a foreign, split, receipted card purchase made over HTTP reach the public API."""
    http = spend.http
    person = await http.post(
        "/_sandbox/users",
        json={
            "first_name": "Ola",
            "last_name": "Nordmann",
            "department_id": DEPT_TECH,
            "location_id": LOC_OSLO,
        },
    )
    assert person.status_code == 201, person.text
    created = await http.post(
        "/_sandbox/transactions",
        json={
            "user_id": person.json()["id"],
            "merchant_name": "Atlassian",
            "amount_minor": 35000,
            "original_amount_minor": 3000,
            "original_currency": "EUR",
            "transacted_at": "2026-03-14T09:30:00Z",
            "state": "PENDING",
            "lines": [
                {"amount_minor": 20000, "gl_account": "6540", "cost_centre": "100"},
                {"amount_minor": 15000, "gl_account": "6800", "cost_centre": "200"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    tx = created.json()
    assert tx["amount"] == 350.0
    assert tx["state"] == "PENDING"
    assert tx["card_holder"]["department_name"] == "Technology"
    for action in ("clear", "ready"):
        step = await http.post(f"/_sandbox/transactions/{tx['id']}/{action}")
        assert step.status_code == 200, step.text
    receipt = await http.post(f"/_sandbox/transactions/{tx['id']}/receipt")
    assert receipt.status_code == 201
    seen = (await spend.get(f"/transactions/{tx['id']}")).json()
    assert (seen["state"], seen["sync_status"]) == ("CLEARED", "SYNC_READY")
    assert receipt.json()["receipt_id"] in seen["receipts"]
    assert len(seen["line_items"]) == 2


async def test_control_refund_reimbursement_transfer_and_status(spend: SpendWorld) -> None:
    """Refund, reimbursement, transfer and statement routes; sync status of any object."""
    http = spend.http
    refund = await http.post(
        f"/_sandbox/transactions/{TX_HOTEL}/refund", json={"amount_minor": 10000}
    )
    assert refund.status_code == 201
    assert refund.json()["amount"] == -100.0
    claim = await http.post(
        "/_sandbox/reimbursements",
        json={
            "user_id": spend.sandbox.state.transactions[TX_HOTEL].user_id,
            "amount_minor": 58800,
            "type": "MILEAGE",
            "distance_miles": "104.40",
            "start_location": "Oslo",
            "end_location": "Oslo",
            "transaction_date": "2026-03-12",
            "lines": [{"amount_minor": 58800, "gl_account": "6540"}],
            "sync_ready": True,
        },
    )
    assert claim.status_code == 201, claim.text
    assert claim.json()["distance"] == 104.4
    assert claim.json()["sync_status"] == "SYNC_READY"
    transfer = await http.post(
        "/_sandbox/transfers", json={"amount_minor": 500000, "created_at": "2026-03-14T08:00:00"}
    )
    assert transfer.status_code == 201
    assert transfer.json()["sync_status"] == "SYNC_READY"
    statement = await http.post(
        "/_sandbox/statements", json={"start": "2026-03-01", "end": "2026-03-14"}
    )
    assert statement.status_code == 201
    assert (await http.get(f"/_sandbox/sync-status/{RE_TAXI}")).json()["kind"] == "reimbursement"
    assert (await http.get("/_sandbox/sync-status/nothing")).status_code == 404
    bad = await http.post(f"/_sandbox/transactions/{TX_HOTEL}/explode")
    assert bad.status_code == 404
    unknown_user = await http.post(
        "/_sandbox/transactions",
        json={"user_id": "nobody", "merchant_name": "X", "amount_minor": 1},
    )
    assert unknown_user.status_code == 404
    uneven = await http.post(
        "/_sandbox/transactions",
        json={
            "user_id": spend.sandbox.state.transactions[TX_HOTEL].user_id,
            "merchant_name": "X",
            "amount_minor": 100,
            "lines": [{"amount_minor": 60}, {"amount_minor": 30}],
        },
    )
    assert uneven.status_code == 400  # the split does not add up


async def test_demo_holds_card_spend_and_reimbursements() -> None:
    """The demo has NOK, SEK and EUR spend, refunds, mileage, transfers and its exceptions."""
    dataset = demo_dataset(date(2026, 3, 15))
    cards, claims = dataset.card_transactions, dataset.reimbursements
    assert {c.currency for c in cards} == {"NOK", "SEK"}
    assert {c.original_currency for c in cards} - {None} == {"EUR", "SEK"}
    assert sum(c.amount_minor < 0 for c in cards) == 3
    assert Counter(c.state for c in cards)["PENDING"] == 2
    assert {r.type for r in claims} >= {"OUT_OF_POCKET", "MILEAGE", "PER_DIEM"}
    assert {r.currency for r in claims} == {"NOK", "SEK"}
    assert "EUR" in {r.original_currency for r in claims}
    assert len(dataset.entities) == 2
    assert dataset.entities[0].is_primary
    unknown = [c for c in cards if any(ln.gl_account == _demo.UNKNOWN_ACCOUNT for ln in c.lines)]
    closed = {p.period_id for p in dataset.periods if p.closed_in_general_ledger}
    in_closed = [c for c in cards if c.transacted_at.strftime("%Y%m") in closed]
    inactive = [
        r for r in claims if any(ln.gl_account == _demo_spend.INACTIVE_ACCOUNT for ln in r.lines)
    ]
    assert len(unknown) + len(in_closed) == _demo.DELIBERATE_TRANSACTION_FAILURES
    assert len(inactive) == _demo.DELIBERATE_REIMBURSEMENT_FAILURES
    assert all(c.sync_ready for c in unknown + in_closed)
    assert inactive[0].sync_ready
    assert sum(t.amount_minor for t in dataset.transfers) > 0
    assert demo_dataset(date(2026, 3, 15)) == dataset  # deterministic


async def test_demo_spend_is_served(clock: ManualClock) -> None:
    """The demo's spend loads into the sandbox and is ready to sync as seeded."""
    sandbox = RampSandbox("id", "secret", dataset=demo_dataset(date(2026, 3, 15)), clock=clock)
    async with client_for(sandbox) as http:
        counts = (await http.get("/_sandbox/state", params={"objects": "false"})).json()["counts"]
    assert counts["transactions"] == len(sandbox.state.transactions) > 60
    assert counts["transactions_sync_ready"] > 40
    assert counts["reimbursements_sync_ready"] > 10
    assert counts["statements"] == 2
    assert counts["users"] == 12
