"""TRANSACTION_SYNC, REIMBURSEMENT_SYNC and TRANSFER_SYNC in the Ramp sandbox, readiness,
export errors, and the spend webhooks."""

from __future__ import annotations

import json

from integration.sandbox_ramp.ramp_kit import bearer, subscribe
from integration.sandbox_ramp.spend_kit import (
    RE_MILEAGE,
    RE_PENDING,
    RE_TAXI,
    TRANSFER_FEB,
    TRANSFER_MAR,
    TX_ADOBE,
    TX_HOTEL,
    TX_PENDING,
    TX_SPLIT,
    TX_UNCODED,
    USER_SOFIE,
    SpendWorld,
    ids_of,
)
from ml_connector.sandbox import seed


async def test_transaction_sync_marks_synced(spend: SpendWorld) -> None:
    """A ready transaction becomes SYNCED with synced_at; it leaves the ready list."""
    response = await spend.sync(
        "tx-1", "TRANSACTION_SYNC", successful_syncs=[{"id": TX_HOTEL, "reference_id": "GL-7"}]
    )
    assert response.status_code == 201, response.text
    raw = (await spend.get(f"/transactions/{TX_HOTEL}")).json()
    assert raw["sync_status"] == "SYNCED"
    assert raw["synced_at"] == "2026-03-15T10:00:00+00:00"
    assert TX_HOTEL not in ids_of(await spend.get("/transactions", sync_status="SYNC_READY"))
    assert ids_of(await spend.get("/transactions", synced_after="2026-03-15T09:00:00Z")) == {
        TX_HOTEL
    }
    assert TX_HOTEL not in ids_of(
        await spend.get("/transactions", has_no_sync_commits="true", page_size=50)
    )
    status = (await spend.http.get(f"/_sandbox/sync-status/{TX_HOTEL}")).json()
    assert (status["kind"], status["sync_status"], status["reference_id"]) == (
        "transaction",
        "SYNCED",
        "GL-7",
    )


async def test_same_key_replays_and_not_ready_is_refused_whole(spend: SpendWorld) -> None:
    """A repeated key answers the first sync_id; a batch with an unready object changes nothing."""
    body = {"successful_syncs": [{"id": TX_ADOBE, "reference_id": "GL-8"}]}
    first = await spend.sync("tx-same", "TRANSACTION_SYNC", **body)
    again = await spend.sync("tx-same", "TRANSACTION_SYNC", **body)
    assert first.json() == again.json()
    assert len(spend.sandbox.state.syncs) == 1
    mixed = await spend.sync(
        "tx-mixed",
        "TRANSACTION_SYNC",
        successful_syncs=[
            {"id": TX_HOTEL, "reference_id": "GL-9"},
            {"id": TX_SPLIT, "reference_id": "GL-10"},  # never marked ready
        ],
    )
    assert mixed.status_code == 400
    assert "not ready to sync" in mixed.json()["error_v2"]["message"]
    assert spend.sandbox.state.transactions[TX_HOTEL].sync_status.value == "SYNC_READY"
    wrong_type = await spend.sync(
        "tx-wrong", "REIMBURSEMENT_SYNC", successful_syncs=[{"id": TX_HOTEL, "reference_id": "x"}]
    )
    assert wrong_type.status_code == 400  # a transaction is not a reimbursement


async def test_failed_syncs_are_export_errors_until_synced(spend: SpendWorld) -> None:
    """failed_syncs keep the transaction ready and list an export error; a success clears it."""
    failed = await spend.sync(
        "tx-fail",
        "TRANSACTION_SYNC",
        failed_syncs=[{"id": TX_HOTEL, "error": {"message": "Account 6800 is inactive"}}],
    )
    assert failed.status_code == 201
    status = spend.sandbox.sync_status(TX_HOTEL)
    assert status["sync_status"] == "SYNC_READY"
    assert [e["message"] for e in status["export_errors"]] == ["Account 6800 is inactive"]
    state = (await spend.http.get("/_sandbox/state")).json()
    assert state["counts"]["export_errors"] == 1
    await spend.sync(
        "tx-ok", "TRANSACTION_SYNC", successful_syncs=[{"id": TX_HOTEL, "reference_id": "GL-1"}]
    )
    assert spend.sandbox.sync_status(TX_HOTEL)["export_errors"] == []


async def test_reimbursement_and_transfer_syncs(spend: SpendWorld) -> None:
    """REIMBURSEMENT_SYNC and TRANSFER_SYNC mark their objects; initiated transfers wait."""
    claims = await spend.sync(
        "re-1",
        "REIMBURSEMENT_SYNC",
        successful_syncs=[
            {"id": RE_TAXI, "reference_id": "AP-1"},
            {"id": RE_MILEAGE, "reference_id": "AP-2"},
        ],
    )
    assert claims.status_code == 201
    assert ids_of(await spend.get("/reimbursements", sync_status="SYNCED")) == {RE_TAXI, RE_MILEAGE}
    pending = await spend.sync(
        "re-2", "REIMBURSEMENT_SYNC", successful_syncs=[{"id": RE_PENDING, "reference_id": "x"}]
    )
    assert pending.status_code == 400
    paid = await spend.sync(
        "tr-1", "TRANSFER_SYNC", successful_syncs=[{"id": TRANSFER_FEB, "reference_id": "GL-20"}]
    )
    assert paid.status_code == 201
    assert (await spend.get(f"/transfers/{TRANSFER_FEB}")).json()["sync_status"] == "SYNCED"
    early = await spend.sync(
        "tr-2", "TRANSFER_SYNC", successful_syncs=[{"id": TRANSFER_MAR, "reference_id": "GL-21"}]
    )
    assert early.status_code == 400
    spend.sandbox.complete_transfer(TRANSFER_MAR)
    later = await spend.sync(
        "tr-3", "TRANSFER_SYNC", successful_syncs=[{"id": TRANSFER_MAR, "reference_id": "GL-21"}]
    )
    assert later.status_code == 201


async def test_unsync_puts_a_transaction_back_in_the_queue(spend: SpendWorld) -> None:
    """Undoing an export (control) makes the transaction ready again; a new key syncs it."""
    await spend.sync(
        "tx-a", "TRANSACTION_SYNC", successful_syncs=[{"id": TX_ADOBE, "reference_id": "GL-1"}]
    )
    undone = await spend.http.post(f"/_sandbox/transactions/{TX_ADOBE}/unsync")
    assert undone.json()["sync_status"] == "SYNC_READY"
    assert undone.json()["synced_at"] is None
    again = await spend.sync(
        "tx-b", "TRANSACTION_SYNC", successful_syncs=[{"id": TX_ADOBE, "reference_id": "GL-2"}]
    )
    assert again.status_code == 201
    assert spend.sandbox.sync_status(TX_ADOBE)["reference_id"] == "GL-2"


async def test_marking_ready_needs_a_cleared_coded_transaction(spend: SpendWorld) -> None:
    """Pending transactions cannot be marked ready; fields required for TRANSACTION are coded."""
    pending = await spend.http.post(f"/_sandbox/transactions/{TX_PENDING}/ready")
    assert pending.status_code == 400
    assert "PENDING" in pending.json()["error_v2"]["message"]
    state = spend.sandbox.state
    cost_centre = state.field_by_remote(seed.FIELD_COST_CENTRE)
    assert cost_centre is not None
    cost_centre.is_required_for = ["TRANSACTION"]
    uncoded = await spend.http.post(f"/_sandbox/transactions/{TX_UNCODED}/ready")
    assert uncoded.status_code == 400
    assert seed.FIELD_COST_CENTRE in uncoded.json()["error_v2"]["message"]
    split = await spend.http.post(f"/_sandbox/transactions/{TX_SPLIT}/ready")  # coded per line
    assert split.status_code == 200, split.text
    assert split.json()["sync_status"] == "SYNC_READY"


async def test_spend_webhooks(spend: SpendWorld) -> None:
    """The spec's transaction and reimbursement events fire; the 2026 ones only when enabled."""
    http, sandbox, receiver = spend.http, spend.sandbox, spend.receiver
    token = spend.auth["Authorization"].removeprefix("Bearer ")
    await subscribe(
        http,
        sandbox,
        receiver,
        token,
        [
            "transactions.authorized",
            "transactions.cleared",
            "transactions.ready_to_sync",
            "reimbursements.ready_for_review",
            "reimbursements.ready_to_sync",
        ],
    )
    created = sandbox.create_transaction(
        user_id=USER_SOFIE, merchant_name="Vy", amount_minor=39900, state="PENDING"
    )
    sandbox.clear_transaction(created["id"])
    sandbox.mark_transaction_ready(created["id"])
    claim = sandbox.create_reimbursement(user_id=USER_SOFIE, amount_minor=1000, state="PENDING")
    sandbox.approve_reimbursement(claim["id"])
    sandbox.mark_reimbursement_ready(claim["id"])
    await sandbox.webhooks.flush()
    got = [json.loads(r.body) for r in receiver.received][1:]  # after the verification
    assert [(e["type"], e["object"]["id"]) for e in got] == [
        ("transactions.authorized", created["id"]),
        ("transactions.cleared", created["id"]),
        ("transactions.ready_to_sync", created["id"]),
        ("reimbursements.ready_for_review", claim["id"]),
        ("reimbursements.ready_to_sync", claim["id"]),
    ]
    newer = await http.post(
        "/developer/v1/webhooks",
        json={
            "endpoint_url": "http://receiver.test/hooks/ramp",
            "event_types": ["transactions.synced"],
        },
        headers=bearer(token),
    )
    assert newer.status_code == 422  # a 2026 type: refused unless newer_event_types is on
    await http.post("/_sandbox/settings", json={"newer_event_types": True})
    await subscribe(http, sandbox, receiver, token, ["transactions.synced"])
    await spend.sync(
        "tx-hook", "TRANSACTION_SYNC", successful_syncs=[{"id": created["id"], "reference_id": "1"}]
    )
    await sandbox.webhooks.flush()
    assert [
        json.loads(r.body)["object"]["id"] for r in receiver.of_type("transactions.synced")
    ] == [created["id"]]


async def test_commit_then_fail_sync_is_replayed_by_its_key(spend: SpendWorld) -> None:
    """A sync whose answer is lost (commit, then 500) took effect; retrying with the same key
    answers 201 with the first sync_id and changes nothing more."""
    from ml_connector.sandbox.faults import FaultRule

    spend.sandbox.faults.add(
        FaultRule(kind="commit_then_fail", status=500, method="POST", path_contains="syncs")
    )
    body = {"successful_syncs": [{"id": TX_HOTEL, "reference_id": "GL-77"}]}
    lost = await spend.sync("tx-lost", "TRANSACTION_SYNC", **body)
    assert lost.status_code == 500
    assert spend.sandbox.sync_status(TX_HOTEL)["sync_status"] == "SYNCED"
    retried = await spend.sync("tx-lost", "TRANSACTION_SYNC", **body)
    assert retried.status_code == 201
    assert retried.json()["sync_id"] == spend.sandbox.state.syncs["tx-lost"].sync_id
    assert len(spend.sandbox.state.syncs) == 1
