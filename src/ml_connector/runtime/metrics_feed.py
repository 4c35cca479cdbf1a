"""Feeding the metrics from the store: the runtime reads and writes, ``metrics`` counts.

``ml_connector.metrics`` never touches the store. :func:`flush` takes what this process counted
for a store (``metrics.tally_for``) and adds it, with the latency histogram's increments, to the
store's durable counters; :func:`read_snapshot` reads the store's numbers into the plain
:class:`~ml_connector.metrics_exposition.MetricsSnapshot` that ``/metrics`` renders.
"""

from __future__ import annotations

from datetime import datetime

from ml_connector import metrics, metrics_exposition
from ml_connector.metrics_exposition import MetricsSnapshot, RecordGauges
from ml_connector.store import Store

__all__ = ["flush", "read_snapshot", "render_metrics"]


async def flush(store: Store) -> None:
    """Add this process's counted increments for ``store`` to its durable counters.

    A record's latency runs from when it was queued: its creation, or its last replay
    (an update of an object already synced) when it had one. On a store error the increments
    are kept for the next flush, and the error is raised.
    """
    tally = metrics.tally_for(store)
    counts, successes = tally.take()
    if not counts and not successes:
        return
    try:
        requeued = await store.requeued_at(s.record_id for s in successes)
        await store.add_counters(metrics.increments_with_latency(counts, successes, requeued))
    except BaseException:
        tally.give_back(counts, successes)
        raise


async def read_snapshot(store: Store) -> MetricsSnapshot:
    """The store's numbers behind the store-derived metric families, as plain values."""
    names = {c.id: c.name for c in await store.list_connections()}
    records = [
        RecordGauges(
            connection_id=stats.connection_id,
            counts={state.value: count for state, count in stats.counts.items()},
            by_type={
                kind: {state.value: count for state, count in per_state.items()}
                for kind, per_state in stats.by_type.items()
            },
            oldest_pending_at=stats.oldest_pending_at,
        )
        for stats in await store.record_stats()
    ]
    events = await store.event_counts()
    logged = await store.rejection_counts()
    tallies = await store.list_rejection_tallies()
    rejections = [(connection, source, count) for (connection, source), count in logged.items()]
    rejections += [(tally.scope, tally.source, tally.count) for tally in tallies]
    return MetricsSnapshot(
        names=names,
        records=records,
        events=events,
        rejections=rejections,
        writebacks=await store.writeback_backlog(),
        counters=await store.counters(),
    )


async def render_metrics(store: Store, *, now: datetime) -> bytes:
    """The ``/metrics`` exposition text for ``store`` (see ``metrics_exposition``)."""
    return metrics_exposition.render_metrics(await read_snapshot(store), now=now)
