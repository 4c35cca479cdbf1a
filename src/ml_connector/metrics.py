"""Prometheus metrics: process counters, plus store-derived gauges rendered at scrape time.

Vendor API calls are counted as they happen (the clients' ``on_call`` hook reaches
:func:`observe_call` through ``flows.context.record_call``). Everything that lives in the
database (records by state, queue depth, oldest pending age, inbox events and rejections) is
read from the store on each scrape, so every process serving ``/metrics`` reports the same
numbers. No label ever carries a secret: labels are connection names, systems, statuses.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ml_connector.clients import CallRecord
from ml_connector.store import Store, SyncStatus

__all__ = ["CONTENT_TYPE", "PROCESS_REGISTRY", "observe_call", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

PROCESS_REGISTRY = CollectorRegistry()
"""Counters this process increments as things happen."""

_VENDOR_CALLS = Counter(
    "ml_connector_vendor_api_calls",
    "Vendor API calls made by this process, by system and HTTP status (or 'error').",
    ["system", "status"],
    registry=PROCESS_REGISTRY,
)
_VENDOR_SECONDS = Histogram(
    "ml_connector_vendor_api_call_seconds",
    "Duration of vendor API calls.",
    ["system"],
    registry=PROCESS_REGISTRY,
)


def observe_call(call: CallRecord) -> None:
    """Count one vendor call (the clients' ``on_call`` data; bodies are ignored)."""
    status = str(call.status) if call.status is not None else "error"
    _VENDOR_CALLS.labels(system=call.system, status=status).inc()
    _VENDOR_SECONDS.labels(system=call.system).observe(call.duration_ms / 1000.0)


async def render_metrics(store: Store, *, now: datetime) -> bytes:
    """The exposition text: process counters followed by gauges read from ``store`` now."""
    registry = CollectorRegistry()
    records = Gauge(
        "ml_connector_records",
        "Sync records by connection and state.",
        ["connection", "state"],
        registry=registry,
    )
    depth = Gauge(
        "ml_connector_queue_depth",
        "Records waiting to be worked (pending or retry_wait).",
        ["connection"],
        registry=registry,
    )
    oldest = Gauge(
        "ml_connector_oldest_pending_age_seconds",
        "Age of the oldest record waiting to be worked (0 when none).",
        ["connection"],
        registry=registry,
    )
    events = Gauge(
        "ml_connector_events_received",
        "Webhook events accepted into the inbox, by connection, source and status.",
        ["connection", "source", "status"],
        registry=registry,
    )
    rejected = Gauge(
        "ml_connector_events_rejected",
        "Webhook requests refused by the receivers, by connection (as addressed) and source.",
        ["connection", "source"],
        registry=registry,
    )
    names = {c.id: c.name for c in await store.list_connections()}
    for stats in await store.record_stats():
        name = names.get(stats.connection_id, str(stats.connection_id))
        for state, count in stats.counts.items():
            records.labels(connection=name, state=state.value).set(count)
        waiting = stats.counts[SyncStatus.PENDING] + stats.counts[SyncStatus.RETRY_WAIT]
        depth.labels(connection=name).set(waiting)
        first = stats.oldest_pending_at
        oldest.labels(connection=name).set(
            max(0.0, (now - first).total_seconds()) if first else 0.0
        )
    for (cid, source, status), count in (await store.event_counts()).items():
        events.labels(connection=names.get(cid, str(cid)), source=source, status=status).set(count)
    for (connection, source), count in (await store.rejection_counts()).items():
        # The path segment as addressed: cap it, since anyone can send anything there.
        rejected.labels(connection=connection[:100], source=source).set(count)
    return generate_latest(PROCESS_REGISTRY) + generate_latest(registry)
