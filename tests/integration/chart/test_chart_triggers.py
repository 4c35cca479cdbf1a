"""Chart updates by delta poll, by Visma webhook, and by the schedule; no change is ever missed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from integration.chart.chart_kit import API, ChartWorld, open_chart_world
from ml_connector.app import chart as app_chart
from ml_connector.app.principal import Actor
from ml_connector.flows.chart_plan import ChartPushResult
from ml_connector.runtime import chart as chart_runtime
from ml_connector.runtime.webhook_secrets import add_webhook_secret
from ml_connector.store import EventSource
from ml_connector.web.signatures import visma_signature
from ml_connector.web.webhooks import WebhookReceiver

NO_OVERLAP = {"overlap_s": 0}
WEBHOOK_SECRET = "visma-webhook-secret-for-chart"


async def _poll(world: ChartWorld) -> ChartPushResult:
    return await chart_runtime.poll(world.runtime, await world.connection())


def _visma_reads(world: ChartWorld, path: str) -> list[str]:
    return [e.query for e in world.visma.journal.entries("GET") if e.path == path]


async def test_poll_reads_deltas_and_sends_only_the_changes(tmp_path: Path) -> None:
    """After a full push, a poll asks Visma only for what changed and pushes just that."""
    async with open_chart_world(tmp_path, chart=NO_OVERLAP) as world:
        await chart_runtime.push(world.runtime, world.name)
        world.visma.add_account("6998", "Kurs og konferanser", "Expense")
        world.visma.set_project("P1003", status="Completed")
        world.visma.journal.clear()
        world.ramp.journal.clear()

        await _poll(world)

        for path in ("/v1/account", "/v1/project", "/v1/supplier"):
            queries = _visma_reads(world, path)
            assert queries
            assert all("lastModifiedDateTime=" in q for q in queries), queries
        # The completed project leaves the project field, and its one active task the task field.
        assert sorted(world.write_summary()) == [
            ("DELETE", "field-options"),
            ("DELETE", "field-options"),
            ("POST", "accounts"),
        ]
        assert "6998" in world.gl_accounts()
        assert "P1003" not in world.options("project")


async def test_change_landing_during_a_push_is_picked_up_by_the_next_poll(tmp_path: Path) -> None:
    """Visma changes after the push read it but before the push ends: the cursor stays behind
    that change (it is Visma's newest timestamp seen, not our clock), so the poll finds it."""
    async with open_chart_world(tmp_path, chart=NO_OVERLAP) as world:
        world.ramp_hooks.after(
            "POST",
            f"{API}/accounts",
            1,
            lambda: world.visma.add_account("6997", "Landed mid-push", "Expense"),
        )
        await chart_runtime.push(world.runtime, world.name)
        assert "6997" not in world.gl_accounts()
        assert "6997" in world.visma.state.accounts

        await _poll(world)

        assert world.gl_accounts()["6997"].name == "Landed mid-push"


async def test_stale_cursor_rereads_but_writes_nothing(tmp_path: Path) -> None:
    """A cursor far in the past re-reads everything; the diff makes that a no-op."""
    async with open_chart_world(tmp_path) as world:
        await chart_runtime.push(world.runtime, world.name)
        connection = await world.connection()
        for source in ("accounts", "projects", "suppliers"):
            await world.runtime.store.set_cursor(
                connection.id, f"chart:{source}", "2001-01-01T00:00:00"
            )
        world.ramp.journal.clear()
        result = await _poll(world)
        assert result.changes == []
        assert world.ramp_writes() == []


async def test_first_poll_without_cursors_is_a_full_push(tmp_path: Path) -> None:
    """With no cursor yet a poll reads everything and creates the whole chart."""
    async with open_chart_world(tmp_path) as world:
        await _poll(world)
        active = {a.number for a in world.dataset.accounts if a.active}
        assert set(world.gl_accounts()) == active
        status = await app_chart.chart_status(
            Actor.local_admin("tester"), world.runtime, world.name
        )
        assert {"chart:accounts", "chart:projects", "chart:suppliers"} <= set(status.cursors)


async def test_schedule_pushes_only_when_due(tmp_path: Path) -> None:
    """The tick pushes the first time, then not again until an interval passes."""
    async with open_chart_world(tmp_path, chart={"poll_interval_s": 600}) as world:
        connection = await world.connection()
        now = datetime.now(UTC)
        first = await chart_runtime.chart_tick(world.runtime, connection, now=now)
        assert first is not None
        assert world.gl_accounts()
        assert await chart_runtime.chart_tick(world.runtime, connection, now=now) is None
        world.visma.add_account("6996", "Later", "Expense")
        later = now + timedelta(seconds=601)
        assert await chart_runtime.chart_tick(world.runtime, connection, now=later) is not None
        assert "6996" in world.gl_accounts()


async def test_on_visma_change_pushes_now(tmp_path: Path) -> None:
    """A relevant change event pushes at once; an unrelated one does nothing."""
    async with open_chart_world(tmp_path) as world:
        connection = await world.connection()
        await chart_runtime.push(world.runtime, world.name)
        world.visma.set_segment_value(2, "60", "Nytt team")
        unrelated = await chart_runtime.on_visma_change(
            world.runtime, connection, "APInvoice.StatusChanged"
        )
        assert unrelated is None
        assert "60" not in world.options("subaccount-2")
        result = await chart_runtime.on_visma_change(
            world.runtime, connection, "Segment.ValueChanged"
        )
        assert result is not None
        assert world.options("subaccount-2")["60"].value == "Nytt team"


async def test_visma_webhooks_reach_ramp_through_the_inbox(tmp_path: Path) -> None:
    """Visma signs and delivers change events to our receiver; the inbox holds them; the next
    tick pushes the change to Ramp even though no poll was due."""
    async with open_chart_world(
        tmp_path, chart={"poll_interval_s": 3600}, visma_webhook_secret=WEBHOOK_SECRET
    ) as world:
        runtime = world.runtime
        connection = await world.connection()
        receiver = WebhookReceiver(runtime)
        world.receiver.app = Starlette(
            routes=[Route("/webhooks/visma/{connection}", receiver.visma, methods=["POST"])]
        )
        await add_webhook_secret(runtime, connection, EventSource.VISMA, WEBHOOK_SECRET)
        visma = world.visma
        now = datetime.now(UTC)
        assert await chart_runtime.chart_tick(runtime, connection, now=now) is not None

        visma.add_account("6995", "Via webhook", "Expense")
        visma.add_supplier("Webhook Leverandør AS", currency="NOK", country="NO")
        await visma.webhooks.flush()

        events = await runtime.store.list_events(connection_id=connection.id)
        assert {e.type.split(".")[0] for e in events} >= {"Account", "Supplier"}
        result = await chart_runtime.chart_tick(runtime, connection, now=now)
        assert result is not None
        assert "6995" in world.gl_accounts()
        assert any(v.name == "Webhook Leverandør AS" for v in world.vendors().values())
        assert await chart_runtime.chart_tick(runtime, connection, now=now) is None


async def test_a_repeated_visma_hint_still_brings_the_second_change(tmp_path: Path) -> None:
    """Visma's body is undocumented: a bare ``{"entity", "entityId"}`` hint, sent twice with the
    same bytes for two changes of one project, is stored once, yet each hint leads to a poll,
    so Ramp ends with the second change."""
    async with open_chart_world(tmp_path, chart={"poll_interval_s": 3600}) as world:
        runtime = world.runtime
        connection = await world.connection()
        receiver = WebhookReceiver(runtime)
        app = Starlette(
            routes=[Route("/webhooks/visma/{connection}", receiver.visma, methods=["POST"])]
        )
        await add_webhook_secret(runtime, connection, EventSource.VISMA, WEBHOOK_SECRET)
        now = datetime.now(UTC)
        assert await chart_runtime.chart_tick(runtime, connection, now=now) is not None
        hint = json.dumps({"entity": "Project", "entityId": "P1001"}).encode()
        headers = {
            "content-type": "application/json",
            "x-vwd-signature-v1": visma_signature(WEBHOOK_SECRET, hint),
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://connector") as client:
            url = f"/webhooks/visma/{world.name}"
            world.visma.set_project("P1001", "Equinor rådgivning fase 2")
            first = await client.post(url, content=hint, headers=headers)
            assert first.json()["status"] == "accepted"
            assert await chart_runtime.chart_tick(runtime, connection, now=now) is not None
            assert world.options("project")["P1001"].value == "Equinor rådgivning fase 2"
            assert await chart_runtime.chart_tick(runtime, connection, now=now) is None

            world.visma.set_project("P1001", "Equinor rådgivning fase 3")
            again = await client.post(url, content=hint, headers=headers)
            assert again.json()["status"] == "duplicate"
            assert await chart_runtime.chart_tick(runtime, connection, now=now) is not None

        assert world.options("project")["P1001"].value == "Equinor rådgivning fase 3"
        hints = await runtime.store.list_events(connection.id, source=EventSource.VISMA)
        assert [(e.type, e.object_id) for e in hints] == [("Project", "P1001")]
