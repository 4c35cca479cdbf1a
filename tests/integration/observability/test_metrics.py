"""/metrics after a small run: every metric is there, parseable, with the values the run made."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families

from integration.observability.obs_kit import NAME, World
from ml_connector import metrics
from ml_connector.runtime import metrics_feed, observe
from ml_connector.runtime.sync import sync_once
from ml_connector.store import EventSource, SyncStatus
from ml_connector.web.app import create_app

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


async def _scrape(world: World) -> tuple[set[str], Samples]:
    app = create_app(world.runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://connector.test") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    families = list(text_string_to_metric_families(response.text))
    samples = {(s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples}
    return {f.name for f in families}, samples


async def _visma_calls_in_audit(world: World, connection_id: int) -> Counter[str]:
    """Visma calls the audit trail holds per record object type (every one is in a unit)."""
    records = {
        r.id: r.object_type
        for r in await world.runtime.store.list_records(connection_id, limit=10_000)
    }
    found: Counter[str] = Counter()
    for entry in await world.runtime.store.list_audit(connection_id):
        if (
            entry.kind == "api_call"
            and str(entry.data.get("system")).lower() == "visma"
            and entry.record_id
        ):
            found[records[entry.record_id]] += 1
    return found


async def test_metrics_parse_and_match_a_small_run(world: World) -> None:
    """After a sync, /metrics names every metric, and records, calls, calls per bill, latency,
    events and rejections agree with the store and the run's summary."""
    summary = await sync_once(world.runtime, NAME)
    store = world.runtime.store
    connection = await store.get_connection(NAME)
    await store.insert_event(connection.id, EventSource.RAMP, "evt-1", "bills.updated", "b-1", {})
    await store.insert_rejection(
        NAME,
        EventSource.RAMP,
        http_status=401,
        reason="bad signature",
        body_size=3,
        body_sha256=None,
    )
    names, samples = await _scrape(world)

    for family in (
        "ml_connector_records",
        "ml_connector_records_by_type",
        "ml_connector_queue_depth",
        "ml_connector_oldest_pending_age_seconds",
        "ml_connector_events_received",
        "ml_connector_events_rejected",
        "ml_connector_vendor_api_calls",
        "ml_connector_vendor_api_call_seconds",
        "ml_connector_ratelimit_waits",
        "ml_connector_ratelimit_wait_seconds",
        "ml_connector_sync_latency_seconds",
        "ml_connector_vendor_calls_per_synced_bill",
        "ml_connector_process_vendor_api_calls",
    ):
        assert family in names, family

    created = summary.visma_invoices_created
    assert created > 0
    assert summary.needs_attention > 0
    c = {"connection": NAME}
    assert samples[_key("ml_connector_records", **c, state="succeeded")] == created
    assert samples[_key("ml_connector_records", **c, state="needs_attention")] == (
        summary.needs_attention
    )
    bill_ok = _key("ml_connector_records_by_type", **c, object_type="bill", state="succeeded")
    assert samples[bill_ok] == created
    assert samples[_key("ml_connector_queue_depth", **c)] == 0
    assert samples[_key("ml_connector_oldest_pending_age_seconds", **c)] == 0
    received = _key("ml_connector_events_received_total", **c, source="ramp", status="received")
    assert samples[received] == 1
    assert samples[_key("ml_connector_events_rejected_total", **c, source="ramp")] == 1

    calls = {
        dict(labels)["status_class"]: value
        for (name, labels), value in samples.items()
        if name == "ml_connector_vendor_api_calls_total"
        and dict(labels)["system"] == "visma"
        and dict(labels)["object_type"] == "bill"
    }
    audit = await _visma_calls_in_audit(world, connection.id)
    assert audit["bill"] > 0
    assert sum(calls.values()) == audit["bill"]
    assert calls.get("2xx", 0) > 0

    latency = {"connection": NAME, "object_type": "bill"}
    assert samples[_key("ml_connector_sync_latency_seconds_count", **latency)] == created
    assert samples[_key("ml_connector_sync_latency_seconds_bucket", **latency, le="+Inf")] == (
        created
    )
    assert samples[_key("ml_connector_sync_latency_seconds_sum", **latency)] >= 0

    per_bill = samples[_key("ml_connector_vendor_calls_per_synced_bill", **c, system="visma")]
    assert per_bill == sum(calls.values()) / created
    assert samples[_key("ml_connector_vendor_calls_per_synced_bill", **c, system="ramp")] > 0
    assert (await store.count_by_status(connection.id))[SyncStatus.SUCCEEDED] == created


class _Limiter:
    """What a client's rate limiter exposes to metrics: running totals of waits."""

    def __init__(self) -> None:
        self.waited_s = 0.0
        self.waits = 0


async def test_rate_limit_waits_are_counted_as_deltas(world: World) -> None:
    """Waits a limiter reports are added once per flush, as deltas, per connection and system."""
    store = world.runtime.store
    connection = await store.get_connection(NAME)
    limiter = _Limiter()
    limiter.waited_s, limiter.waits = 1.5, 3
    metrics.observe_limiter(store, connection.id, "visma", limiter)
    await metrics_feed.flush(store)
    limiter.waited_s, limiter.waits = 2.0, 4
    metrics.observe_limiter(store, connection.id, "visma", limiter)
    metrics.observe_limiter(store, connection.id, "visma", limiter)  # nothing new: adds nothing
    await observe.flush(store, {})
    _, samples = await _scrape(world)
    waits = _key("ml_connector_ratelimit_waits_total", connection=NAME, system="visma")
    seconds = _key("ml_connector_ratelimit_wait_seconds_total", connection=NAME, system="visma")
    assert samples[waits] == 4
    assert samples[seconds] == 2.0


async def test_oldest_pending_age_counts_from_when_a_record_was_queued(world: World) -> None:
    """A queued record makes the queue depth 1 and its age is measured from its queueing."""
    store = world.runtime.store
    connection = await store.get_connection(NAME)
    queued_at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    await store.upsert_record(connection.id, "bill", "b-queued", reason="test", now=queued_at)
    body = await metrics_feed.render_metrics(store, now=datetime(2026, 1, 1, 12, 1, 30, tzinfo=UTC))
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(body.decode())
        for s in f.samples
    }
    assert samples[_key("ml_connector_queue_depth", connection=NAME)] == 1
    assert samples[_key("ml_connector_oldest_pending_age_seconds", connection=NAME)] == 90
