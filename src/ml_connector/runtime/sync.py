"""``sync --once``: pull the bills Ramp says are ready, sync them, and report.

The pass queues one sync record per ready bill (the store de-duplicates), then works the queue
until nothing of this pass is due. Transient failures are retried inside the pass while their
next attempt falls within ``settle_s``; what is still waiting after that stays queued for the
next pass or the worker, and is counted as ``retrying``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ml_connector.clients.ramp_models import Bill
from ml_connector.errors import AuthenticationError, ConfigurationError, RetriableVendorError
from ml_connector.flows.context import FlowContext
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.wiring import Runtime
from ml_connector.runtime.worker import Worker, bill_handler
from ml_connector.store import ConnectionStatus, SyncRecord, SyncStatus

__all__ = ["SyncSummary", "sync_once"]

Progress = Callable[[int, int], None]  # (done, total)
_LIST_ATTEMPTS = 5


@dataclass
class SyncSummary:
    connection: str
    ramp_bills_ready: int = 0
    visma_invoices_created: int = 0
    visma_invoices_updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    visma_suppliers_created: int = 0
    needs_attention: int = 0
    retrying: int = 0
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _queue_ready_bills(
    runtime: Runtime, connection_id: int, ctx: FlowContext, prefetched: dict[str, Bill]
) -> None:
    """List the ready bills, riding out a rate-limit or 5xx storm longer than in-call retries."""
    for attempt in range(_LIST_ATTEMPTS):
        try:
            await _list_ready_bills(runtime, connection_id, ctx, prefetched)
            return
        except RetriableVendorError as exc:
            if attempt == _LIST_ATTEMPTS - 1:
                raise
            await asyncio.sleep(min(exc.retry_after or 2.0**attempt, 30.0))


async def _list_ready_bills(
    runtime: Runtime, connection_id: int, ctx: FlowContext, prefetched: dict[str, Bill]
) -> None:
    async for bill in ctx.ramp.list_bills(sync_ready=True):
        prefetched[bill.id] = bill
        record = await runtime.store.upsert_record(connection_id, "bill", bill.id, reason="poll")
        if record.status == SyncStatus.SUCCEEDED:
            # Ramp still calls it unsynced (say, the write-back failed): run it again; the
            # flow finds the invoice through its link and only finishes what is missing.
            await runtime.store.upsert_record(
                connection_id, "bill", bill.id, reason="poll: not marked synced", replay=True
            )


async def sync_once(
    runtime: Runtime,
    connection_name: str,
    *,
    progress: Progress | None = None,
    settle_s: float = 60.0,
    policy: RetryPolicy | None = None,
    concurrency: int = 8,
) -> SyncSummary:
    """One polling pass over the connection's ready bills."""
    started = time.monotonic()
    connection = await runtime.store.get_connection(connection_name)
    if connection.status == ConnectionStatus.PAUSED:
        raise ConfigurationError(
            f"connection {connection.name!r} is paused: {connection.health_message.rstrip('.')}. "
            f"Fix the credentials, check with `ml-connector ping {connection.name}`, then "
            f"`ml-connector connection resume {connection.name}`."
        )
    ctx = await runtime.context(connection)
    summary = SyncSummary(connection.name)

    prefetched: dict[str, Bill] = {}
    try:
        await _queue_ready_bills(runtime, connection.id, ctx, prefetched)
    except AuthenticationError as exc:
        message = runtime.redactor.scrub_text(str(exc))
        await runtime.store.set_connection_status(connection.id, ConnectionStatus.PAUSED, message)
        raise ConfigurationError(
            f"connection {connection.name!r} paused: {message.rstrip('.')}. Fix the "
            f"credentials, check with `ml-connector ping {connection.name}`, then "
            f"`ml-connector connection resume {connection.name}`."
        ) from exc
    summary.ramp_bills_ready = len(prefetched)

    done = 0

    def on_done(record: SyncRecord) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(done, len(prefetched)), len(prefetched))

    worker = Worker(
        runtime.store,
        {connection.id: ctx},
        owner=runtime.owner,
        handler=partial(bill_handler, prefetched=prefetched),
        policy=policy or RetryPolicy(max_attempts=runtime.settings.max_attempts),
        concurrency=concurrency,
        on_done=on_done,
    )
    deadline = time.monotonic() + settle_s
    while True:
        await worker.run_until_idle(connection_id=connection.id)
        waiting = [
            r
            for r in await runtime.store.list_records(
                connection.id, status=SyncStatus.RETRY_WAIT, limit=10_000
            )
            if r.object_id in prefetched and r.next_at is not None
        ]
        if not waiting or worker.paused:
            break
        wait_s = (min(r.next_at for r in waiting if r.next_at) - datetime.now(UTC)).total_seconds()
        if time.monotonic() + wait_s > deadline:
            break
        await asyncio.sleep(max(wait_s, 0.0))

    stats = worker.stats
    summary.visma_invoices_created = stats.created
    summary.visma_invoices_updated = stats.updated
    summary.unchanged = stats.unchanged
    summary.skipped = stats.skipped
    summary.visma_suppliers_created = stats.suppliers_created
    records = await runtime.store.list_records(connection.id, limit=100_000)
    mine = [r for r in records if r.object_id in prefetched]
    summary.needs_attention = sum(r.status == SyncStatus.NEEDS_ATTENTION for r in mine)
    summary.retrying = sum(r.status == SyncStatus.RETRY_WAIT for r in mine)
    summary.elapsed_s = round(time.monotonic() - started, 3)
    return summary
