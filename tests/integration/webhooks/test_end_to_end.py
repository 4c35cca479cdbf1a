"""End to end over real HTTP: the Ramp sandbox signs webhooks to the served app, through a lossy
network (20% dropped, 20% duplicated, the rest reordered); every approved bill still becomes
exactly one Visma invoice, the dropped ones through the reconciliation pass.

Everything runs under uvicorn on loopback ports in this test's event loop: both sandboxes, and
the connector's app with its Service (worker + scheduler) in the lifespan, as ``serve`` runs it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from integration.webhooks.webhook_kit import generated_dataset, store_settings
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.app.webhooks import register_ramp
from ml_connector.demo import NOTE_PREFIX, DemoSetup, operator_settings
from ml_connector.runtime.service import Service
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.delivery import DeliveryFaults, WebhookDispatcher
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.serve import start_server
from ml_connector.store import EventStatus, SyncStatus
from ml_connector.web.app import create_app


@dataclass
class Outcome:
    bills: list[str]
    invoices_per_bill: Counter[str]
    elapsed_s: float
    dropped_bills: set[str]
    dropped_event_ids: set[str]
    published_event_ids: set[str]
    stored_event_ids: list[str]
    deliveries: Counter[str]  # delivery attempts by outcome ("delivered", "dropped", …)
    delivered_twice: int  # events the network delivered more than once

    def report(self) -> str:
        """One line for the record: what the network did and what came out."""
        return (
            f"{len(self.bills)} bills, {len(self.published_event_ids)} approvals published: "
            f"{len(self.dropped_event_ids)} dropped, {self.delivered_twice} delivered twice, "
            f"the rest reordered; deliveries {dict(sorted(self.deliveries.items()))}; "
            f"{len(self.stored_event_ids)} events stored once each; "
            f"{sum(self.invoices_per_bill.values())} invoices for "
            f"{len(self.invoices_per_bill)} bills ({len(self.dropped_bills)} of them only "
            f"through reconciliation); synced {self.elapsed_s:.1f} s after the approvals"
        )


async def run_lossy_webhooks(tmp_path: Path, bills: int, *, deadline_s: float) -> Outcome:
    """Register, approve every bill through a lossy network, and wait until all are synced."""
    setup = DemoSetup(generated_dataset(bills))
    # Quick redeliveries, so a 5xx (there should be none) cannot stall the run.
    setup.ramp = RampSandbox(
        setup.ramp_id, setup.ramp_secret, dataset=setup.dataset, webhook_retry_base_s=0.05
    )
    ramp_server = await start_server(setup.ramp.app)
    visma_server = await start_server(setup.visma.app)
    runtime = await Runtime.open(store_settings(tmp_path))
    app_server = None
    try:
        connection = await admin.add_connection(
            Actor.local_admin("tests"),
            runtime,
            "acme",
            credentials=setup.credentials(),
            ramp_base_url=ramp_server.url,
            visma_base_url=visma_server.url,
            visma_token_url=f"{visma_server.url}/connect/token",
            settings=operator_settings(setup.dataset),
        )
        service = Service(
            runtime, poll_interval_s=0.2, reconcile_interval_s=2.0, refresh_s=0.5, concurrency=8
        )
        app_server = await start_server(create_app(runtime, service=service))
        registration = await register_ramp(
            Actor.local_admin("tests"), runtime, "acme", app_server.url, timeout_s=30
        )
        assert registration.verified, registration.detail

        dispatcher = setup.ramp.webhooks
        dispatcher.faults = DeliveryFaults(drop_rate=0.2, duplicate_rate=0.2, reorder=True)
        started = time.monotonic()
        ids = list(setup.ramp.state.bills)
        for bill_id in ids:
            setup.ramp.approve_bill(bill_id)

        async with httpx.AsyncClient(base_url=app_server.url) as probe:
            assert (await probe.get("/readyz")).json() == {"status": "ready"}
            while True:
                counts = await runtime.store.count_by_status(connection.id)
                synced = [b for b in setup.ramp.state.bills.values() if b.sync_reference]
                unsettled = await runtime.store.list_events(
                    connection.id, status=EventStatus.RECEIVED, limit=1
                )
                if (
                    counts[SyncStatus.SUCCEEDED] == len(synced) == len(ids)
                    and await _all_arrived(runtime, connection.id, dispatcher, setup.ramp)
                    and not unsettled
                ):
                    break
                assert counts[SyncStatus.NEEDS_ATTENTION] == 0, await _attention(runtime)
                assert time.monotonic() - started < deadline_s, f"not synced in time: {counts}"
                await asyncio.sleep(0.2)
        elapsed = time.monotonic() - started

        approvals = [e for e in setup.ramp.hub.events if e["type"] == "bills.approved"]
        dropped = {d.event_id for d in dispatcher.deliveries if d.outcome == "dropped"}
        dropped_bills = {e["object"]["id"] for e in approvals if e["id"] in dropped}
        outcomes = Counter(d.outcome for d in dispatcher.deliveries)
        delivered = Counter(d.event_id for d in dispatcher.deliveries if d.outcome == "delivered")
        events = await runtime.store.list_events(
            connection.id, event_type="bills.approved", limit=100_000
        )
        assert await runtime.store.list_rejections() == []
    finally:
        if app_server is not None:
            await app_server.stop()
        records = await runtime.store.list_records(None, limit=100_000)
        await runtime.close()
        await ramp_server.stop()
        await visma_server.stop()
    assert not [r for r in records if r.status is SyncStatus.IN_FLIGHT]
    invoices = Counter(
        note.split(NOTE_PREFIX, 1)[1].split()[0]
        for invoice in setup.visma.invoices()
        if NOTE_PREFIX in (note := str(invoice.get("note") or ""))
    )
    return Outcome(
        ids,
        invoices,
        elapsed,
        dropped_bills,
        dropped,
        {e["id"] for e in approvals},
        [e.event_id for e in events],
        outcomes,
        sum(1 for count in delivered.values() if count > 1),
    )


async def _all_arrived(
    runtime: Runtime, connection_id: int, dispatcher: WebhookDispatcher, ramp: RampSandbox
) -> bool:
    """Every approval the network did not drop is in the inbox (drops are decided on enqueue)."""
    dropped = {d.event_id for d in dispatcher.deliveries if d.outcome == "dropped"}
    expected = {e["id"] for e in ramp.hub.events if e["type"] == "bills.approved"} - dropped
    stored = await runtime.store.list_events(
        connection_id, event_type="bills.approved", limit=100_000
    )
    return expected <= {e.event_id for e in stored}


async def _attention(runtime: Runtime) -> str:
    stuck = await runtime.store.list_records(None, status=SyncStatus.NEEDS_ATTENTION, limit=5)
    return "; ".join(f"{r.object_id}: {r.last_error}" for r in stuck)


def _check(outcome: Outcome) -> None:
    assert set(outcome.invoices_per_bill) == set(outcome.bills)
    assert set(outcome.invoices_per_bill.values()) == {1}
    assert outcome.dropped_bills, "the lossy network dropped nothing; the test proves less"
    # Every approval that was not dropped is stored exactly once, however often it arrived.
    stored = outcome.stored_event_ids
    assert len(stored) == len(set(stored))
    assert set(stored) == outcome.published_event_ids - outcome.dropped_event_ids


async def test_lossy_webhooks_end_in_exactly_one_invoice_per_bill(tmp_path: Path) -> None:
    """60 approvals through drops, duplicates and reordering: 60 invoices, none twice."""
    outcome = await run_lossy_webhooks(tmp_path, 60, deadline_s=120)
    _check(outcome)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("ML_CONNECTOR_SLOW_TESTS"),
    reason="70-120 s on a 2-core machine; set ML_CONNECTOR_SLOW_TESTS=1 to run it",
)
async def test_five_hundred_bills_through_lossy_webhooks(tmp_path: Path) -> None:
    """The issue's acceptance run: 500 approvals, 500 invoices, the dropped ones reconciled."""
    outcome = await run_lossy_webhooks(tmp_path, 500, deadline_s=600)
    _check(outcome)
    assert outcome.delivered_twice, "the lossy network duplicated nothing; the test proves less"
    print(outcome.report())
