"""GET /reimbursements and /reimbursements/{id} in the Ramp sandbox: shape, mileage, filters."""

from __future__ import annotations

import json
from decimal import Decimal

from integration.sandbox_ramp.ramp_kit import ENTITY_ID
from integration.sandbox_ramp.spend_kit import (
    ENTITY_SE,
    RE_MILEAGE,
    RE_PENDING,
    RE_REPAYMENT,
    RE_SEK,
    RE_TAXI,
    USER_INGRID,
    USER_SOFIE,
    SpendWorld,
    ids_of,
)


async def test_reimbursement_has_the_spec_shape(spend: SpendWorld) -> None:
    """``currency`` (not currency_code), a decimal amount, payee amount, the user's details."""
    raw = json.loads((await spend.get(f"/reimbursements/{RE_TAXI}")).content, parse_float=Decimal)
    assert raw["amount"] == Decimal("450.00")
    assert raw["currency"] == "NOK"
    assert "currency_code" not in raw
    assert raw["payee_amount"] == {"amount": 45000, "currency_code": "NOK"}
    assert raw["type"] == "OUT_OF_POCKET"
    assert raw["direction"] == "BUSINESS_TO_USER"
    assert raw["state"] == "APPROVED"
    assert raw["sync_status"] == "SYNC_READY"
    assert (raw["user_id"], raw["user_full_name"]) == (USER_SOFIE, "Sofie Nilsen")
    assert raw["user_email"] == "sofie@testfjord.example"
    assert raw["employee_id"] == "E2"
    assert raw["merchant"] == "Oslo Taxi"
    assert raw["transaction_date"] == "2026-03-05"
    assert raw["entity_id"] == ENTITY_ID
    assert raw["distance"] is None
    assert raw["waypoints"] == []
    assert len(raw["receipts"]) == 1


async def test_mileage_carries_distance_and_trip(spend: SpendWorld) -> None:
    """A mileage reimbursement has its distance (miles, as the spec says) and its locations."""
    raw = json.loads(
        (await spend.get(f"/reimbursements/{RE_MILEAGE}")).content, parse_float=Decimal
    )
    assert raw["type"] == "MILEAGE"
    assert raw["distance"] == Decimal("52.20")
    assert (raw["start_location"], raw["end_location"]) == ("Oslo", "Oslo")
    assert raw["waypoints"] == ["Drammen"]
    assert raw["receipts"] == []
    assert raw["amount"] == Decimal("294.00")


async def test_foreign_receipt_shows_its_original_amount(spend: SpendWorld) -> None:
    """Paid in EUR, reimbursed in NOK: original_reimbursement_amount is the EUR amount."""
    raw = (await spend.get(f"/reimbursements/{RE_PENDING}")).json()
    assert raw["original_reimbursement_amount"] == {"amount": 1100, "currency_code": "EUR"}
    assert raw["currency"] == "NOK"
    assert raw["state"] == "PENDING"
    assert raw["submitted_at"] is not None


async def test_direction_defaults_to_business_to_user(spend: SpendWorld) -> None:
    """Repayments (USER_TO_BUSINESS) show only when asked for."""
    default = ids_of(await spend.get("/reimbursements", page_size=50))
    repayments = ids_of(await spend.get("/reimbursements", direction="USER_TO_BUSINESS"))
    assert RE_REPAYMENT not in default
    assert repayments == {RE_REPAYMENT}
    assert default == {RE_TAXI, RE_MILEAGE, RE_PENDING, RE_SEK}


async def test_reimbursement_filters(spend: SpendWorld) -> None:
    """sync_status, entity_id, user_id, transaction dates and the approver's queue."""
    assert ids_of(await spend.get("/reimbursements", sync_status="SYNC_READY")) == {
        RE_TAXI,
        RE_MILEAGE,
        RE_SEK,
    }
    assert ids_of(await spend.get("/reimbursements", entity_id=ENTITY_SE)) == {RE_SEK}
    assert ids_of(await spend.get("/reimbursements", user_id=USER_INGRID)) == {RE_MILEAGE}
    march = await spend.get(
        "/reimbursements", from_transaction_date="2026-03-05", to_transaction_date="2026-03-07"
    )
    assert ids_of(march) == {RE_TAXI, RE_MILEAGE}
    queue = await spend.get("/reimbursements", awaiting_approval_by_user_id=USER_INGRID)
    assert ids_of(queue) == {RE_PENDING}
    spend.clock.advance(60)
    spend.sandbox.approve_reimbursement(RE_PENDING)
    updated = await spend.get("/reimbursements", updated_after="2026-03-15T10:00:30Z")
    assert ids_of(updated) == {RE_PENDING}


async def test_approval_and_ready_to_sync(spend: SpendWorld) -> None:
    """A pending claim cannot be marked ready; approved (and coded) it can, once."""
    refused = await spend.http.post(f"/_sandbox/reimbursements/{RE_PENDING}/ready")
    assert refused.status_code == 400
    assert "not approved" in refused.json()["error_v2"]["message"]
    approved = await spend.http.post(f"/_sandbox/reimbursements/{RE_PENDING}/approve")
    assert approved.json()["state"] == "APPROVED"
    ready = await spend.http.post(f"/_sandbox/reimbursements/{RE_PENDING}/ready")
    assert ready.json()["sync_status"] == "SYNC_READY"
    twice = await spend.http.post(f"/_sandbox/reimbursements/{RE_PENDING}/ready")
    assert twice.status_code == 400
    paid = await spend.http.post(f"/_sandbox/reimbursements/{RE_PENDING}/pay")
    assert paid.json()["state"] == "REIMBURSED"
    assert paid.json()["payment_id"]
