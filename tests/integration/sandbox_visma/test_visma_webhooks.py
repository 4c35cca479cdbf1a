"""Change notifications: signing, targets (portal URLs and legacy subscriptions), faults."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integration.sandbox_visma.visma_kit import (
    ManualClock,
    client_for,
    fetch_token,
    invoice_body,
    make_sandbox,
    release,
    send,
    w,
)
from ml_connector.sandbox.visma import SIGNATURE_HEADER, VismaSandbox

SECRET = "whsec-visma-test"
HOOK = "https://receiver.test/hooks/visma"


@dataclass
class Receiver:
    """An inline webhook endpoint that verifies each delivery the way a consumer must."""

    secret: str
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    rejected: int = 0

    async def endpoint(self, request: Request) -> Response:
        raw = await request.body()
        expected = base64.b64encode(
            hmac.new(self.secret.encode(), raw, hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, request.headers.get(SIGNATURE_HEADER, "")):
            self.rejected += 1
            return Response(status_code=401)
        self.received.append(json.loads(raw))
        self.headers.append(dict(request.headers))
        return Response(status_code=204)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks/{name}", self.endpoint, methods=["POST"])])


@pytest.fixture
def receiver() -> Receiver:
    """A receiver that knows the right secret."""
    return Receiver(SECRET)


@pytest.fixture
async def hooked(
    receiver: Receiver, clock: ManualClock
) -> AsyncIterator[tuple[VismaSandbox, httpx.AsyncClient, str]]:
    """A sandbox delivering to the receiver, a client and a token."""
    sandbox = make_sandbox(
        clock,
        webhook_transport=httpx.ASGITransport(app=receiver.app()),
        webhook_secret=SECRET,
        webhook_urls=[HOOK],
    )
    async with client_for(sandbox) as http:
        yield sandbox, http, await fetch_token(http)


async def test_deliveries_are_signed_base64_hmac(
    hooked: tuple[VismaSandbox, httpx.AsyncClient, str], receiver: Receiver
) -> None:
    """A supplier create reaches the receiver with a valid x-vwd-signature-v1 and x-vwd headers."""
    sandbox, http, token = hooked
    await send(http, "POST", "/v1/supplier", token, {"name": w("Signert AS")})
    await sandbox.webhooks.flush()
    assert receiver.rejected == 0
    (event,) = receiver.received
    assert (event["eventType"], event["entityId"]) == ("Supplier.Created", "50005")
    assert event["resourceUri"].endswith("/v1/supplier/50005")
    assert (event["tenantId"], event["companyId"]) == (sandbox.tenant_id, sandbox.company_id)
    headers = receiver.headers[0]
    assert headers["x-vwd-event-id"] == event["eventId"]
    assert headers["x-vwd-tenant-id"] == sandbox.tenant_id
    for name in (
        "x-vwd-notification-id",
        "x-vwd-notification-timestamp",
        "x-vwd-subscription-id",
        "x-vwd-application-id",
        "x-vwd-webhook-timestamp",
    ):
        assert headers[name]


async def test_a_wrong_secret_fails_verification(clock: ManualClock) -> None:
    """A receiver holding another secret rejects every delivery (and the sandbox logs 401)."""
    other = Receiver("not-the-secret")
    sandbox = make_sandbox(
        clock,
        webhook_transport=httpx.ASGITransport(app=other.app()),
        webhook_secret=SECRET,
        webhook_urls=[HOOK],
    )
    sandbox.add_supplier("Feil AS")
    await sandbox.webhooks.flush()
    assert other.received == []
    assert [d.status for d in sandbox.webhooks.deliveries] == [401]


async def test_each_kind_of_change_is_announced(
    hooked: tuple[VismaSandbox, httpx.AsyncClient, str], receiver: Receiver
) -> None:
    """Supplier, account, segment value, project, AP status and PO changes all notify."""
    sandbox, http, token = hooked
    sandbox.set_supplier_status("50001", "HoldPayments")
    sandbox.set_account_active("6300", False)
    sandbox.set_segment_value(1, "300", "Trondheim")
    sandbox.set_project("P100", status="OnHold")
    created = await send(http, "POST", "/v1/supplierInvoice", token, invoice_body(hold=w(False)))
    number = created.headers["location"].rsplit("/", 1)[1]
    await release(http, f"/v1/supplierInvoice/{number}/action/release", token)
    await send(http, "POST", "/v1/purchaseorder", token, {"supplier": w("50004"), "lines": []})
    await sandbox.webhooks.flush()
    assert [e["eventType"] for e in receiver.received] == [
        "Supplier.Updated",
        "Account.Updated",
        "Segment.ValueChanged",
        "Project.Changed",
        "APInvoice.StatusChanged",
        "PurchaseOrder.Changed",
    ]
    assert receiver.received[4]["entityId"] == number


async def test_legacy_subscription_registration_delivers(
    receiver: Receiver, clock: ManualClock
) -> None:
    """POST /API/resources/v1/subscription registers a hook that then gets supplier events."""
    sandbox = make_sandbox(
        clock,
        webhook_transport=httpx.ASGITransport(app=receiver.app()),
        webhook_secret=SECRET,
    )
    async with client_for(sandbox) as http:
        token = await fetch_token(http)
        body = {"event": "supplier_changed", "hookUri": "https://receiver.test/hooks/legacy"}
        created = await send(http, "POST", "/API/resources/v1/subscription", token, body)
        again = await send(http, "POST", "/resources/v1/subscription", token, body)
        listed = (await send(http, "GET", "/resources/v1/subscription", token)).json()
        events = (await send(http, "GET", "/resources/v1/event", token)).json()
        await send(http, "PUT", "/v1/supplier/50001", token, {"name": w("Nytt AS")})
        await send(http, "PUT", "/v1/account/6300", token, {"active": w(False)})
    await sandbox.webhooks.flush()
    assert created.status_code == 201
    assert created.json() == {"id": 1, **body}
    assert created.headers["location"].endswith("/API/resources/v1/subscription/1")
    assert again.status_code == 400
    assert listed == [created.json()]
    assert "supplier_changed" in {e["eventType"] for e in events}
    assert [(e["eventType"], e["entityId"]) for e in receiver.received] == [
        ("Supplier.Updated", "50001")
    ]
    assert receiver.headers[0]["x-vwd-subscription-id"] == "1"


async def test_legacy_subscription_read_change_delete(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """A subscription can be read, repointed and deleted; bad bodies are 400."""
    body = {"event": "account_changed", "hookUri": "https://a.test/h"}
    await send(client, "POST", "/resources/v1/subscription", token, body)
    moved = {"event": "account_changed", "hookUri": "https://b.test/h"}
    assert (
        await send(client, "PUT", "/resources/v1/subscription/1", token, moved)
    ).status_code == 204
    assert (await send(client, "GET", "/resources/v1/subscription/1", token)).json()["hookUri"] == (
        "https://b.test/h"
    )
    assert (await send(client, "DELETE", "/resources/v1/subscription/1", token)).status_code == 204
    assert sandbox.state.subscriptions == {}
    unknown = {"event": "nothing_changed", "hookUri": "https://a.test/h"}
    assert (
        await send(client, "POST", "/resources/v1/subscription", token, unknown)
    ).status_code == 400


async def test_delivery_faults_drop_and_duplicate(
    hooked: tuple[VismaSandbox, httpx.AsyncClient, str], receiver: Receiver
) -> None:
    """Dropped events never arrive; duplicated ones arrive twice with the same event id."""
    sandbox, http, _ = hooked
    await http.put("/_sandbox/webhooks/faults", json={"drop_rate": 1.0})
    sandbox.add_supplier("Borte AS")
    await http.put("/_sandbox/webhooks/faults", json={"drop_rate": 0.0, "duplicate_rate": 1.0})
    sandbox.add_supplier("Dobbel AS")
    await http.post("/_sandbox/webhooks/flush")
    ids = [e["eventId"] for e in receiver.received]
    assert len(ids) == 2
    assert len(set(ids)) == 1
    outcomes = [d["outcome"] for d in (await http.get("/_sandbox/webhooks/deliveries")).json()]
    assert outcomes == ["dropped", "delivered", "delivered"]
    published = (await http.get("/_sandbox/webhooks/events")).json()
    assert [p["eventType"] for p in published] == ["Supplier.Created", "Supplier.Created"]


def test_repr_of_the_publisher_hides_the_secret() -> None:
    """The webhook secret is not part of any repr."""
    sandbox = make_sandbox(webhook_secret=SECRET, webhook_urls=[HOOK])
    assert SECRET not in repr(sandbox.events)
    assert SECRET not in repr(sandbox)


async def test_lifespan_delivers_without_an_explicit_flush(
    receiver: Receiver, clock: ManualClock
) -> None:
    """Under a server's lifespan the delivery loop runs by itself."""
    sandbox = make_sandbox(
        clock,
        webhook_transport=httpx.ASGITransport(app=receiver.app()),
        webhook_secret=SECRET,
        webhook_urls=[HOOK],
    )
    async with sandbox.app.router.lifespan_context(sandbox.app):
        sandbox.add_supplier("Bakgrunn AS")
        for _ in range(500):  # generous bound; normally done after the first yield
            if receiver.received:
                break
            await asyncio.sleep(0.01)
    assert [e["eventType"] for e in receiver.received] == ["Supplier.Created"]
