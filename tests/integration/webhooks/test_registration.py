"""Registration against the sandboxes, in-process: Ramp's challenge round trip, Visma legacy."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integration.webhooks.webhook_kit import store_settings
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.app.webhooks import (
    DEFAULT_RAMP_EVENT_TYPES,
    NEWER_RAMP_EVENT_TYPES,
    list_ramp_webhooks,
    register_ramp,
    register_visma,
    unregister_ramp,
)
from ml_connector.runtime.webhook_secrets import add_webhook_secret, read_secrets
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import Dataset, demo_dataset
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.store import EventSource, EventStatus, SyncStatus
from ml_connector.web.app import create_app

RAMP, VISMA, PUBLIC = "http://ramp.test", "http://visma.test", "https://connector.example"
RAMP_ID, RAMP_CLIENT_SECRET = "ramp-reg-id", "ramp-reg-client-secret"
VISMA_ID, VISMA_CLIENT_SECRET = "visma-reg-id", "visma-reg-client-secret"
TENANT, COMPANY = "tenant-reg", "4711"
VISMA_HOOK_SECRET = "vwd_portal_secret_93ab1c"
ADMIN = Actor.local_admin("tests")


def small_dataset() -> Dataset:
    demo = demo_dataset()
    pending = [dataclasses.replace(b, approval_status="PENDING") for b in demo.bills[:3]]
    return dataclasses.replace(demo, bills=tuple(pending))


async def _until(check: Callable[[], object], timeout_s: float = 10.0) -> None:
    """Wait until ``check()`` (sync or async) is truthy; generous, but normally immediate."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@dataclass
class Wired:
    runtime: Runtime
    ramp: RampSandbox
    visma: VismaSandbox


async def _swallow(request: Request) -> Response:
    return Response(status_code=204)


@pytest.fixture(params=["connector", "black-hole"])
async def wired(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Wired]:
    """Sandboxes whose webhooks reach the receiver app (or, for black-hole, vanish)."""
    runtime = await Runtime.open(store_settings(tmp_path))
    app = create_app(runtime)
    target = (
        app
        if request.param == "connector"
        else Starlette(routes=[Route("/{path:path}", _swallow, methods=["POST"])])
    )
    hooks = httpx.ASGITransport(app=target)
    dataset = small_dataset()
    ramp = RampSandbox(RAMP_ID, RAMP_CLIENT_SECRET, dataset=dataset, webhook_transport=hooks)
    visma = VismaSandbox(
        VISMA_ID, VISMA_CLIENT_SECRET, TENANT, COMPANY, dataset=dataset,
        webhook_transport=hooks, webhook_secret=VISMA_HOOK_SECRET,
    )  # fmt: skip
    runtime.transports = {
        RAMP: httpx.ASGITransport(app=ramp.app),
        VISMA: httpx.ASGITransport(app=visma.app),
    }
    await admin.add_connection(
        Actor.local_admin("tests"),
        runtime,
        "acme",
        credentials={
            "ramp_client_id": RAMP_ID,
            "ramp_client_secret": RAMP_CLIENT_SECRET,
            "visma_client_id": VISMA_ID,
            "visma_client_secret": VISMA_CLIENT_SECRET,
            "visma_tenant_id": TENANT,
            "visma_company_id": COMPANY,
        },
        ramp_base_url=RAMP,
        visma_base_url=VISMA,
        visma_token_url=f"{VISMA}/connect/token",
    )
    stop = asyncio.Event()
    delivering = asyncio.create_task(ramp.webhooks.run(stop))
    try:
        yield Wired(runtime, ramp, visma)
    finally:
        stop.set()
        await delivering
        await runtime.close()


@pytest.mark.parametrize("wired", ["connector"], indirect=True)
async def test_register_completes_verification_then_events_flow(wired: Wired) -> None:
    """register: subscription active in Ramp, secret stored, challenge consumed; then a bill
    approval arrives as a verified event and queues its record."""
    runtime, ramp = wired.runtime, wired.ramp
    result = await register_ramp(ADMIN, runtime, "acme", PUBLIC, timeout_s=10, poll_s=0.02)
    assert result.verified
    assert result.endpoint_url == f"{PUBLIC}/webhooks/ramp/acme"
    subscription = ramp.hub.subscriptions[result.subscription_id]
    assert subscription.status == "active"
    assert subscription.endpoint_url == result.endpoint_url
    connection = await runtime.store.get_connection("acme")
    [stored] = read_secrets(runtime.credentials(connection), EventSource.RAMP)
    assert (stored.secret, stored.subscription_id) == (subscription.secret, subscription.id)
    assert "ramp_verification_until" not in connection.settings.as_stored()["webhooks"]
    [challenge] = await runtime.store.list_events(connection.id)
    assert (challenge.type, challenge.status) == ("webhooks.verification", EventStatus.PROCESSED)

    bill_id = next(iter(ramp.state.bills))
    ramp.approve_bill(bill_id)

    async def queued() -> bool:
        return await runtime.store.find_record(connection.id, "bill", bill_id) is not None

    await _until(queued)
    record = await runtime.store.find_record(connection.id, "bill", bill_id)
    assert record is not None
    assert record.status is SyncStatus.PENDING
    approved = await runtime.store.list_events(connection.id, event_type="bills.approved")
    assert [(e.object_id, e.status) for e in approved] == [(bill_id, EventStatus.PROCESSED)]
    assert await runtime.store.list_rejections() == []

    [listed] = await list_ramp_webhooks(ADMIN, runtime, "acme")
    assert (listed.id, listed.status, listed.secret_stored) == (
        subscription.id,
        "active",
        True,
    )
    assert await unregister_ramp(ADMIN, runtime, "acme", subscription.id) == 1
    assert ramp.hub.subscriptions == {}
    assert (
        await unregister_ramp(ADMIN, runtime, "acme", subscription.id) == 0
    )  # gone: nothing to do
    connection = await runtime.store.get_connection("acme")
    assert read_secrets(runtime.credentials(connection), EventSource.RAMP) == []


@pytest.mark.parametrize("wired", ["black-hole"], indirect=True)
async def test_register_without_a_challenge_reports_unverified(wired: Wired) -> None:
    """When the challenge never reaches the receiver, register says so and closes its window."""
    runtime = wired.runtime
    result = await register_ramp(ADMIN, runtime, "acme", PUBLIC, timeout_s=0.3, poll_s=0.02)
    assert not result.verified
    assert "no verification challenge arrived" in result.detail
    assert wired.ramp.hub.subscriptions[result.subscription_id].status == "pending_verification"
    connection = await runtime.store.get_connection("acme")
    assert "ramp_verification_until" not in connection.settings.as_stored()["webhooks"]
    assert len(read_secrets(runtime.credentials(connection), EventSource.RAMP)) == 1


@pytest.mark.parametrize("wired", ["connector"], indirect=True)
async def test_visma_legacy_registration_and_signed_delivery(wired: Wired) -> None:
    """register-visma subscribes through /resources/v1/subscription; with the portal secret
    stored, a supplier change arrives verified and is processed."""
    runtime, visma = wired.runtime, wired.visma
    created = await register_visma(ADMIN, runtime, "acme", PUBLIC, ["supplier_changed"])
    assert [event for event, _ in created] == ["supplier_changed"]
    [subscription] = visma.state.subscriptions.values()
    assert (subscription.event, subscription.hook_uri) == (
        "supplier_changed",
        f"{PUBLIC}/webhooks/visma/acme",
    )
    assert str(subscription.id) == created[0][1]
    connection = await runtime.store.get_connection("acme")
    await add_webhook_secret(runtime, connection, EventSource.VISMA, VISMA_HOOK_SECRET)
    number = next(iter(visma.state.suppliers))
    visma.set_supplier_status(number, "OnHold")
    await visma.webhooks.flush()
    [event] = await runtime.store.list_events(connection.id, source=EventSource.VISMA)
    assert (event.type, event.object_id, event.status) == (
        "Supplier.Updated",
        number,
        EventStatus.PROCESSED,
    )
    assert await runtime.store.list_rejections() == []


@pytest.mark.parametrize("wired", ["connector"], indirect=True)
@pytest.mark.parametrize("newer", [False, True], ids=["spec-event-types", "newer-event-types"])
async def test_register_takes_what_ramp_accepts_and_events_of_either_list_queue_work(
    wired: Wired, newer: bool
) -> None:
    """A Ramp with the spec's event types refuses the newer ones: registration falls back to the
    spec's list. With the newer types it subscribes to both. Either way a new approved bill
    reaches the queue, and each bill event it got is processed as bill work."""
    runtime, ramp = wired.runtime, wired.ramp
    ramp.hub.newer_event_types = newer
    result = await register_ramp(ADMIN, runtime, "acme", PUBLIC, timeout_s=10, poll_s=0.02)
    assert result.verified
    expected = (*DEFAULT_RAMP_EVENT_TYPES, *(NEWER_RAMP_EVENT_TYPES if newer else ()))
    assert result.event_types == expected
    assert ramp.hub.subscriptions[result.subscription_id].event_types == list(expected)

    vendor = next(iter(ramp.state.vendors))
    created = ramp.create_bill(
        vendor_id=vendor,
        invoice_number="EVT-1",
        lines=[{"amount_minor": 12_500, "gl_account": "6540"}],
    )
    connection = await runtime.store.get_connection("acme")

    async def queued() -> bool:
        return await runtime.store.find_record(connection.id, "bill", created["id"]) is not None

    await _until(queued)
    await ramp.webhooks.flush()
    events = await runtime.store.list_events(connection.id, type_prefix="bills.")
    mine = {e.type: e.status for e in events if e.object_id == created["id"]}
    wanted = {"bills.created", "bills.approved"} | ({"bills.ready_to_sync"} if newer else set())
    assert mine == dict.fromkeys(wanted, EventStatus.PROCESSED)
