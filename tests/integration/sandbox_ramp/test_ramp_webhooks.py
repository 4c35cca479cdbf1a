"""Webhook subscriptions, verification, events, signatures and delivery faults (Ramp sandbox)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from integration.sandbox_ramp.ramp_kit import (
    BILL_APPROVED,
    BILL_PENDING,
    PO_ID,
    VENDOR_A,
    WEBHOOK_URL,
    ManualClock,
    Receiver,
    bearer,
    client_for,
    fetch_token,
    make_sandbox,
    subscribe,
)
from ml_connector.sandbox.ramp import RampSandbox

HOOKS = "/developer/v1/webhooks"
BILL_EVENTS = [
    "bills.created",
    "bills.approved",
    "bills.paid",
    "bills.archived",
    "bills.updated",
    "bills.ready_to_sync",
]


def _events(receiver: Receiver) -> list[dict[str, Any]]:
    return [
        json.loads(r.body)
        for r in receiver.received
        if json.loads(r.body).get("type") != "webhooks.verification"
    ]


async def test_subscription_starts_pending_with_a_secret(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """POST answers 201 with the secret once; GET and the list never show it."""
    created = await subscribe(client, sandbox, receiver, token, ["bills.created"], verify=False)
    assert created["status"] == "pending_verification"
    assert created["secret"]
    assert created["additional_headers"] == {}
    one = (await client.get(f"{HOOKS}/{created['id']}", headers=bearer(token))).json()
    listing = (await client.get(HOOKS, headers=bearer(token))).json()
    assert "secret" not in one
    assert isinstance(listing, list)
    assert [s["id"] for s in listing] == [created["id"]]
    assert created["secret"] not in json.dumps(listing)


async def test_verification_handshake_activates(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """The challenge is POSTed to the endpoint; echoing it back makes the subscription active."""
    created = await subscribe(client, sandbox, receiver, token, ["bills.created"], verify=False)
    (challenge_request,) = receiver.received
    payload = json.loads(challenge_request.body)
    assert payload["type"] == "webhooks.verification"
    assert "x-ramp-webhook-id" not in challenge_request.headers
    path = f"{HOOKS}/{created['id']}/verify"
    wrong = await client.post(path, json={"challenge": "guess"}, headers=bearer(token))
    assert wrong.status_code == 400
    right = await client.post(path, json={"challenge": payload["challenge"]}, headers=bearer(token))
    assert right.json() == {"success": True}
    one = (await client.get(f"{HOOKS}/{created['id']}", headers=bearer(token))).json()
    assert one["status"] == "active"


async def test_pending_subscription_gets_no_events(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """Until verified, business events are not delivered."""
    await subscribe(client, sandbox, receiver, token, ["bills.approved"], verify=False)
    sandbox.approve_bill(BILL_PENDING)
    await sandbox.webhooks.flush()
    assert _events(receiver) == []


async def test_events_are_thin_signed_and_identified(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """The envelope is {id,type,created_at,business_id,object:{id}}, HMAC-SHA256 hex signed."""
    created = await subscribe(client, sandbox, receiver, token, ["bills.approved"])
    sandbox.approve_bill(BILL_PENDING)
    await sandbox.webhooks.flush()
    delivery = receiver.of_type("bills.approved")[0]
    event = json.loads(delivery.body)
    assert set(event) == {"id", "type", "created_at", "business_id", "object"}
    assert event["object"] == {"id": BILL_PENDING}
    assert event["business_id"] == sandbox.state.business_id
    expected = hmac.new(created["secret"].encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["x-ramp-signature"] == expected
    assert delivery.headers["x-ramp-webhook-id"] == event["id"]
    assert delivery.headers["content-type"] == "application/json"


async def test_bill_and_po_lifecycle_events(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """Create, approve, update, pay, archive and PO changes each emit their event type (with the
    2026 event types on)."""
    sandbox.hub.newer_event_types = True
    await subscribe(
        client,
        sandbox,
        receiver,
        token,
        [
            *BILL_EVENTS,
            "purchase_orders.created",
            "purchase_orders.updated",
            "purchase_orders.archived",
        ],
    )
    created = sandbox.create_bill(
        vendor_id=VENDOR_A,
        invoice_number="EV-1",
        lines=[{"amount_minor": 100, "gl_account": "6800"}],
        approval_status="PENDING",
    )
    sandbox.approve_bill(created["id"])
    sandbox.update_bill(created["id"], memo="edited")
    sandbox.pay_bill(created["id"])
    sandbox.archive_bill(BILL_PENDING)
    order = sandbox.create_purchase_order(
        vendor_id=VENDOR_A, lines=[{"amount_minor": 500, "gl_account": "6540"}], number="PO-9"
    )
    sandbox.update_purchase_order(order["id"], memo="more chairs")
    sandbox.archive_purchase_order(PO_ID)
    await sandbox.webhooks.flush()
    seen = [(e["type"], e["object"]["id"]) for e in _events(receiver)]
    assert seen == [
        ("bills.created", created["id"]),
        ("bills.approved", created["id"]),
        ("bills.ready_to_sync", created["id"]),
        ("bills.updated", created["id"]),
        ("bills.paid", created["id"]),
        ("bills.archived", BILL_PENDING),
        ("purchase_orders.created", order["id"]),
        ("purchase_orders.updated", order["id"]),
        ("purchase_orders.archived", PO_ID),
    ]


async def test_api_writes_emit_events(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """PATCH and DELETE through the public API emit bills.updated and bills.archived (with the
    2026 event types on)."""
    sandbox.hub.newer_event_types = True
    await subscribe(client, sandbox, receiver, token, ["bills.updated", "bills.archived"])
    await client.patch(
        f"/developer/v1/bills/{BILL_APPROVED}", json={"memo": "x"}, headers=bearer(token)
    )
    await client.delete(f"/developer/v1/bills/{BILL_PENDING}", headers=bearer(token))
    await sandbox.webhooks.flush()
    assert [e["type"] for e in _events(receiver)] == ["bills.updated", "bills.archived"]


async def test_event_types_are_the_specs_unless_the_newer_option_is_on(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """By default a subscription takes exactly the spec's enum; the option adds the 2026 types."""
    spec = {"endpoint_url": WEBHOOK_URL, "event_types": ["bills.approved", "bills.paid"]}
    newer = {"endpoint_url": WEBHOOK_URL, "event_types": ["bills.approved", "bills.ready_to_sync"]}
    assert (await client.post(HOOKS, json=spec, headers=bearer(token))).status_code == 201
    refused = await client.post(HOOKS, json=newer, headers=bearer(token))
    assert refused.status_code == 422
    assert refused.json()["error_v2"]["additional_info"] == {
        "event_types": ["Unknown event types: ['bills.ready_to_sync']."]
    }
    sandbox.hub.newer_event_types = True
    assert (await client.post(HOOKS, json=newer, headers=bearer(token))).status_code == 201
    assert len(sandbox.hub.subscriptions) == 2


async def test_only_subscribed_types_are_delivered(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """A subscription to bills.paid hears nothing about approvals."""
    await subscribe(client, sandbox, receiver, token, ["bills.paid"])
    sandbox.approve_bill(BILL_PENDING)
    sandbox.pay_bill(BILL_APPROVED)
    await sandbox.webhooks.flush()
    assert [e["type"] for e in _events(receiver)] == ["bills.paid"]


async def test_deleted_subscription_stops_deliveries(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """DELETE answers 204 and later events are not sent."""
    created = await subscribe(client, sandbox, receiver, token, ["bills.paid"])
    assert (
        await client.delete(f"{HOOKS}/{created['id']}", headers=bearer(token))
    ).status_code == 204
    sandbox.pay_bill(BILL_APPROVED)
    await sandbox.webhooks.flush()
    assert _events(receiver) == []
    assert (await client.get(f"{HOOKS}/{created['id']}", headers=bearer(token))).status_code == 404


async def test_subscribing_needs_the_event_read_scope(client: httpx.AsyncClient) -> None:
    """bills.* events need bills:read; without it POST /webhooks answers 403."""
    token = await fetch_token(client, "vendors:read")
    response = await client.post(
        HOOKS,
        json={"endpoint_url": WEBHOOK_URL, "event_types": ["bills.paid"]},
        headers=bearer(token),
    )
    assert response.status_code == 403
    assert response.json()["error_v2"]["error_code"] == "DEVELOPER_7100"


async def test_subscription_input_is_validated(client: httpx.AsyncClient, token: str) -> None:
    """Bad URLs, unknown event types and reserved or too many headers are 422s."""
    bodies: list[dict[str, Any]] = [
        {"endpoint_url": "ftp://x", "event_types": ["bills.paid"]},
        {"endpoint_url": WEBHOOK_URL, "event_types": ["bills.exploded"]},
        {"endpoint_url": WEBHOOK_URL, "event_types": []},
        {
            "endpoint_url": WEBHOOK_URL,
            "event_types": ["bills.paid"],
            "additional_headers": {"X-Forwarded-For": "1.2.3.4"},
        },
        {
            "endpoint_url": WEBHOOK_URL,
            "event_types": ["bills.paid"],
            "additional_headers": {f"X-H{n}": "v" for n in range(6)},
        },
    ]
    for body in bodies:
        response = await client.post(HOOKS, json=body, headers=bearer(token))
        assert response.status_code == 422, body


async def test_additional_headers_are_sent(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """additional_headers ride along on every delivery."""
    await client.post(
        HOOKS,
        json={
            "endpoint_url": WEBHOOK_URL,
            "event_types": ["bills.paid"],
            "additional_headers": {"X-Tenant": "nordlys"},
        },
        headers=bearer(token),
    )
    await sandbox.webhooks.flush()
    assert receiver.received[0].headers["x-tenant"] == "nordlys"


async def test_retries_keep_the_event_id_and_body(clock: ManualClock) -> None:
    """A receiver answering 500 then 200 gets the same event twice, same id and bytes."""
    receiver = Receiver(statuses=[200, 500])  # 200 for the challenge, then 500 once
    sandbox = make_sandbox(clock, webhook_transport=receiver.transport)
    async with client_for(sandbox) as client:
        token = await fetch_token(client)
        await subscribe(client, sandbox, receiver, token, ["bills.paid"])
        sandbox.pay_bill(BILL_APPROVED)
        await sandbox.webhooks.flush()
    first, second = receiver.of_type("bills.paid")
    assert first.body == second.body
    assert first.headers["x-ramp-webhook-id"] == second.headers["x-ramp-webhook-id"]
    outcomes = [(d.attempt, d.status, d.outcome) for d in sandbox.webhooks.deliveries[1:]]
    assert outcomes == [(1, 500, "retrying"), (2, 200, "delivered")]


async def test_drop_and_duplicate_faults(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """drop_rate=1 loses events; duplicate_rate=1 delivers each twice with the same id."""
    await subscribe(client, sandbox, receiver, token, ["bills.paid", "bills.approved"])
    faults = await client.post("/_sandbox/webhook-faults", json={"drop_rate": 1.0})
    assert faults.json()["drop_rate"] == 1.0
    sandbox.pay_bill(BILL_APPROVED)
    await sandbox.webhooks.flush()
    assert _events(receiver) == []
    assert sandbox.webhooks.deliveries[-1].outcome == "dropped"
    await client.post("/_sandbox/webhook-faults", json={"drop_rate": 0.0, "duplicate_rate": 1.0})
    sandbox.approve_bill(BILL_PENDING)
    await client.post("/_sandbox/webhooks/flush")
    first, second = _events(receiver)
    assert first == second
    assert first["type"] == "bills.approved"


async def test_reorder_fault_shuffles_delivery(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """With reorder on, due events go out shuffled; none is lost."""
    await subscribe(client, sandbox, receiver, token, ["bills.created"])
    sandbox.webhooks.faults.reorder = True
    created = [
        sandbox.create_bill(
            vendor_id=VENDOR_A, invoice_number=f"R-{n}", lines=[{"amount_minor": 100 + n}]
        )["id"]
        for n in range(8)
    ]
    await sandbox.webhooks.flush()
    delivered = [e["object"]["id"] for e in _events(receiver)]
    assert sorted(delivered) == sorted(created)
    assert delivered != created


async def test_control_state_shows_subscriptions_and_deliveries(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """/_sandbox/state lists subscriptions (without secrets), events and deliveries."""
    created = await subscribe(client, sandbox, receiver, token, ["bills.paid"])
    sandbox.pay_bill(BILL_APPROVED)
    await sandbox.webhooks.flush()
    state = (await client.get("/_sandbox/state")).json()
    assert state["webhook_subscriptions"][0]["status"] == "active"
    assert created["secret"] not in json.dumps(state)
    assert state["events"][-1]["type"] == "bills.paid"
    assert state["webhook_deliveries"][-1]["outcome"] == "delivered"
    deliveries = (await client.get("/_sandbox/webhooks/deliveries")).json()
    assert deliveries == state["webhook_deliveries"]


async def test_state_keeps_subscriptions_without_leaking_the_secret(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """Subscriptions live in sb.state; its repr never shows a secret; reset forgets them."""
    created = await subscribe(client, sandbox, receiver, token, ["bills.paid"])
    assert list(sandbox.state.subscriptions) == [created["id"]]
    assert created["secret"] not in repr(sandbox.state)
    sandbox.reset()
    assert sandbox.state.subscriptions == {}
    assert (await client.get(HOOKS, headers=bearer(token))).json() == []
