"""The /_sandbox control API, the demo seed, resets, settings and the app lifespan."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from integration.sandbox_ramp.ramp_kit import (
    BILL_APPROVED,
    BILL_PENDING,
    VENDOR_A,
    ManualClock,
    Receiver,
    bearer,
    client_for,
    fetch_token,
    make_sandbox,
    subscribe,
)
from ml_connector.sandbox import seed
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import demo_dataset


async def test_control_bill_lifecycle(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """Create, approve, edit, pay a bill over HTTP; the public API sees each step."""
    created = await client.post(
        "/_sandbox/bills",
        json={
            "vendor_id": VENDOR_A,
            "invoice_number": "CTL-1",
            "issued_at": "2026-03-02",
            "approval_status": "PENDING",
            "lines": [
                {"amount_minor": 9900, "gl_account": "6540", "department": "10", "vat_code": "1"}
            ],
        },
    )
    assert created.status_code == 201, created.text
    bill = created.json()
    assert bill["approval_status"] == "PENDING"
    assert bill["due_at"] == "2026-04-01T00:00:00+00:00"  # 30 days by default
    assert bill["invoice_urls"][0].startswith("http://files.ramp.test/files/")
    bill_id = bill["id"]
    for action in ("approve", "pay"):
        assert (await client.post(f"/_sandbox/bills/{bill_id}/{action}")).status_code == 200
    edited = await client.patch(f"/_sandbox/bills/{bill_id}", json={"memo": "Late fee"})
    assert edited.json()["memo"] == "Late fee"
    seen = (await client.get(f"/developer/v1/bills/{bill_id}", headers=bearer(token))).json()
    assert (seen["approval_status"], seen["status"]) == ("APPROVED", "PAID")
    refused = await client.post(f"/_sandbox/bills/{bill_id}/archive")
    assert refused.status_code == 400


async def test_control_rejects_bad_input(client: httpx.AsyncClient) -> None:
    """Unknown fields, unknown ids and bad dates are answered as errors, not crashes."""
    unknown_field = await client.post("/_sandbox/vendors", json={"name": "X", "colour": "red"})
    unknown_bill = await client.post("/_sandbox/bills/nope/approve")
    bad_date = await client.post(
        "/_sandbox/bills",
        json={"vendor_id": VENDOR_A, "invoice_number": "D", "lines": [], "due_at": "soon"},
    )
    bad_line = await client.post(
        "/_sandbox/bills",
        json={"vendor_id": VENDOR_A, "invoice_number": "D", "lines": [{"amount": "1"}]},
    )
    assert unknown_field.status_code == 422
    assert unknown_bill.status_code == 404
    assert bad_date.status_code == 422
    assert bad_line.status_code == 422


async def test_control_vendor_and_purchase_order(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """Vendors and POs created through the control API appear in the public API."""
    vendor = (
        await client.post(
            "/_sandbox/vendors",
            json={"name": "Fjell IT AS", "org_number": "911222333", "currency": "NOK"},
        )
    ).json()
    order = await client.post(
        "/_sandbox/purchase-orders",
        json={
            "vendor_id": vendor["id"],
            "number": "PO-77",
            "promise_date": "2026-05-01",
            "lines": [{"amount_minor": 250000, "gl_account": "6551", "project": "P-100"}],
        },
    )
    assert order.status_code == 201
    order_id = order.json()["id"]
    await client.patch(f"/_sandbox/purchase-orders/{order_id}", json={"memo": "Laptops"})
    seen = (
        await client.get(f"/developer/v1/purchase-orders/{order_id}", headers=bearer(token))
    ).json()
    assert seen["memo"] == "Laptops"
    assert seen["amount"] == {"amount": 250000, "currency_code": "NOK"}
    archived = await client.post(f"/_sandbox/purchase-orders/{order_id}/archive", json={})
    assert archived.json()["archived_at"] is not None
    listed = await client.get("/developer/v1/purchase-orders", headers=bearer(token))
    assert order_id not in {o["id"] for o in listed.json()["data"]}
    with_archived = await client.get(
        "/developer/v1/purchase-orders", params={"include_archived": "true"}, headers=bearer(token)
    )
    assert order_id in {o["id"] for o in with_archived.json()["data"]}
    detail = await client.get(f"/developer/v1/vendors/{vendor['id']}", headers=bearer(token))
    labels = detail.json()["custom_form_collection_response"]["custom_form_collection_log_entry"]
    assert labels["forms"][0]["fields"][0]["label"] == seed.FORM_ORG_NUMBER


async def test_state_summary_and_objects(client: httpx.AsyncClient, sandbox: RampSandbox) -> None:
    """GET /_sandbox/state counts objects; objects=false leaves the object lists out."""
    full = (await client.get("/_sandbox/state")).json()
    summary = (await client.get("/_sandbox/state", params={"objects": "false"})).json()
    assert full["counts"]["bills"] == 4
    assert full["counts"]["bills_sync_ready"] == 3
    assert {b["id"]: b["sync_ready"] for b in full["bills"]}[BILL_PENDING] is False
    assert "bills" not in summary
    assert summary["active_connection"]["remote_provider_name"] == "Visma.net ERP"


async def test_reset_to_empty_and_demo(client: httpx.AsyncClient, sandbox: RampSandbox) -> None:
    """POST /_sandbox/reset reloads a seed; the demo company loads whole."""
    empty = (await client.post("/_sandbox/reset", json={"seed": "empty"})).json()
    assert empty["counts"]["bills"] == 0
    assert empty["active_connection"] is None
    demo = demo_dataset()
    sandbox.reset(demo)
    assert len(sandbox.state.bills) == len(demo.bills)
    assert len(sandbox.state.vendors) == len(demo.vendors)
    assert sandbox.state.active_connection() is not None
    bad = await client.post("/_sandbox/reset", json={"seed": "huge"})
    assert bad.status_code == 422


async def test_demo_bills_render_and_page(clock: ManualClock) -> None:
    """Every demo bill renders through the public API and a full walk sees them all."""
    sandbox = make_sandbox(clock, dataset=demo_dataset())
    async with client_for(sandbox) as client:
        token = await fetch_token(client)
        seen: list[dict[str, Any]] = []
        url: str | None = "/developer/v1/bills?page_size=100"
        while url:
            page = (await client.get(url, headers=bearer(token))).json()
            seen += page["data"]
            url = page["page"]["next"]
    assert len(seen) == len(sandbox.state.bills)
    fields = {
        s["category_info"]["external_id"]
        for b in seen
        for line in b["line_items"]
        for s in line["accounting_field_selections"]
    }
    assert seed.FIELD_GL_ACCOUNT in fields


async def test_settings_sync_on_creation(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """With sync-on-creation on, a pending bill counts as sync_ready."""
    answer = await client.post("/_sandbox/settings", json={"sync_on_creation": True})
    assert answer.json()["sync_on_creation"] is True
    ready = await client.get(
        "/developer/v1/bills", params={"sync_ready": "true"}, headers=bearer(token)
    )
    assert BILL_PENDING in {b["id"] for b in ready.json()["data"]}
    assert (await client.post("/_sandbox/settings", json={"speed": 9})).status_code == 422


async def test_required_fields_gate_sync_ready(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """A field required for bills keeps uncoded bills out of sync_ready."""
    await client.post(
        "/developer/v1/accounting/fields",
        json={
            "id": "region",
            "name": "Region",
            "input_type": "SINGLE_CHOICE",
            "is_required_for": ["BILL"],
        },
        headers=bearer(token),
    )
    ready = await client.get(
        "/developer/v1/bills", params={"sync_ready": "true"}, headers=bearer(token)
    )
    assert ready.json()["data"] == []
    assert sandbox.state.missing_required_fields(sandbox.state.bills[BILL_APPROVED]) == ["region"]


async def test_lifespan_runs_the_delivery_loop(clock: ManualClock) -> None:
    """Served through its lifespan, the app delivers webhooks without explicit flushes."""
    receiver = Receiver()
    sandbox = make_sandbox(clock, webhook_transport=receiver.transport)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: list[dict[str, Any]] = []
    await inbox.put({"type": "lifespan.startup"})

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        outbox.append(message)

    served = asyncio.create_task(sandbox.app({"type": "lifespan"}, receive, send))  # type: ignore[arg-type]
    async with client_for(sandbox) as client:
        token = await fetch_token(client)
        await client.post(
            "/developer/v1/webhooks",
            json={"endpoint_url": "http://receiver.test/hooks/ramp", "event_types": ["bills.paid"]},
            headers=bearer(token),
        )
        for _ in range(200):
            if receiver.received:
                break
            await asyncio.sleep(0.005)
    await inbox.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(served, timeout=2)
    assert [m["type"] for m in outbox] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert receiver.of_type("webhooks.verification")


async def test_subscribe_helper_round_trip(
    client: httpx.AsyncClient, sandbox: RampSandbox, receiver: Receiver, token: str
) -> None:
    """The control flush endpoint delivers the verification challenge too."""
    created = await subscribe(client, sandbox, receiver, token, ["bills.paid"], verify=False)
    await client.post("/_sandbox/webhooks/flush")
    assert created["status"] == "pending_verification"
    assert len(receiver.of_type("webhooks.verification")) == 1
