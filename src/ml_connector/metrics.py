"""Prometheus metrics, derived from the store so every process reports the same numbers.

This module counts; ``metrics_exposition`` renders. Neither reads the store itself:
``runtime.metrics_feed`` reads it and hands the values over (a snapshot to render, the durable
increments to write).

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

from prometheus_client import CollectorRegistry, Counter, Histogram

from ml_connector.clients import CallRecord

__all__ = [
    "CONTENT_TYPE",
    "LATENCY_BUCKETS",
    "PROCESS_REGISTRY",
    "CounterKey",
    "Success",
    "Tally",
    "attribute_calls",
    "calls_per_bill",
    "increments_with_latency",
    "labels_text",
    "observe_call",
    "observe_limiter",
    "observe_success",
    "parse_labels",
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

CounterKey = tuple[int, str, str]
"""A durable counter: (connection id, name, labels text)."""

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
class Success:
    """A record that succeeded, for the sync latency histogram."""

    connection_id: int
    object_type: str
    record_id: int
    created_at: datetime
    done_at: datetime


@dataclass
class Tally:
    """Increments of one store's durable counters, not yet written."""

    counts: dict[CounterKey, float] = field(default_factory=lambda: defaultdict(float))
    successes: list[Success] = field(default_factory=list)
    # Per limiter object: (waited seconds, waits) when last read, so only deltas are added.
    limiters: WeakKeyDictionary[Any, tuple[float, int]] = field(default_factory=WeakKeyDictionary)

    def add(self, connection_id: int, name: str, labels: str, amount: float) -> None:
        self.counts[(connection_id, name, labels)] += amount

    def take(self) -> tuple[dict[CounterKey, float], list[Success]]:
        """Everything counted so far; the tally starts again from zero."""
        counts, successes = dict(self.counts), self.successes
        self.counts, self.successes = defaultdict(float), []
        return counts, successes

    def give_back(self, counts: Mapping[CounterKey, float], successes: list[Success]) -> None:
        """Return increments a failed flush could not write, to be written by the next one."""
        for key, amount in counts.items():
            self.counts[key] += amount
        self.successes = successes + self.successes


_TALLIES: WeakKeyDictionary[object, Tally] = WeakKeyDictionary()


def tally_for(store: object) -> Tally:
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
def attribute_calls(store: object, connection_id: int, object_type: str) -> Iterator[None]:
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


def observe_limiter(store: object, connection_id: int, system: str, limiter: object) -> None:
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
    store: object,
    connection_id: int,
    object_type: str,
    record_id: int,
    *,
    created_at: datetime,
    done_at: datetime,
) -> None:
    """Note a record that succeeded; its latency is measured from when it was last queued."""
    tally_for(store).successes.append(
        Success(connection_id, object_type, record_id, created_at, done_at)
    )


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def increments_with_latency(
    counts: Mapping[CounterKey, float],
    successes: Iterable[Success],
    requeued: Mapping[int, datetime],
) -> dict[CounterKey, float]:
    """``counts`` plus the latency histogram's increments for ``successes``.

    A record's latency runs from when it was queued: its creation, or its last replay
    (``requeued``, by record id: an update of an object already synced) when it had one.
    """
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
    return increments


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
