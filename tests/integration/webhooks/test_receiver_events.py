"""What each event type becomes, Ramp's challenge, and the sweep of interrupted events."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from integration.webhooks.webhook_kit import Receiving, ramp_event, visma_event
from ml_connector.runtime.webhooks import Disposition, apply_event, dispose, sweep_events
from ml_connector.sandbox.serve import start_server
from ml_connector.store import EventSource, EventStatus, SyncStatus
from ml_connector.web.app import create_app
from ml_connector.web.signatures import ramp_signature, visma_signature


@pytest.mark.parametrize(
    ("source", "event_type", "expected"),
    [
        (EventSource.RAMP, "bills.approved", Disposition(EventStatus.PROCESSED, "bill")),
        (EventSource.RAMP, "bills.archived", Disposition(EventStatus.PROCESSED, "bill")),
        (EventSource.RAMP, "webhooks.verification", Disposition(EventStatus.RECEIVED)),
        (
            EventSource.RAMP,
            "purchase_orders.updated",
            Disposition(EventStatus.PROCESSED, "purchase_order"),
        ),
        (EventSource.RAMP, "transactions.cleared", Disposition(EventStatus.IGNORED)),
        (EventSource.RAMP, "billsX.approved", Disposition(EventStatus.IGNORED)),
        (EventSource.VISMA, "Supplier.Updated", Disposition(EventStatus.PROCESSED)),
        (EventSource.VISMA, "Segment.ValueChanged", Disposition(EventStatus.PROCESSED)),
        (EventSource.VISMA, "Project.Changed", Disposition(EventStatus.PROCESSED)),
        (EventSource.VISMA, "APInvoice.StatusChanged", Disposition(EventStatus.RECEIVED)),
        (EventSource.VISMA, "Customer.Changed", Disposition(EventStatus.IGNORED)),
    ],
)
def test_dispositions(source: EventSource, event_type: str, expected: Disposition) -> None:
    """Each event type's fate, as the table in runtime/webhooks.py states it."""
    assert dispose(source, event_type) == expected


async def test_ramp_event_types_end_in_the_right_state(rx: Receiving) -> None:
    """Bills and purchase orders queue work; other types are stored and ignored."""
    posts = [
        ramp_event("e1", "bills.created", "bill_1"),
        ramp_event("e2", "purchase_orders.created", "po_1"),
        ramp_event("e3", "transactions.cleared", "tx_1"),
        ramp_event("e4", "bills.paid", None),
    ]
    for body in posts:
        assert (await rx.post_ramp(body)).status_code == 200
    acme = rx.connections["acme"].id
    states = {e.event_id: e.status for e in await rx.runtime.store.list_events(acme)}
    assert states == {
        "e1": EventStatus.PROCESSED,
        "e2": EventStatus.PROCESSED,
        "e3": EventStatus.IGNORED,
        "e4": EventStatus.IGNORED,  # a bill event without an object id names nothing to sync
    }
    assert {(r.object_type, r.object_id) for r in await rx.runtime.store.list_records(acme)} == {
        ("bill", "bill_1"),
        ("purchase_order", "po_1"),
    }
    assert rx.wakes == [1, 1]


async def test_bill_event_requeues_a_finished_record(rx: Receiving) -> None:
    """A bill event for a bill already synced puts its record back to pending (it may have
    changed)."""
    store, acme = rx.runtime.store, rx.connections["acme"].id
    await store.upsert_record(acme, "bill", "bill_1", reason="poll")
    [claimed] = await store.claim_due("w1", limit=1, lease_s=60)
    await store.complete(claimed.id, "w1", visma_ref="Invoice/1")
    await rx.post_ramp(ramp_event("e_upd", "bills.updated", "bill_1"))
    record = await store.get_record(claimed.id)
    assert (record.status, record.reason) == (SyncStatus.PENDING, "webhook bills.updated")


async def test_event_id_comes_from_the_signed_body_only(rx: Receiving) -> None:
    """X-Ramp-Webhook-ID is not signed, so it never names an event: the body's id does, and a
    body without one is keyed on the digest of its signed bytes."""
    body = ramp_event("evt_body", "bills.approved", "bill_1")
    ok = await rx.post_ramp(body, headers={"X-Ramp-Webhook-ID": "evt_other"})
    assert ok.json() == {"status": "accepted", "event_id": "evt_body"}
    no_id = json.dumps({"type": "bills.approved", "object": {"id": "bill_2"}}).encode()
    keyed = await rx.post_ramp(no_id, headers={"X-Ramp-Webhook-ID": "evt_hdr"})
    digest = f"sha256:{hashlib.sha256(no_id).hexdigest()}"
    assert keyed.json() == {"status": "accepted", "event_id": digest}
    again = await rx.post_ramp(no_id, headers={"X-Ramp-Webhook-ID": "evt_fresh"})
    assert again.json() == {"status": "duplicate", "event_id": digest}
    ids = {e.event_id for e in await rx.runtime.store.list_events(rx.connections["acme"].id)}
    assert ids == {"evt_body", digest}
    assert await rx.runtime.store.list_rejections() == []


async def test_unsigned_challenge_is_refused_outside_registration(rx: Receiving) -> None:
    """A verification event that does not verify is refused when no registration waits."""
    body = json.dumps({"type": "webhooks.verification", "challenge": "c-1"}).encode()
    response = await rx.post("ramp", body, headers={"X-Ramp-Signature": "00" * 32})
    assert response.status_code == 401
    assert await rx.runtime.store.list_events(rx.connections["acme"].id) == []


async def test_challenge_is_accepted_while_registration_waits(rx: Receiving) -> None:
    """During a registration window the challenge is stored even before its secret is known."""
    store, acme = rx.runtime.store, rx.connections["acme"]
    until = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    await store.update_connection_settings(
        acme.id, {"webhooks": {"ramp_verification_until": until}}
    )
    body = json.dumps({"type": "webhooks.verification", "challenge": "c-2"}).encode()
    signature = ramp_signature("whsec_not_stored_yet_123", body)
    first = await rx.post("ramp", body, headers={"X-Ramp-Signature": signature})
    again = await rx.post("ramp", body, headers={"X-Ramp-Signature": signature})
    assert [first.json()["status"], again.json()["status"]] == ["accepted", "duplicate"]
    [event] = await store.list_events(acme.id)
    assert (event.type, event.status) == ("webhooks.verification", EventStatus.RECEIVED)
    assert event.event_id.startswith("verification:")
    assert event.payload["challenge"] == "c-2"
    other = json.dumps({"id": "e9", "type": "bills.approved", "object": {"id": "b"}}).encode()
    forged = await rx.post("ramp", other, headers={"X-Ramp-Signature": signature})
    assert forged.status_code == 401  # the window admits challenges only


async def test_visma_events(rx: Receiving) -> None:
    """Visma: chart and supplier changes are processed, AP invoice changes wait, others ignored."""
    for event_id, event_type in [
        ("v1", "Supplier.Updated"),
        ("v2", "Account.Created"),
        ("v3", "APInvoice.StatusChanged"),
        ("v4", "Customer.Changed"),
    ]:
        assert (await rx.post_visma(visma_event(event_id, event_type))).status_code == 200
    acme = rx.connections["acme"].id
    events = {e.event_id: e for e in await rx.runtime.store.list_events(acme)}
    assert {k: e.status for k, e in events.items()} == {
        "v1": EventStatus.PROCESSED,
        "v2": EventStatus.PROCESSED,
        "v3": EventStatus.RECEIVED,
        "v4": EventStatus.IGNORED,
    }
    assert events["v1"].object_id == "50010"
    assert events["v1"].source is EventSource.VISMA
    assert await rx.runtime.store.list_records(acme) == []


async def test_visma_event_without_id_is_keyed_on_its_signed_bytes(rx: Receiving) -> None:
    """Without eventId in the body, the event is keyed on the digest of the signed bytes; the
    dispatcher's x-vwd-event-id is not signed and is ignored."""
    body = json.dumps({"entity": "Project", "action": "Changed", "entityId": "P1"}).encode()
    headers = {"x-vwd-signature-v1": visma_signature("vwd_acme_visma_61a0f3c4d2", body)}
    response = await rx.post("visma", body, headers={**headers, "x-vwd-event-id": "vwd-1"})
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    assert response.json() == {"status": "accepted", "event_id": digest}
    [event] = await rx.runtime.store.list_events(rx.connections["acme"].id)
    assert (event.event_id, event.type, event.object_id) == (digest, "Project.Changed", "P1")


async def test_sweep_applies_events_a_crash_left_behind(rx: Receiving) -> None:
    """Events stored but never applied are applied by the sweep; waiting ones stay waiting."""
    store, acme = rx.runtime.store, rx.connections["acme"].id
    old = datetime.now(UTC) - timedelta(minutes=5)
    stuck = await store.insert_event(acme, EventSource.RAMP, "s1", "bills.approved", "b9", {},
                                     now=old)  # fmt: skip
    await store.insert_event(acme, EventSource.RAMP, "s2", "purchase_orders.created", "p", {},
                             now=old)  # fmt: skip
    await store.insert_event(acme, EventSource.RAMP, "s3", "tests.test_event", None, {}, now=old)
    await store.insert_event(acme, EventSource.RAMP, "s4", "bills.approved", "b10", {})  # fresh
    assert await sweep_events(store, older_than_s=60, batch=2) == 3
    states = {e.event_id: e.status for e in await store.list_events(acme)}
    assert states == {
        "s1": EventStatus.PROCESSED,
        "s2": EventStatus.PROCESSED,
        "s3": EventStatus.IGNORED,
        "s4": EventStatus.RECEIVED,
    }
    assert sorted(r.object_id for r in await store.list_records(acme)) == ["b9", "p"]
    again = await apply_event(store, await store.get_event(stuck.event.id))
    assert again.status is EventStatus.PROCESSED  # applying twice is harmless
    assert len(await store.list_records(acme)) == 2


async def test_health_probes(rx: Receiving) -> None:
    """/healthz answers; /readyz answers ready while the store does."""
    assert (await rx.client.get("/healthz")).json() == {"status": "ok"}
    ready = await rx.client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_app_sweeper_applies_and_prunes_in_the_background(rx: Receiving) -> None:
    """Served, the app's sweeper applies a stuck event and prunes what is past retention."""
    store, acme = rx.runtime.store, rx.connections["acme"].id
    long_ago = datetime.now(UTC) - timedelta(days=10)
    old = await store.insert_event(acme, EventSource.RAMP, "old", "bills.paid", "b0", {},
                                   now=long_ago)  # fmt: skip
    await store.mark_event(old.event.id, EventStatus.PROCESSED)
    await store.insert_rejection("acme", EventSource.RAMP, http_status=401, reason="r",
                                 body_size=0, body_sha256=None, now=long_ago)  # fmt: skip
    stuck = await store.insert_event(acme, EventSource.RAMP, "stuck", "bills.approved", "b1", {})
    app = create_app(rx.runtime, sweep_interval_s=0.05, sweep_after_s=0.0, retention_days=1)
    server = await start_server(app)
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while (await store.get_event(stuck.event.id)).status is EventStatus.RECEIVED:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
    finally:
        await server.stop()
    assert [e.event_id for e in await store.list_events(acme)] == ["stuck"]
    assert await store.list_rejections() == []
    assert [r.object_id for r in await store.list_records(acme)] == ["b1"]


@pytest.mark.parametrize(
    ("body", "event_type", "object_id"),
    [
        (b"{}", "notification", None),
        (b'{"entity": "Supplier"}', "Supplier", None),
        (b'{"eventType": "Supplier.Updated"}', "Supplier.Updated", None),
        (b'{"action": "Changed", "entityId": "50010"}', "notification", "50010"),
        (b'{"resourceUri": "https://x.test/v1/supplier/50011"}', "notification", "50011"),
        (b'{"eventId": 4711, "entity": "Account", "action": "Created"}', "Account.Created", None),
        (b"[1, 2, 3]", "notification", None),
        (b"not json at all", "notification", None),
        (b'{"eventType": "' + b"x" * 300 + b'"}', "notification", None),
    ],
)
async def test_any_signed_visma_notification_is_a_hint(
    rx: Receiving, body: bytes, event_type: str, object_id: str | None
) -> None:
    """Visma does not document its body: any signed notification is accepted and kept as a hint
    to poll (a chart entity or an unnamed one stamps the poll hint), never refused for its
    shape."""
    response = await rx.post_visma(body)
    assert response.status_code == 200, response.text
    acme = rx.connections["acme"].id
    [event] = await rx.runtime.store.list_events(acme)
    assert (event.type, event.object_id) == (event_type, object_id)
    assert event.status is EventStatus.PROCESSED
    assert event.event_id == (
        "4711" if b"4711" in body else f"sha256:{hashlib.sha256(body).hexdigest()}"
    )
    assert "chart:hint" in await rx.runtime.store.list_cursors(acme)
    assert await rx.runtime.store.list_rejections() == []


async def test_a_repeated_visma_hint_is_not_stored_again_but_asks_for_a_poll(
    rx: Receiving,
) -> None:
    """The same hint twice: one inbox row, and the poll hint is stamped again by the repeat."""
    body = json.dumps({"entity": "Supplier", "entityId": "50010"}).encode()
    acme = rx.connections["acme"].id
    assert (await rx.post_visma(body)).json()["status"] == "accepted"
    first = (await rx.runtime.store.list_cursors(acme))["chart:hint"]
    await asyncio.sleep(0.002)
    assert (await rx.post_visma(body)).json()["status"] == "duplicate"
    second = (await rx.runtime.store.list_cursors(acme))["chart:hint"]
    assert second > first
    assert len(await rx.runtime.store.list_events(acme)) == 1
    unrelated = json.dumps({"entity": "Customer", "entityId": "10001"}).encode()
    assert (await rx.post_visma(unrelated)).status_code == 200
    assert (await rx.runtime.store.list_cursors(acme))["chart:hint"] == second
