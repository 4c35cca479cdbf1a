"""The worker: claim due sync records, run their flow, and record the outcome.

One unit of work = one claimed ``SyncRecord``. The outcome maps onto the record's state machine:

| the flow…                               | the record becomes                                |
|-----------------------------------------|---------------------------------------------------|
| returns                                 | succeeded (visma_ref, last payload kept)          |
| raises NeedsAttention / MappingError    | needs_attention (message + hint); Ramp told too   |
| raises FatalVendorError (4xx)           | needs_attention with the vendor's message verbatim|
| raises AuthenticationError              | retry_wait, and the connection is paused          |
| raises RetriableVendorError / anything  | retry_wait per RetryPolicy; after the last        |
|                                         | attempt needs_attention                           |

Every unit runs with its own ``Timeline`` (see ``flows.context``), flushed to the hash-chained
audit trail whatever happens, and keeps its lease renewed while the flow runs (lease_keeper).

Records carry an object type, and ``dispatcher`` (``runtime.dispatch``) runs the flow it
names. The write-backs a flow asks for (``BILL_SYNC`` with the bill's link,
``BILL_PAYMENT_SYNC`` from a payment's outcome, and the failure reports of records that stop)
go to the store's outbox; a ``WriteBackSender`` posts them in batches: the worker's own for
one-shot passes, the service's loop under ``serve`` (``send_write_backs=False`` here).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import structlog

from ml_connector.audit import AuditKind
from ml_connector.errors import (
    AuthenticationError,
    ConnectorError,
    FatalVendorError,
    NeedsAttention,
    PermissionDenied,
    ResourceBusy,
    RetriableVendorError,
)
from ml_connector.flows.context import FlowContext, Timeline, current_timeline
from ml_connector.flows.payments import PaymentOutcome
from ml_connector.flows.writeback import BILL_PAYMENT_SYNC, BILL_SYNC
from ml_connector.runtime import observe
from ml_connector.runtime.dispatch import (
    OBJECT_TYPES,
    Handler,
    Outcome,
    RunStats,
    bill_handler,
    dispatch,
    dispatcher,
    payment_handler,
    purchase_order_handler,
)
from ml_connector.runtime.fairness import WeightedRoundRobin
from ml_connector.runtime.lease_keeper import kept_lease
from ml_connector.runtime.outbox import WriteBackSender
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.store import ConnectionStatus, Store, SyncRecord

__all__ = [
    "OBJECT_TYPES",
    "Handler",
    "Outcome",
    "RunStats",
    "Worker",
    "bill_handler",
    "dispatch",
    "dispatcher",
    "payment_handler",
    "purchase_order_handler",
]

log = structlog.get_logger(__name__)
PAUSE_RETRY = timedelta(minutes=15)
# Where a failure shows in Ramp: purchase orders have no sync type, so only the record says it.
_FAILED_SYNC_TYPES = {"bill": BILL_SYNC, "payment": BILL_PAYMENT_SYNC}


class Worker:
    """Claims and runs sync records for the connections it has contexts for."""

    def __init__(
        self,
        store: Store,
        contexts: Mapping[int, FlowContext],
        *,
        owner: str,
        handler: Handler,
        policy: RetryPolicy | None = None,
        lease_s: float = 120.0,
        concurrency: int = 8,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_done: Callable[[SyncRecord], None] | None = None,
        weights: Mapping[int, int] | None = None,
        quantum: int | None = None,
        send_write_backs: bool = True,
    ) -> None:
        self.store = store
        self.contexts = contexts
        self.owner = owner
        self.handler = handler
        self.policy = policy or RetryPolicy()
        self.lease_s = lease_s
        self.concurrency = concurrency
        self.rng = rng or random.Random()
        self.clock = clock
        self.on_done = on_done
        # Claim weights by connection (``claim_weight``; 1 when absent): runtime.fairness.
        self.weights: Mapping[int, int] = weights or {}
        # Records per connection (times its weight) in one claim round; the lanes claim the
        # next round as soon as this one has started, so a small quantum costs no throughput.
        self.quantum = quantum or max(1, concurrency // 4)
        self.flush_every_s = 1.0
        self._flushed_at = time.monotonic()
        self.stats = RunStats()
        self.paused: set[int] = set()
        # Posts the outbox's write-backs as lanes finish (None: someone else does, the service).
        self.writebacks = (
            WriteBackSender(store, contexts, owner=owner, clock=clock) if send_write_backs else None
        )

    async def claim(
        self, *, connection_id: int | None = None, busy: Mapping[int, int] | None = None
    ) -> list[SyncRecord]:
        """Claim due records: from one connection, or a weighted share from each connection.

        Across connections this is one round of weighted round robin (``runtime.fairness``):
        each connection claims at most ``quantum * weight`` records, in one transaction, so one
        tenant's backlog never delays another's new record past the next round. ``busy``
        counts each connection's records being worked on now; none may hold more than
        ``lane_cap`` of them, so lanes stay free for the others even while one connection's
        calls wait (on its vendor quota, say). Records of connections without a context (or
        paused here) are never claimed.
        """
        if connection_id is not None:
            if connection_id not in self.contexts or connection_id in self.paused:
                return []
            return await self.store.claim_due(
                self.owner,
                limit=self.concurrency * 2,
                lease_s=self.lease_s,
                now=self.clock(),
                connection_id=connection_id,
            )
        rotation = WeightedRoundRobin(self.quantum, self.weights)
        quotas = rotation.quotas(c for c in self.contexts if c not in self.paused)
        for cid, working in (busy or {}).items():
            if cid in quotas:
                quotas[cid] = min(quotas[cid], max(self.lane_cap - working, 0))
        return await self.store.claim_fair(
            self.owner, quotas, lease_s=self.lease_s, now=self.clock()
        )

    @property
    def lane_cap(self) -> int:
        """The most lanes one connection may hold while working across connections."""
        return max(1, self.concurrency - self.quantum)

    async def run_until_idle(
        self, *, connection_id: int | None = None, stop: asyncio.Event | None = None
    ) -> RunStats:
        """Process every record that is due now, including retries that fall due meanwhile.

        ``concurrency`` lanes share the records claimed so far; a lane that finds none left
        claims the next round (and, at most once every ``flush_every_s``, starts posting the
        buffered write-backs beside the lanes, so they still go to Ramp in batches). So new
        work (a small tenant's bill, say) is claimed as soon as the records in hand have all
        started, never after the slowest of them. With ``stop`` set, nothing new is claimed
        and the records in hand are finished first, so a graceful shutdown leaves nothing in
        flight. A failure (the database went away, say) stops the claiming too; once every
        lane has ended it is raised.
        """
        while await self._lanes(connection_id, stop):
            if stop is not None and stop.is_set():
                break
        return self.stats

    async def _lanes(self, connection_id: int | None, stop: asyncio.Event | None) -> int:
        """Run the lanes until nothing more is claimed; how many records they claimed."""
        queue: deque[SyncRecord] = deque()
        lock = asyncio.Lock()
        failures: list[Exception] = []
        claimed = 0
        idle = False
        flushing: asyncio.Task[None] | None = None

        busy: dict[int, int] = {}
        finished = asyncio.Event()

        async def next_record() -> SyncRecord | None:
            nonlocal claimed, idle, flushing
            async with lock:
                while not queue and not idle and not failures:
                    if stop is not None and stop.is_set():
                        break
                    due = time.monotonic() - self._flushed_at >= self.flush_every_s
                    if due and (flushing is None or flushing.done()):
                        # Posted beside the lanes: a claim never waits for Ramp.
                        flushing = asyncio.create_task(self.flush_write_backs())
                    finished.clear()
                    records = await self.claim(connection_id=connection_id, busy=busy)
                    claimed += len(records)
                    queue.extend(records)
                    capped = connection_id is None and any(
                        n >= self.lane_cap for n in busy.values()
                    )
                    if records or not capped:
                        idle = not records
                        break
                    # Only connections at their lane cap have work: wait for a lane to end
                    # (or for other work to arrive), then claim again.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(finished.wait(), timeout=0.25)
                if failures or not queue:
                    return None
                record = queue.popleft()
                busy[record.connection_id] = busy.get(record.connection_id, 0) + 1
                return record

        async def lane() -> None:
            try:
                while (record := await next_record()) is not None:
                    try:
                        await self._run_one(record)
                    finally:
                        busy[record.connection_id] -= 1
                        finished.set()
            except Exception as exc:
                failures.append(exc)

        await asyncio.gather(*(lane() for _ in range(max(self.concurrency, 1))))
        if flushing is not None:
            await flushing
        if failures:  # records still queued stay leased: released or reclaimed later
            raise failures[0]
        await self.flush_write_backs()
        return claimed

    async def flush_write_backs(self) -> None:
        """Post the outbox's due write-backs of the connections this worker serves (unless the
        service posts them), then write the counted metrics."""
        self._flushed_at = time.monotonic()
        if self.writebacks is not None:
            await self.writebacks.flush()
        await observe.flush(self.store, self.contexts)  # durable metrics counters

    async def _run_one(self, record: SyncRecord) -> None:
        if record.connection_id in self.paused:
            await self._defer(record, "connection paused: credentials rejected")
        else:
            await self.process(record)

    async def process(self, record: SyncRecord) -> None:
        """Run one claimed record to its next state; never raises for flow failures."""
        ctx = self.contexts[record.connection_id]
        timeline = Timeline(record.connection_id, record.id, ctx.redactor, ctx.clock)
        token = current_timeline.set(timeline)
        unit = observe.enter_unit(self.store, ctx, record)  # log context + vendor-call attribution
        self.stats.processed += 1
        try:
            async with kept_lease(self.store, record.id, self.owner, self.lease_s, self.clock):
                outcome = await self.handler(ctx, record)
        except NeedsAttention as exc:
            await self._attention(ctx, record, exc.message, exc.hint, exc.code)
        except AuthenticationError as exc:
            await self._pause(ctx, record, exc)
        except PermissionDenied as exc:
            await self._attention(ctx, record, str(exc), "Grant the missing scope.", "scope")
        except FatalVendorError as exc:
            message = exc.vendor_message or str(exc)
            hint = f"Fix what {exc.system} names, then replay the record."
            await self._attention(ctx, record, message, hint, f"http_{exc.status}")
        except ResourceBusy as exc:
            await self._wait_busy(ctx, record, exc)
        except RetriableVendorError as exc:
            await self._retry(ctx, record, str(exc), exc.retry_after, "retriable")
        except Exception as exc:
            log.exception("unexpected error in flow", record_id=record.id)
            await self._retry(ctx, record, f"{type(exc).__name__}: {exc}", None, "internal")
        else:
            if isinstance(outcome, PaymentOutcome) and outcome.payment_sync is not None:
                # Stored before the record completes: a crash in between repeats the unit,
                # never loses the write-back.
                await ctx.writeback.add(outcome.payment_sync, sync_type=BILL_PAYMENT_SYNC)
            timeline.add(
                AuditKind.RESULT,
                {
                    "action": outcome.action,
                    "visma_ref": outcome.visma_ref,
                    "ramp_id": record.object_id,
                },
            )
            await self.store.complete(
                record.id, self.owner, visma_ref=outcome.visma_ref, payload=outcome.payload
            )
            observe.record_succeeded(self.store, ctx, record, self.clock())
            log.debug("record synced", action=outcome.action, visma_ref=outcome.visma_ref)
            self.stats.add(record, outcome)
        finally:
            current_timeline.reset(token)
            try:
                await timeline.flush(self.store)
                if self.on_done is not None:
                    self.on_done(record)
            finally:
                unit.close()

    async def _attention(
        self, ctx: FlowContext, record: SyncRecord, message: str, hint: str, code: str
    ) -> None:
        message = ctx.redactor.scrub_text(message)
        ctx.note(AuditKind.RESULT, {"error": message, "hint": hint, "code": code})
        await self.store.mark_needs_attention(
            record.id, self.owner, error=message, hint=hint, error_code=code
        )
        self.stats.needs_attention += 1
        log.warning("record needs attention", code=code, error=message)
        await self._report_failure(ctx, record, message, code)

    async def _report_failure(
        self, ctx: FlowContext, record: SyncRecord, message: str, code: str
    ) -> None:
        """Tell Ramp, so the failure shows among its Export Errors (F6), through the outbox.

        Each report is its own occurrence with its own key: a failure that recurs (after a
        replay, say) is reported again, and shows again if someone cleared it in Ramp.
        """
        sync_type = _FAILED_SYNC_TYPES.get(record.object_type)
        if sync_type is None or not ctx.options.write_back:
            return
        try:
            await ctx.writeback.report_failure(record.object_id, sync_type, message)
        except ConnectorError as exc:  # reporting is best effort; the record already says it all
            log.warning("could not queue the failure report for Ramp", error=str(exc))

    async def _retry(
        self,
        ctx: FlowContext,
        record: SyncRecord,
        error: str,
        retry_after: float | None,
        code: str,
    ) -> None:
        error = ctx.redactor.scrub_text(error)
        attempts = record.attempts
        if attempts >= self.policy.max_attempts:
            # Waiting for another worker's lock is not failing: those attempts do not count.
            history = await self.store.list_attempts(record.id)
            attempts -= sum(1 for a in history if a.error_code == "busy")
        decision = self.policy.decide(attempts, self.clock(), retry_after=retry_after, rng=self.rng)
        if decision.give_up or decision.next_at is None:
            hint = "The vendor kept failing; check its status, then replay the record."
            await self._attention(
                ctx, record, f"Gave up after {record.attempts} attempts: {error}", hint, code
            )
            return
        ctx.note(AuditKind.RESULT, {"retry_at": str(decision.next_at), "error": error})
        await self.store.schedule_retry(
            record.id, self.owner, next_at=decision.next_at, error=error, error_code=code
        )
        self.stats.retried += 1
        log.info("record retry scheduled", code=code, next_at=str(decision.next_at), error=error)

    async def _wait_busy(self, ctx: FlowContext, record: SyncRecord, exc: ResourceBusy) -> None:
        """Someone else holds a lock we need: look again soon, and never count it as failing."""
        ctx.note(AuditKind.RESULT, {"waiting": str(exc)})
        await self.store.schedule_retry(
            record.id,
            self.owner,
            next_at=self.clock() + timedelta(seconds=exc.retry_after),
            error=str(exc),
            error_code="busy",
        )
        self.stats.retried += 1

    async def _pause(self, ctx: FlowContext, record: SyncRecord, exc: AuthenticationError) -> None:
        """Bad credentials: pause the connection instead of retrying in a storm."""
        message = ctx.redactor.scrub_text(str(exc))
        self.paused.add(ctx.connection_id)
        await self.store.set_connection_status(ctx.connection_id, ConnectionStatus.PAUSED, message)
        await self._defer(record, message)

    async def _defer(self, record: SyncRecord, message: str) -> None:
        """Park a record of a paused connection until someone fixes the credentials."""
        await self.store.schedule_retry(
            record.id,
            self.owner,
            next_at=self.clock() + PAUSE_RETRY,
            error=message,
            error_code="credentials",
        )
        self.stats.retried += 1
