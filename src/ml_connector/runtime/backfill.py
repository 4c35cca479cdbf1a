"""``backfill NAME --since DATE``: queue every ready Ramp bill created since a date, then sync.

The bills stream page by page (``from_created_at``) and are never held as a list: each one is
checked and, when ready, queued at once, so memory stays flat however many bills the date
covers. Only the ids of the queued records are kept, to know which retries belong to this run.

A bill is ready when it is approved, not archived and ``NOT_SYNCED`` in Ramp. Records that
already succeeded, or stopped for a person, are left alone (queueing is an upsert that never
replays), so a second backfill over the same dates creates nothing. The queue is then worked
with the same loop ``sync --once`` uses (``runtime.sync.settle``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Any

from ml_connector.clients.ramp_models import Bill
from ml_connector.errors import AuthenticationError, ConfigurationError
from ml_connector.flows.context import FlowContext
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.sync import settle
from ml_connector.runtime.wiring import Runtime
from ml_connector.runtime.worker import Worker, dispatcher
from ml_connector.store import Connection, ConnectionStatus, SyncRecord, SyncStatus

__all__ = ["BackfillSummary", "backfill", "is_ready", "since_instant"]

# A record found in one of these is this run's work; succeeded, excluded and needs-attention
# records are a person's or an earlier run's business (replay them explicitly).
_WORKABLE = frozenset({SyncStatus.PENDING, SyncStatus.RETRY_WAIT, SyncStatus.IN_FLIGHT})

Listed = Callable[[int, int], None]  # (bills seen, bills queued), while streaming
Worked = Callable[[int, int], None]  # (records done, records queued), while syncing


@dataclass
class BackfillSummary:
    connection: str
    since: str
    bills_seen: int = 0
    bills_queued: int = 0
    visma_invoices_created: int = 0
    visma_invoices_updated: int = 0
    unchanged: int = 0
    needs_attention: int = 0
    retrying: int = 0
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def since_instant(value: date | datetime) -> datetime:
    """The UTC instant a ``--since`` value names: a bare date means its midnight, UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, clock_time.min, tzinfo=UTC)


def is_ready(bill: Bill) -> bool:
    """Approved, not archived and not yet synced: a bill the connector should write."""
    return (
        (bill.approval_status or "").upper() == "APPROVED"
        and bill.archived_at is None
        and bill.sync_status == "NOT_SYNCED"
    )


async def backfill(
    runtime: Runtime,
    connection_name: str,
    since: date | datetime,
    *,
    on_listed: Listed | None = None,
    on_worked: Worked | None = None,
    settle_s: float = 60.0,
    policy: RetryPolicy | None = None,
    concurrency: int = 8,
) -> BackfillSummary:
    """Queue the ready bills created at or after ``since`` and work them (module docstring).

    Raises ConfigurationError when the connection is paused, or gets paused because Ramp
    refused its credentials while listing.
    """
    started = time.monotonic()
    instant = since_instant(since)
    connection = await runtime.store.get_connection(connection_name)
    if connection.status == ConnectionStatus.PAUSED:
        raise ConfigurationError(
            f"connection {connection.name!r} is paused: {connection.health_message.rstrip('.')}. "
            f"Resume it with `ml-connector connection resume {connection.name}` first."
        )
    ctx = await runtime.context(connection)
    summary = BackfillSummary(connection.name, instant.isoformat())
    keys = await _queue_ready(runtime, ctx, connection, instant, summary, on_listed)
    summary.bills_queued = len(keys)

    done = 0

    def on_done(record: SyncRecord) -> None:
        nonlocal done
        done += 1
        if on_worked is not None:
            on_worked(min(done, len(keys)), len(keys))

    worker = Worker(
        runtime.store,
        {connection.id: ctx},
        owner=runtime.owner,
        handler=dispatcher(),
        policy=policy or RetryPolicy(max_attempts=runtime.settings.max_attempts),
        concurrency=concurrency,
        on_done=on_done,
    )
    await settle(runtime, worker, connection.id, keys, time.monotonic() + settle_s)

    stats = worker.stats
    summary.visma_invoices_created = stats.created
    summary.visma_invoices_updated = stats.updated
    summary.unchanged = stats.unchanged
    for status, field in (
        (SyncStatus.NEEDS_ATTENTION, "needs_attention"),
        (SyncStatus.RETRY_WAIT, "retrying"),
    ):
        rows = await runtime.store.list_records(connection.id, status=status, limit=100_000)
        setattr(summary, field, sum((r.object_type, r.object_id) in keys for r in rows))
    summary.elapsed_s = round(time.monotonic() - started, 3)
    return summary


async def _queue_ready(
    runtime: Runtime,
    ctx: FlowContext,
    connection: Connection,
    instant: datetime,
    summary: BackfillSummary,
    on_listed: Listed | None,
) -> set[tuple[str, str]]:
    """List the bills created since ``instant`` and queue the ready ones; the keys to work.

    Pauses the connection (and raises ConfigurationError) when Ramp refuses its credentials.
    """
    keys: set[tuple[str, str]] = set()
    try:
        async for bill in ctx.ramp.list_bills(from_created_at=instant):
            summary.bills_seen += 1
            if is_ready(bill):
                record = await runtime.store.upsert_record(
                    connection.id, "bill", bill.id, reason="backfill"
                )
                if record.status in _WORKABLE:
                    keys.add(("bill", bill.id))
            if on_listed is not None:
                on_listed(summary.bills_seen, len(keys))
    except AuthenticationError as exc:
        message = runtime.redactor.scrub_text(str(exc))
        await runtime.store.set_connection_status(connection.id, ConnectionStatus.PAUSED, message)
        raise ConfigurationError(f"connection {connection.name!r} paused: {message}") from exc
    return keys
