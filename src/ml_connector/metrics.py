"""Prometheus metrics, derived from the store so every process reports the same numbers.

Several worker and receiver processes share one database, and any of them may serve
``/metrics``, so (almost) nothing here lives only in process memory:

- **Gauges read at scrape time**: records by connection, object type and state; queue depth and
  oldest pending age; webhook events received and rejected; calls per synced bill.
- **Durable counters** (``obs_counters``): vendor API calls by connection, system, object type
  and status class; rate-limit waits (count and seconds) by connection and system; the sync
  latency histogram (record queued → succeeded) by connection and object type. Each process
  counts into a :class:`Tally` and :func:`flush` adds it to the store after every worker batch,
  so a crash loses at most one batch's increments.
- **Process-local**: ``ml_connector_process_vendor_api_calls`` and the call duration histogram,
  for every call this process made, including those outside a unit of work (reconciliation
  listings, chart pushes) that the durable counters cannot attribute to a connection.

Calls are attributed to a connection and object type by :func:`attribute_calls`, which the
worker enters around each unit of work and each write-back flush. No label carries a secret:
labels are connection names, systems, object types, statuses.
"""

from __future__ import annotations

import contextvars
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ml_connector.clients import CallRecord
from ml_connector.store import Store, SyncStatus
from ml_connector.store.stats import CounterKey

__all__ = [
    "CONTENT_TYPE",
    "LATENCY_BUCKETS",
    "PROCESS_REGISTRY",
    "Tally",
    "attribute_calls",
    "calls_per_bill",
    "flush",
    "labels_text",
    "observe_call",
    "observe_limiter",
    "observe_success",
    "parse_labels",
    "render_metrics",
    "status_class",
    "tally_for",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Sync latency buckets, seconds: a webhook-driven bill should land within seconds; a retried
# one within minutes to hours.
LATENCY_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)

CALLS = "vendor_calls"
CALL_SECONDS = "vendor_call_seconds"
WAITS = "ratelimit_waits"
WAIT_SECONDS = "ratelimit_wait_seconds"
LATENCY_BUCKET = "sync_latency_bucket"
LATENCY_COUNT = "sync_latency_count"
LATENCY_SUM = "sync_latency_sum"

PROCESS_REGISTRY = CollectorRegistry()
"""Counters this process increments as things happen (not shared between processes)."""

_PROCESS_CALLS = Counter(
    "ml_connector_process_vendor_api_calls",
    "Vendor API calls made by this process, by system and HTTP status (or 'error').",
    ["system", "status"],
    registry=PROCESS_REGISTRY,
)
_PROCESS_SECONDS = Histogram(
    "ml_connector_process_vendor_api_call_seconds",
    "Duration of vendor API calls made by this process.",
    ["system"],
    registry=PROCESS_REGISTRY,
)


def status_class(status: int | None) -> str:
    """``2xx``…``5xx``; 429 keeps its own class (rate limited); ``error`` when no answer came."""
    if status is None:
        return "error"
    if status == 429:
        return "429"
    return f"{status // 100}xx"


def labels_text(**labels: str) -> str:
    """Canonical label text for a durable counter: ``k=v`` pairs sorted by key."""
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def parse_labels(text: str) -> dict[str, str]:
    """The labels of :func:`labels_text`."""
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


@dataclass
class _Success:
    connection_id: int
    object_type: str
    record_id: int
    created_at: datetime
    done_at: datetime


@dataclass
class Tally:
    """Increments of one store's durable counters, not yet written."""

    counts: dict[CounterKey, float] = field(default_factory=lambda: defaultdict(float))
    successes: list[_Success] = field(default_factory=list)
    # Per limiter object: (waited seconds, waits) when last read, so only deltas are added.
    limiters: WeakKeyDictionary[Any, tuple[float, int]] = field(default_factory=WeakKeyDictionary)

    def add(self, connection_id: int, name: str, labels: str, amount: float) -> None:
        self.counts[(connection_id, name, labels)] += amount

    def take(self) -> tuple[dict[CounterKey, float], list[_Success]]:
        """Everything counted so far; the tally starts again from zero."""
        counts, successes = dict(self.counts), self.successes
        self.counts, self.successes = defaultdict(float), []
        return counts, successes

    def give_back(self, counts: Mapping[CounterKey, float], successes: list[_Success]) -> None:
        """Return increments a failed flush could not write, to be written by the next one."""
        for key, amount in counts.items():
            self.counts[key] += amount
        self.successes = successes + self.successes


_TALLIES: WeakKeyDictionary[Store, Tally] = WeakKeyDictionary()


def tally_for(store: Store) -> Tally:
    """The tally of ``store`` in this process (one per store, so test runtimes never mix)."""
    found = _TALLIES.get(store)
    if found is None:
        found = _TALLIES[store] = Tally()
    return found


@dataclass(frozen=True)
class _Attribution:
    tally: Tally
    connection_id: int
    object_type: str


_attribution: contextvars.ContextVar[_Attribution | None] = contextvars.ContextVar(
    "ml_connector_metrics_attribution", default=None
)


@contextmanager
def attribute_calls(store: Store, connection_id: int, object_type: str) -> Iterator[None]:
    """Count vendor calls made inside the block for this connection and object type."""
    token = _attribution.set(_Attribution(tally_for(store), connection_id, object_type))
    try:
        yield
    finally:
        _attribution.reset(token)


def observe_call(call: CallRecord) -> None:
    """Count one vendor call (the clients' ``on_call`` data; bodies are ignored)."""
    status = str(call.status) if call.status is not None else "error"
    system = call.system.lower()
    _PROCESS_CALLS.labels(system=system, status=status).inc()
    _PROCESS_SECONDS.labels(system=system).observe(call.duration_ms / 1000.0)
    unit = _attribution.get()
    if unit is None:
        return
    labels = labels_text(
        system=system, object_type=unit.object_type, status_class=status_class(call.status)
    )
    unit.tally.add(unit.connection_id, CALLS, labels, 1)
    unit.tally.add(unit.connection_id, CALL_SECONDS, labels, call.duration_ms / 1000.0)


def observe_limiter(store: Store, connection_id: int, system: str, limiter: object) -> None:
    """Add what a client's rate limiter waited since it was last read.

    Limiters keep a running ``waited_s``; ``waits`` (how many times a request was held back)
    is used when the limiter counts it, otherwise each read that found more waiting counts one.
    """
    waited = float(getattr(limiter, "waited_s", 0.0) or 0.0)
    counted = getattr(limiter, "waits", None)
    tally = tally_for(store)
    seen_waited, seen_waits = tally.limiters.get(limiter, (0.0, 0))
    delta_s = max(0.0, waited - seen_waited)
    if isinstance(counted, int):
        delta_n = max(0, counted - seen_waits)
        tally.limiters[limiter] = (waited, counted)
    else:
        delta_n = 1 if delta_s > 0 else 0
        tally.limiters[limiter] = (waited, 0)
    if delta_s or delta_n:
        labels = labels_text(system=system)
        tally.add(connection_id, WAITS, labels, delta_n)
        tally.add(connection_id, WAIT_SECONDS, labels, delta_s)


def observe_success(
    store: Store,
    connection_id: int,
    object_type: str,
    record_id: int,
    *,
    created_at: datetime,
    done_at: datetime,
) -> None:
    """Note a record that succeeded; its latency is measured from when it was last queued."""
    tally_for(store).successes.append(
        _Success(connection_id, object_type, record_id, created_at, done_at)
    )


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


async def flush(store: Store) -> None:
    """Add this process's counted increments for ``store`` to its durable counters.

    A record's latency runs from when it was queued: its creation, or its last replay
    (an update of an object already synced) when it had one. On a store error the increments
    are kept for the next flush, and the error is raised.
    """
    tally = tally_for(store)
    counts, successes = tally.take()
    if not counts and not successes:
        return
    try:
        requeued = await store.requeued_at(s.record_id for s in successes)
        increments: dict[CounterKey, float] = defaultdict(float, counts)
        for done in successes:
            queued = max(done.created_at, requeued.get(done.record_id, done.created_at))
            seconds = max(0.0, (done.done_at - queued).total_seconds())
            kind = done.object_type
            increments[(done.connection_id, LATENCY_COUNT, labels_text(object_type=kind))] += 1
            increments[(done.connection_id, LATENCY_SUM, labels_text(object_type=kind))] += seconds
            for bound in (*LATENCY_BUCKETS, math.inf):
                if seconds <= bound:
                    key = labels_text(object_type=kind, le=_le(bound))
                    increments[(done.connection_id, LATENCY_BUCKET, key)] += 1
        await store.add_counters(increments)
    except BaseException:
        tally.give_back(counts, successes)
        raise


def calls_per_bill(
    counters: Mapping[CounterKey, float], connection_id: int
) -> dict[str, float | None]:
    """Vendor calls made for bills per bill synced, by system (None before the first bill).

    Every call made while working a bill record counts (retries and failures included), plus
    the Ramp write-backs that mark bills synced; bills synced counts successful bill syncs.
    """
    bills = counters.get((connection_id, LATENCY_COUNT, labels_text(object_type="bill")), 0.0)
    calls: dict[str, float] = {}
    for (cid, name, labels), value in counters.items():
        parsed = parse_labels(labels)
        if cid == connection_id and name == CALLS and parsed.get("object_type") == "bill":
            calls[parsed["system"]] = calls.get(parsed["system"], 0.0) + value
    return {system: (n / bills if bills else None) for system, n in sorted(calls.items())}


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


async def render_metrics(store: Store, *, now: datetime) -> bytes:
    """The exposition text: store-derived families, then this process's own counters."""
    names = {c.id: c.name for c in await store.list_connections()}
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
    for stats in await store.record_stats():
        name = names.get(stats.connection_id, str(stats.connection_id))
        for state, count in stats.counts.items():
            records.add_metric([name, state.value], count)
        for kind, per_state in sorted(stats.by_type.items()):
            for state, count in per_state.items():
                by_type.add_metric([name, kind, state.value], count)
        waiting = stats.counts[SyncStatus.PENDING] + stats.counts[SyncStatus.RETRY_WAIT]
        depth.add_metric([name], waiting)
        first = stats.oldest_pending_at
        oldest.add_metric([name], max(0.0, (now - first).total_seconds()) if first else 0.0)
    for (cid, source, status), count in sorted((await store.event_counts()).items()):
        events.add_metric([names.get(cid, str(cid)), source, status], count)
    # Only configured connections become label values: anyone can address any name, and the
    # number of series must stay bounded. Everything else is one series per source.
    configured = set(names.values())
    refused: dict[tuple[str, str], int] = defaultdict(int)
    unknown: dict[str, int] = defaultdict(int)
    for (connection, source), count in (await store.rejection_counts()).items():
        if connection in configured:
            refused[(connection, source)] += count
        else:
            unknown[source] += count
    for tally in await store.list_rejection_tallies():
        if tally.scope in configured:
            refused[(tally.scope, tally.source)] += tally.count
        else:
            unknown[tally.source] += tally.count
    for (connection, source), count in sorted(refused.items()):
        rejected.add_metric([connection, source], count)
    for source, count in sorted(unknown.items()):
        strangers.add_metric([source], count)
    for cid, (pending, since) in sorted((await store.writeback_backlog()).items()):
        name = names.get(cid, str(cid))
        writebacks.add_metric([name], pending)
        writeback_age.add_metric([name], max(0.0, (now - since).total_seconds()))
    families: list[Metric] = [
        records,
        by_type,
        depth,
        oldest,
        events,
        rejected,
        strangers,
        writebacks,
        writeback_age,
    ]
    families += _durable_families(await store.counters(), names)
    registry = CollectorRegistry()
    registry.register(_StoreCollector(families))
    return generate_latest(registry) + generate_latest(PROCESS_REGISTRY)
