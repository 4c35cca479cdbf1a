"""Receiver security: every bad request is refused and logged, and nothing is processed twice."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from integration.webhooks.webhook_kit import (
    OTHER_SECRET,
    RAMP_SECRET,
    TTL_S,
    VISMA_SECRET,
    Receiving,
    ramp_event,
    visma_event,
)
from ml_connector.audit import AuditKind
from ml_connector.runtime.webhook_secrets import add_webhook_secret, remove_webhook_secrets
from ml_connector.store import UNKNOWN_SCOPE, EventSource, EventStatus, SyncStatus
from ml_connector.web.signatures import ramp_signature

BILL_EVENT = ramp_event("evt_1", "bills.approved", "bill_1")


async def _nothing_stored(rx: Receiving) -> None:
    """No inbox event, no sync record and no audit entry for acme."""
    acme = rx.connections["acme"].id
    assert await rx.runtime.store.list_events(acme) == []
    assert await rx.runtime.store.list_records(acme) == []
    assert await rx.runtime.store.list_audit(acme) == []
    assert rx.wakes == []


async def test_signed_bill_event_is_stored_queued_and_wakes_the_worker(rx: Receiving) -> None:
    """A correctly signed bill event: 200, one processed event, one pending record, one wake."""
    response = await rx.post_ramp(BILL_EVENT)
    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "event_id": "evt_1"}
    acme = rx.connections["acme"].id
    [event] = await rx.runtime.store.list_events(acme)
    assert (event.source, event.event_id, event.type) == (
        EventSource.RAMP,
        "evt_1",
        "bills.approved",
    )
    assert event.status is EventStatus.PROCESSED
    record = await rx.runtime.store.find_record(acme, "bill", "bill_1")
    assert record is not None
    assert (record.status, record.reason) == (SyncStatus.PENDING, "webhook bills.approved")
    [audit] = await rx.runtime.store.list_audit(acme)
    assert (audit.kind, audit.record_id) == (AuditKind.EVENT_RECEIVED, record.id)
    assert audit.data["event_id"] == "evt_1"
    assert rx.wakes == [1]
    assert await rx.runtime.store.list_rejections() == []


async def test_wrong_signature_is_refused(rx: Receiving) -> None:
    """A signature made with an unknown secret: 401, a rejection row, nothing stored."""
    response = await rx.post_ramp(BILL_EVENT, secret="whsec_guessed_by_an_attacker")
    assert response.status_code == 401
    [rejection] = await rx.runtime.store.list_rejections("acme")
    assert (rejection.http_status, rejection.source) == (401, EventSource.RAMP)
    assert "does not match" in rejection.reason
    assert rejection.body_sha256 == hashlib.sha256(BILL_EVENT).hexdigest()
    assert rejection.body_size == len(BILL_EVENT)
    assert rejection.excerpt is None
    await _nothing_stored(rx)


async def test_missing_signature_is_refused(rx: Receiving) -> None:
    """No signature header at all: 401 and a rejection row."""
    response = await rx.post("ramp", BILL_EVENT)
    assert response.status_code == 401
    [rejection] = await rx.runtime.store.list_rejections("acme")
    assert "missing signature header" in rejection.reason
    await _nothing_stored(rx)


async def test_another_connections_secret_is_refused(rx: Receiving) -> None:
    """Signed with connection ``other``'s secret: valid there, refused at acme's endpoint."""
    refused = await rx.post_ramp(BILL_EVENT, secret=OTHER_SECRET, name="acme")
    assert refused.status_code == 401
    await _nothing_stored(rx)
    accepted = await rx.post_ramp(BILL_EVENT, secret=OTHER_SECRET, name="other")
    assert accepted.status_code == 200
    other = rx.connections["other"].id
    assert [e.event_id for e in await rx.runtime.store.list_events(other)] == ["evt_1"]


async def test_rotation_accepts_both_secrets_then_only_the_new_one(rx: Receiving) -> None:
    """A new secret verifies at once; both verify during the rotation; a removed one is refused
    once the cache TTL has passed."""
    store, acme = rx.runtime.store, rx.connections["acme"]
    new_secret = "whsec_acme_rotated_8e21aa90"

    async def status(event_id: str, secret: str) -> int:
        response = await rx.post_ramp(ramp_event(event_id, "bills.created"), secret=secret)
        return int(response.status_code)

    assert await status("e_before", RAMP_SECRET) == 200  # the old secret set is now cached
    await add_webhook_secret(rx.runtime, acme, EventSource.RAMP, new_secret, subscription_id="b")
    assert await status("e_new", new_secret) == 200
    assert await status("e_old", RAMP_SECRET) == 200
    assert await remove_webhook_secrets(rx.runtime, acme, EventSource.RAMP, subscription_id="sub_a")
    assert await status("e_cached", RAMP_SECRET) == 200  # honoured for at most the cache TTL
    rx.clock.advance(TTL_S)
    assert await status("e_stale", RAMP_SECRET) == 401
    assert await status("e_next", new_secret) == 200
    stored = {e.event_id for e in await store.list_events(acme.id)}
    assert stored == {"e_before", "e_new", "e_old", "e_cached", "e_next"}
    assert [r.http_status for r in await store.list_rejections("acme")] == [401]


async def test_tampered_body_is_refused(rx: Receiving) -> None:
    """A body changed after signing (another bill id) fails verification."""
    signature = ramp_signature(RAMP_SECRET, BILL_EVENT)
    tampered = BILL_EVENT.replace(b"bill_1", b"bill_9")
    response = await rx.post("ramp", tampered, headers={"X-Ramp-Signature": signature})
    assert response.status_code == 401
    [rejection] = await rx.runtime.store.list_rejections("acme")
    assert rejection.body_sha256 == hashlib.sha256(tampered).hexdigest()
    await _nothing_stored(rx)


async def test_empty_body_is_refused(rx: Receiving) -> None:
    """An empty body: 401 unsigned; 400 when signed (it is not a JSON object)."""
    assert (await rx.post("ramp", b"")).status_code == 401
    signed = await rx.post_ramp(b"")
    assert signed.status_code == 400
    rejections = await rx.runtime.store.list_rejections("acme")
    assert [(r.http_status, r.body_size, r.body_sha256) for r in rejections] == [
        (400, 0, None),
        (401, 0, None),
    ]
    await _nothing_stored(rx)


async def test_ten_megabyte_body_is_refused_unread(rx: Receiving) -> None:
    """A 10 MB body gets 413 from its declared length; its bytes are never hashed or kept."""
    huge = b'{"id":"evt_big","type":"bills.approved","pad":"' + b"x" * 10_000_000 + b'"}'
    response = await rx.post_ramp(huge)
    assert response.status_code == 413
    [rejection] = await rx.runtime.store.list_rejections("acme")
    assert (rejection.http_status, rejection.body_size) == (413, len(huge))
    assert (rejection.body_sha256, rejection.excerpt) == (None, None)
    await _nothing_stored(rx)


async def test_non_json_body_is_refused_with_a_short_excerpt(rx: Receiving) -> None:
    """A signed body that is not JSON: 400, logged with a short, scrubbed excerpt."""
    body = b"event=bills.approved&id=evt_1&secret=" + RAMP_SECRET.encode() + b"&" + b"z" * 500
    response = await rx.post_ramp(body)
    assert response.status_code == 400
    [rejection] = await rx.runtime.store.list_rejections("acme")
    assert rejection.reason == "the body is not valid JSON"
    assert rejection.excerpt is not None
    assert rejection.excerpt.startswith("event=bills.approved&id=evt_1&secret=")
    assert RAMP_SECRET not in rejection.excerpt
    assert len(rejection.excerpt) <= 120
    await _nothing_stored(rx)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_wrong_content_type_is_refused(rx: Receiving, content_type: str | None) -> None:
    """Anything but application/json gets 415, even when correctly signed."""
    headers = {"X-Ramp-Signature": ramp_signature(RAMP_SECRET, BILL_EVENT)}
    response = await rx.post("ramp", BILL_EVENT, headers=headers, content_type=content_type)
    assert response.status_code == 415
    [rejection] = await rx.runtime.store.list_rejections("acme")
    assert rejection.http_status == 415
    await _nothing_stored(rx)


async def test_json_with_charset_is_accepted(rx: Receiving) -> None:
    """``application/json; charset=utf-8`` is JSON too."""
    response = await rx.post_ramp(BILL_EVENT, content_type="application/json; charset=utf-8")
    assert response.status_code == 200


async def test_replayed_event_id_is_processed_once(rx: Receiving) -> None:
    """The same event five times: one event row, one record, one audit entry, one wake."""
    responses = [await rx.post_ramp(BILL_EVENT) for _ in range(5)]
    assert [r.json()["status"] for r in responses] == ["accepted"] + ["duplicate"] * 4
    acme = rx.connections["acme"].id
    assert len(await rx.runtime.store.list_events(acme)) == 1
    [record] = await rx.runtime.store.list_records(acme)
    assert record.object_id == "bill_1"
    assert len(await rx.runtime.store.list_attempts(record.id)) == 0
    assert len(await rx.runtime.store.list_audit(acme)) == 1
    assert rx.wakes == [1]


async def test_replayed_id_with_a_new_body_changes_nothing(rx: Receiving) -> None:
    """A second body under a known event id (even correctly signed) is only a duplicate."""
    await rx.post_ramp(BILL_EVENT)
    other_bill = ramp_event("evt_1", "bills.approved", "bill_2")
    assert (await rx.post_ramp(other_bill)).json()["status"] == "duplicate"
    acme = rx.connections["acme"].id
    assert [r.object_id for r in await rx.runtime.store.list_records(acme)] == ["bill_1"]


async def test_unknown_connection_is_refused(rx: Receiving) -> None:
    """A connection name nobody configured: 404, no row of its own, counted in one tally."""
    response = await rx.post_ramp(BILL_EVENT, name="nobody")
    assert response.status_code == 404
    assert await rx.runtime.store.list_rejections() == []
    assert rx.receiver is not None
    await rx.receiver.rejections.flush()
    [tally] = await rx.runtime.store.list_rejection_tallies()
    assert (tally.scope, tally.source, tally.http_status, tally.count) == (
        UNKNOWN_SCOPE,
        "ramp",
        404,
        1,
    )


async def test_visma_signature_rules(rx: Receiving) -> None:
    """Visma: base64 under the Visma secret passes; Ramp's secret or hex encoding does not."""
    body = visma_event("v-1", "Supplier.Updated")
    assert (await rx.post_visma(body, secret=RAMP_SECRET)).status_code == 401
    hex_signed = {"x-vwd-signature-v1": ramp_signature(VISMA_SECRET, body)}
    assert (await rx.post("visma", body, headers=hex_signed)).status_code == 401
    ramp_header = {"X-Ramp-Signature": ramp_signature(VISMA_SECRET, body)}
    assert (await rx.post("visma", body, headers=ramp_header)).status_code == 401
    assert (await rx.post_visma(body)).status_code == 200
    rejections = await rx.runtime.store.list_rejections("acme", source=EventSource.VISMA)
    assert [r.http_status for r in rejections] == [401, 401, 401]


async def test_rejections_hold_no_secret_or_signature(rx: Receiving) -> None:
    """Whatever was refused, no rejection row carries a secret or a signature value."""
    sent = [
        ramp_signature("whsec_wrong_0000", BILL_EVENT),
        ramp_signature(RAMP_SECRET, b"not json"),
    ]
    await rx.post_ramp(BILL_EVENT, secret="whsec_wrong_0000")
    await rx.post_ramp(b"not json")
    await rx.post_visma(b"{]", secret=RAMP_SECRET)
    rows = await rx.runtime.store.list_rejections()
    assert len(rows) == 3
    text = " ".join(f"{r.reason} {r.excerpt} {r.body_sha256} {r.connection}" for r in rows)
    for secret in (RAMP_SECRET, VISMA_SECRET, OTHER_SECRET, "whsec_wrong_0000", *sent):
        assert secret not in text


async def test_streamed_body_over_the_limit_is_refused(rx: Receiving) -> None:
    """A body sent in chunks with no declared length is cut off once it passes 1 MiB: 413."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65_536

    headers = {"content-type": "application/json", "X-Ramp-Signature": "00"}
    response = await rx.client.post("/webhooks/ramp/acme", content=chunks(), headers=headers)
    assert response.status_code == 413
    [rejection] = await rx.runtime.store.list_rejections("acme")
    assert rejection.http_status == 413
    await _nothing_stored(rx)


async def test_other_methods_and_paths_are_not_receivers(rx: Receiving) -> None:
    """GET on a receiver is 405 (Allow: POST); an unknown source is 404; neither is logged."""
    refused = await rx.client.get("/webhooks/ramp/acme")
    assert (refused.status_code, refused.headers["allow"]) == (405, "POST")
    assert (await rx.post("slack", BILL_EVENT)).status_code == 404
    assert (await rx.post("ramp", BILL_EVENT, name="acme/extra")).status_code == 404
    assert await rx.runtime.store.list_rejections() == []
    await _nothing_stored(rx)


async def test_receiver_mounted_as_starlette_routes(rx: Receiving) -> None:
    """The same receiver as plain Starlette endpoints: stored, duplicate, refused alike."""
    assert rx.receiver is not None
    app = Starlette(routes=[Route("/hooks/{connection}", rx.receiver.ramp, methods=["POST"])])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as client:
        signed = {"content-type": "application/json"}
        signed["X-Ramp-Signature"] = ramp_signature(RAMP_SECRET, BILL_EVENT)
        first = await client.post("/hooks/acme", content=BILL_EVENT, headers=signed)
        again = await client.post("/hooks/acme", content=BILL_EVENT, headers=signed)
        forged = {**signed, "X-Ramp-Signature": ramp_signature("whsec_wrong_1111", BILL_EVENT)}
        refused = await client.post("/hooks/acme", content=BILL_EVENT, headers=forged)
    assert [first.json()["status"], again.json()["status"]] == ["accepted", "duplicate"]
    assert refused.status_code == 401
    acme = rx.connections["acme"].id
    assert [e.event_id for e in await rx.runtime.store.list_events(acme)] == ["evt_1"]
    assert [r.http_status for r in await rx.runtime.store.list_rejections("acme")] == [401]
