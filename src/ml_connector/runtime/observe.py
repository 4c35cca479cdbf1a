"""What the worker and the service loops call so that logs, metrics and alerts see their work.

- :func:`enter_unit` opens a unit of work's context: every log line carries the record and its
  connection, and every vendor call is counted for the connection and object type.
- :func:`calls_of` does the same for work outside a record (the write-back batches).
- :func:`record_succeeded` notes a success for the sync latency histogram.
- :func:`flush` writes the counted increments (and rate-limiter waits) to the store.
- :func:`tick` is the schedule loop's hook: flush, then plan and send alerts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import datetime

import structlog

from ml_connector import metrics
from ml_connector.errors import ConnectorError
from ml_connector.flows.context import FlowContext
from ml_connector.log import bound
from ml_connector.runtime import alerts, metrics_feed
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Store, SyncRecord

__all__ = ["calls_of", "enter_unit", "flush", "record_succeeded", "tick"]

log = structlog.get_logger(__name__)


def enter_unit(store: Store, ctx: FlowContext, record: SyncRecord) -> ExitStack:
    """Bind the record's log context and call attribution; ``close()`` the result to leave.

    ``store`` is the runtime's store, whose tally counts the calls.
    """
    stack = ExitStack()
    stack.enter_context(
        bound(
            connection=ctx.connection_name,
            record_id=record.id,
            object_type=record.object_type,
            object_id=record.object_id,
        )
    )
    stack.enter_context(metrics.attribute_calls(store, ctx.connection_id, record.object_type))
    return stack


@contextmanager
def calls_of(store: Store, ctx: FlowContext | None, object_type: str) -> Iterator[None]:
    """Log context and call attribution for a connection's work that is not one record.

    ``ctx`` None (the connection left the worker meanwhile): nothing is bound.
    """
    if ctx is None:
        yield
        return
    with (
        bound(connection=ctx.connection_name, object_type=object_type),
        metrics.attribute_calls(store, ctx.connection_id, object_type),
    ):
        yield


def record_succeeded(store: Store, ctx: FlowContext, record: SyncRecord, done_at: datetime) -> None:
    """Note a succeeded record for the sync latency histogram (written by :func:`flush`)."""
    metrics.observe_success(
        store,
        ctx.connection_id,
        record.object_type,
        record.id,
        created_at=record.created_at,
        done_at=done_at,
    )


def _limiter(client: object) -> object | None:
    """The client's rate limiter (read only: its ``waited_s`` and ``waits`` counters)."""
    return getattr(getattr(client, "_http", None), "limiter", None)


async def flush(store: Store, contexts: Mapping[int, FlowContext]) -> None:
    """Write what this process counted for ``store``; a failure is logged, not raised.

    The increments stay counted and go out with the next flush.
    """
    for ctx in contexts.values():
        for system, client in (("ramp", ctx.ramp), ("visma", ctx.visma)):
            limiter = _limiter(client)
            if limiter is not None:
                metrics.observe_limiter(store, ctx.connection_id, system, limiter)
    try:
        await metrics_feed.flush(store)
    except ConnectorError as exc:
        log.warning("metrics flush failed; will retry", error=str(exc))


async def tick(runtime: Runtime, contexts: Mapping[int, FlowContext], now: datetime) -> None:
    """The schedule loop's hook: flush counters, update alert groups, send due alerts.

    Never raises for a store or delivery problem: alerting must not stop the loop.
    """
    await flush(runtime.store, contexts)
    try:
        await alerts.evaluate(runtime, now=now)
        await alerts.deliver_due(runtime, now=now)
    except ConnectorError as exc:
        log.warning("alert pass failed", error=str(exc))
