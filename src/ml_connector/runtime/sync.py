"""``sync --once``: pull what Ramp has for Visma, sync it, and report.

A pass has up to three parts, run in this order: purchase orders (F3), ready bills (F1) and
payments of paid bills (F6), so a bill finds its order in Visma and a payment its invoice.
Without ``only``, bills always run, and purchase orders and payments when the connection's
settings turn them on; ``only`` (``purchase-orders``, ``bills``, ``payments``) runs just the
parts named, whatever the settings say.

The pass queues one sync record per object with work (the store de-duplicates; see
``runtime.queueing``), then works the queue until nothing of this pass is due. Transient failures
are retried inside the pass while their next attempt falls within ``settle_s``; what is still
waiting after that stays queued for the next pass or the worker, and is counted as ``retrying``.
The summary counts the pass's records per object type (``by_type``); its top-level invoice
counts are the bills'.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ml_connector.clients.ramp_models import Bill, PurchaseOrder
from ml_connector.errors import AuthenticationError, ConfigurationError, RetriableVendorError
from ml_connector.flows.context import FlowContext
from ml_connector.flows.payments import PaymentOptions
from ml_connector.flows.po_plan import ProcurementOptions
from ml_connector.runtime.queueing import queue_payments, queue_purchase_orders
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.wiring import Runtime
from ml_connector.runtime.worker import Worker, dispatcher
from ml_connector.store import Connection, ConnectionStatus, SyncRecord, SyncStatus

__all__ = ["PASSES", "SyncSummary", "parse_only", "settle", "sync_once"]

# The parts of a pass as ``sync --only`` names them, and the record type each works on.
PASSES = {"purchase-orders": "purchase_order", "bills": "bill", "payments": "payment"}

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
    only: list[str] | None = None  # the parts asked for; None: everything the settings turn on
    # object type -> {queued, created, updated, unchanged, held, skipped, needs_attention,
    # retrying}: every record of the pass, counted by what became of it
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_only(names: Iterable[str] | str | None) -> list[str] | None:
    """The pass parts named (comma-separated or several), checked; None for all."""
    if names is None:
        return None
    raw = [names] if isinstance(names, str) else list(names)
    parts = [p.strip() for item in raw for p in item.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PASSES]
    if unknown or not parts:
        raise ConfigurationError(
            f"--only takes {', '.join(PASSES)} (comma-separated), not {', '.join(unknown) or '—'}"
        )
    return [p for p in PASSES if p in parts]


def _object_types(connection: Connection, only: list[str] | None) -> list[str]:
    """The record types this pass runs, in pass order."""
    if only is not None:
        return [PASSES[name] for name in only]
    kinds = ["bill"]
    if ProcurementOptions.from_settings(connection.settings).enabled:
        kinds.insert(0, "purchase_order")
    if PaymentOptions.from_settings(connection.settings).enabled:
        kinds.append("payment")
    return kinds


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


async def _queue_orders_and_bills(
    runtime: Runtime,
    ctx: FlowContext,
    kinds: list[str],
    prefetched: dict[str, dict[str, Any]],
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Queue the first phase: purchase orders, then ready bills.

    Returns the (type, id) of the records queued, and of those the flows may queue on the way
    (the payments of paid bills).
    """
    keys: set[tuple[str, str]] = set()
    follow_ups: set[tuple[str, str]] = set()
    if "purchase_order" in kinds:
        orders: dict[str, PurchaseOrder] = {}
        await queue_purchase_orders(runtime.store, ctx, orders)
        prefetched["purchase_order"] = dict(orders)
        keys |= {("purchase_order", order_id) for order_id in orders}
    if "bill" in kinds:
        bills: dict[str, Bill] = {}
        await _queue_ready_bills(runtime, ctx.connection_id, ctx, bills)
        prefetched["bill"] = dict(bills)
        keys |= {("bill", bill_id) for bill_id in bills}
        if "payment" in kinds:  # the bill flow queues a paid bill's payment: this pass's too
            follow_ups |= {("payment", bill_id) for bill_id in bills}
    return keys, follow_ups


async def _paused(runtime: Runtime, connection: Connection, exc: AuthenticationError) -> Exception:
    message = runtime.redactor.scrub_text(str(exc))
    await runtime.store.set_connection_status(connection.id, ConnectionStatus.PAUSED, message)
    return ConfigurationError(
        f"connection {connection.name!r} paused: {message.rstrip('.')}. Fix the "
        f"credentials, check with `ml-connector ping {connection.name}`, then "
        f"`ml-connector connection resume {connection.name}`."
    )


async def settle(
    runtime: Runtime,
    worker: Worker,
    connection_id: int,
    keys: set[tuple[str, str]],
    deadline: float,
) -> None:
    """Work the queue; wait for the retries of ``keys`` while they fall due before ``deadline``.

    The worker loop every one-shot pass shares (``sync --once``, ``backfill``).
    """
    while True:
        await worker.run_until_idle(connection_id=connection_id)
        waiting = [
            r
            for r in await runtime.store.list_records(
                connection_id, status=SyncStatus.RETRY_WAIT, limit=10_000
            )
            if (r.object_type, r.object_id) in keys and r.next_at is not None
        ]
        if not waiting or worker.paused:
            return
        wait_s = (min(r.next_at for r in waiting if r.next_at) - datetime.now(UTC)).total_seconds()
        if time.monotonic() + wait_s > deadline:
            return
        await asyncio.sleep(max(wait_s, 0.0))


async def sync_once(
    runtime: Runtime,
    connection_name: str,
    *,
    only: Iterable[str] | str | None = None,
    progress: Progress | None = None,
    settle_s: float = 60.0,
    policy: RetryPolicy | None = None,
    concurrency: int = 8,
) -> SyncSummary:
    """One polling pass over the connection (see the module docstring).

    Payments are queued in a second phase, once the bills of the first are written and marked
    synced, so a bill paid before its first sync gets its payment in the same pass.
    """
    started = time.monotonic()
    parts = parse_only(only)
    connection = await _unpaused(runtime, connection_name)
    kinds = _object_types(connection, parts)
    ctx = await runtime.context(connection)
    summary = SyncSummary(connection.name, only=parts)
    prefetched: dict[str, dict[str, Any]] = {}
    try:
        keys, follow_ups = await _queue_orders_and_bills(runtime, ctx, kinds, prefetched)
    except AuthenticationError as exc:
        raise await _paused(runtime, connection, exc) from exc
    summary.ramp_bills_ready = len(prefetched.get("bill", {}))
    expected, done = len(keys), 0

    def on_done(record: SyncRecord) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(done, expected), expected)

    worker = Worker(
        runtime.store,
        {connection.id: ctx},
        owner=runtime.owner,
        handler=dispatcher(prefetched, forced=frozenset(kinds) if parts else frozenset()),
        policy=policy or RetryPolicy(max_attempts=runtime.settings.max_attempts),
        concurrency=concurrency,
        on_done=on_done,
    )
    deadline = time.monotonic() + settle_s
    keys |= follow_ups
    await settle(runtime, worker, connection.id, keys, deadline)
    if "payment" in kinds and not worker.paused:
        try:
            paid = await queue_payments(runtime.store, ctx)
        except AuthenticationError as exc:
            raise await _paused(runtime, connection, exc) from exc
        payments = {("payment", bill_id) for bill_id in paid} - keys
        expected += len(payments)
        keys |= payments
        await settle(runtime, worker, connection.id, keys, deadline)
    await _summarize(runtime, summary, worker, connection.id, keys)
    summary.elapsed_s = round(time.monotonic() - started, 3)
    return summary


async def _unpaused(runtime: Runtime, connection_name: str) -> Connection:
    """The connection; ConfigurationError, saying how to resume it, when it is paused."""
    connection = await runtime.store.get_connection(connection_name)
    if connection.status == ConnectionStatus.PAUSED:
        raise ConfigurationError(
            f"connection {connection.name!r} is paused: {connection.health_message.rstrip('.')}. "
            f"Fix the credentials, check with `ml-connector ping {connection.name}`, then "
            f"`ml-connector connection resume {connection.name}`."
        )
    return connection


async def _summarize(
    runtime: Runtime,
    summary: SyncSummary,
    worker: Worker,
    connection_id: int,
    keys: set[tuple[str, str]],
) -> None:
    """Fill ``summary`` with what the worker did and where this pass's records stand."""
    stats = worker.stats
    summary.visma_invoices_created = stats.created
    summary.visma_invoices_updated = stats.updated
    summary.unchanged = stats.unchanged
    summary.skipped = stats.skipped
    summary.visma_suppliers_created = stats.suppliers_created
    records = await runtime.store.list_records(connection_id, limit=100_000)
    mine = [r for r in records if (r.object_type, r.object_id) in keys]
    summary.needs_attention = sum(r.status == SyncStatus.NEEDS_ATTENTION for r in mine)
    summary.retrying = sum(r.status == SyncStatus.RETRY_WAIT for r in mine)
    summary.by_type = _by_type(mine, stats.by_type)


def _by_type(records: list[SyncRecord], actions: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Per object type: records of the pass, what the flows did, and where records ended."""
    counts: dict[str, dict[str, int]] = {}
    for kind in ("purchase_order", "bill", "payment"):
        of_kind = [r for r in records if r.object_type == kind]
        if not of_kind and kind not in actions:
            continue
        row = {"queued": len(of_kind)}
        for action in ("created", "updated", "unchanged", "held", "skipped"):
            row[action] = actions.get(kind, {}).get(action, 0)
        row["needs_attention"] = sum(r.status == SyncStatus.NEEDS_ATTENTION for r in of_kind)
        row["retrying"] = sum(r.status == SyncStatus.RETRY_WAIT for r in of_kind)
        counts[kind] = row
    return counts
