"""The ``/metrics`` exposition: Prometheus families from a snapshot of the store's numbers.

``runtime.metrics_feed`` reads the store into a :class:`MetricsSnapshot`; :func:`render_metrics`
turns it into the text format, followed by this process's own counters
(``metrics.PROCESS_REGISTRY``). See ``ml_connector.metrics`` for what each family counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ml_connector.metrics import (
    CALL_SECONDS,
    CALLS,
    LATENCY_BUCKET,
    LATENCY_SUM,
    PROCESS_REGISTRY,
    WAIT_SECONDS,
    WAITS,
    CounterKey,
    calls_per_bill,
    parse_labels,
)

__all__ = ["MetricsSnapshot", "RecordGauges", "render_metrics"]


class _StoreCollector(Collector):
    """Renders metric families prepared from one read of the store."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def _durable_families(
    counters: Mapping[CounterKey, float], names: Mapping[int, str]
) -> list[Metric]:
    calls = CounterMetricFamily(
        "ml_connector_vendor_api_calls",
        "Vendor API calls by connection, system, object type worked and status class.",
        labels=["connection", "system", "object_type", "status_class"],
    )
    call_seconds = CounterMetricFamily(
        "ml_connector_vendor_api_call_seconds",
        "Seconds spent in vendor API calls, by the same labels as the calls.",
        labels=["connection", "system", "object_type", "status_class"],
    )
    waits = CounterMetricFamily(
        "ml_connector_ratelimit_waits",
        "Times a client-side rate limiter held a request back, by connection and system.",
        labels=["connection", "system"],
    )
    wait_seconds = CounterMetricFamily(
        "ml_connector_ratelimit_wait_seconds",
        "Seconds requests waited for a client-side rate limiter, by connection and system.",
        labels=["connection", "system"],
    )
    latency = HistogramMetricFamily(
        "ml_connector_sync_latency_seconds",
        "Time from a record being queued (created or replayed) to its successful sync.",
        labels=["connection", "object_type"],
    )
    per_bill = GaugeMetricFamily(
        "ml_connector_vendor_calls_per_synced_bill",
        "Vendor API calls made for bills divided by bills synced, by connection and system.",
        labels=["connection", "system"],
    )
    buckets: dict[tuple[int, str], list[tuple[str, float]]] = defaultdict(list)
    sums: dict[tuple[int, str], float] = defaultdict(float)
    for (cid, name, labels), value in sorted(counters.items()):
        conn = names.get(cid, str(cid))
        parsed = parse_labels(labels)
        if name in (CALLS, CALL_SECONDS):
            family = calls if name == CALLS else call_seconds
            family.add_metric(
                [conn, parsed["system"], parsed["object_type"], parsed["status_class"]], value
            )
        elif name in (WAITS, WAIT_SECONDS):
            (waits if name == WAITS else wait_seconds).add_metric([conn, parsed["system"]], value)
        elif name == LATENCY_BUCKET:
            buckets[(cid, parsed["object_type"])].append((parsed["le"], value))
        elif name == LATENCY_SUM:
            sums[(cid, parsed["object_type"])] = value
    for (cid, kind), found in sorted(buckets.items()):
        ordered = sorted(found, key=lambda pair: float(pair[0]))
        latency.add_metric([names.get(cid, str(cid)), kind], ordered, sums[(cid, kind)])
    for cid in sorted({key[0] for key in counters}):
        for system, ratio in calls_per_bill(counters, cid).items():
            if ratio is not None:
                per_bill.add_metric([names.get(cid, str(cid)), system], ratio)
    return [calls, call_seconds, waits, wait_seconds, latency, per_bill]


@dataclass(frozen=True)
class RecordGauges:
    """One connection's sync records: counts by state and by object type and state (state
    values as text), and when the longest-waiting queued record was queued."""

    connection_id: int
    counts: Mapping[str, int]
    by_type: Mapping[str, Mapping[str, int]]
    oldest_pending_at: datetime | None


@dataclass(frozen=True)
class MetricsSnapshot:
    """What the store-derived families show, read from the store by ``runtime.metrics_feed``."""

    names: Mapping[int, str]  # connection names by id
    records: Sequence[RecordGauges]
    events: Mapping[tuple[int, str, str], int]  # (connection id, source, status) -> events
    # (connection name as addressed, source, count): the rejection log and the guard's tallies
    rejections: Sequence[tuple[str, str, int]]
    writebacks: Mapping[int, tuple[int, datetime]]  # connection id -> (pending, oldest since)
    counters: Mapping[CounterKey, float]

    def name(self, connection_id: int) -> str:
        return self.names.get(connection_id, str(connection_id))


def _record_families(snapshot: MetricsSnapshot, now: datetime) -> list[Metric]:
    records = GaugeMetricFamily(
        "ml_connector_records",
        "Sync records by connection and state.",
        labels=["connection", "state"],
    )
    by_type = GaugeMetricFamily(
        "ml_connector_records_by_type",
        "Sync records by connection, object type and state.",
        labels=["connection", "object_type", "state"],
    )
    depth = GaugeMetricFamily(
        "ml_connector_queue_depth",
        "Records waiting to be worked (pending or retry_wait).",
        labels=["connection"],
    )
    oldest = GaugeMetricFamily(
        "ml_connector_oldest_pending_age_seconds",
        "How long the longest-waiting queued record has waited (0 when none).",
        labels=["connection"],
    )
    for stats in snapshot.records:
        name = snapshot.name(stats.connection_id)
        for state, count in stats.counts.items():
            records.add_metric([name, state], count)
        for kind, per_state in sorted(stats.by_type.items()):
            for state, count in per_state.items():
                by_type.add_metric([name, kind, state], count)
        depth.add_metric([name], stats.counts["pending"] + stats.counts["retry_wait"])
        first = stats.oldest_pending_at
        oldest.add_metric([name], max(0.0, (now - first).total_seconds()) if first else 0.0)
    return [records, by_type, depth, oldest]


def _event_families(snapshot: MetricsSnapshot) -> list[Metric]:
    events = CounterMetricFamily(
        "ml_connector_events_received",
        "Webhook events accepted into the inbox, by connection, source and status.",
        labels=["connection", "source", "status"],
    )
    rejected = CounterMetricFamily(
        "ml_connector_events_rejected",
        "Webhook requests refused by the receivers, by configured connection and source.",
        labels=["connection", "source"],
    )
    strangers = CounterMetricFamily(
        "ml_connector_events_rejected_unknown_connection",
        "Webhook requests refused because no connection has the name they were addressed to.",
        labels=["source"],
    )
    for (cid, source, status), count in sorted(snapshot.events.items()):
        events.add_metric([snapshot.name(cid), source, status], count)
    # Only configured connections become label values: anyone can address any name, and the
    # number of series must stay bounded. Everything else is one series per source.
    configured = set(snapshot.names.values())
    refused: dict[tuple[str, str], int] = defaultdict(int)
    unknown: dict[str, int] = defaultdict(int)
    for connection, source, count in snapshot.rejections:
        if connection in configured:
            refused[(connection, source)] += count
        else:
            unknown[source] += count
    for (connection, source), count in sorted(refused.items()):
        rejected.add_metric([connection, source], count)
    for source, count in sorted(unknown.items()):
        strangers.add_metric([source], count)
    return [events, rejected, strangers]


def _writeback_families(snapshot: MetricsSnapshot, now: datetime) -> list[Metric]:
    writebacks = GaugeMetricFamily(
        "ml_connector_writebacks_pending",
        "Write-backs (bills to mark synced, failures to report) not yet accepted by Ramp.",
        labels=["connection"],
    )
    writeback_age = GaugeMetricFamily(
        "ml_connector_writeback_oldest_pending_age_seconds",
        "How long the oldest write-back still waiting for Ramp has waited (0 when none).",
        labels=["connection"],
    )
    for cid, (pending, since) in sorted(snapshot.writebacks.items()):
        writebacks.add_metric([snapshot.name(cid)], pending)
        writeback_age.add_metric([snapshot.name(cid)], max(0.0, (now - since).total_seconds()))
    return [writebacks, writeback_age]


def render_metrics(snapshot: MetricsSnapshot, *, now: datetime) -> bytes:
    """The exposition text: store-derived families, then this process's own counters."""
    families = [
        *_record_families(snapshot, now),
        *_event_families(snapshot),
        *_writeback_families(snapshot, now),
        *_durable_families(snapshot.counters, snapshot.names),
    ]
    registry = CollectorRegistry()
    registry.register(_StoreCollector(families))
    return generate_latest(registry) + generate_latest(PROCESS_REGISTRY)
