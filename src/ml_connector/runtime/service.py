"""The long-running service: workers that drain the queue, and a scheduler that polls.

``Service.run(stop)`` runs three loops until ``stop`` is set:

- **work**: claim due records across the active connections (a fair share each), run them,
  flush write-backs; when nothing is due, sleep until woken (a webhook arrived: ``wake()``) or
  until ``poll_interval_s`` passes. On PostgreSQL, work queued by another process wakes it too
  (LISTEN/NOTIFY, see ``store.notify``). On stop, the batch in hand is finished and nothing new is
  claimed, so a graceful shutdown leaves no record in flight. A killed process loses nothing
  either: its leases expire and another worker reclaims the records.
- **write-backs**: a ``WriteBackSender`` posts the outbox's due rows to Ramp every
  ``writeback_interval_s`` (a second), whatever the workers are doing, so every invoiced bill is
  marked synced in Ramp within seconds of its invoice, not when more work happens to arrive. On
  stop it flushes once more after the work loop has finished its batch.
- **schedule**: per connection, a reconciliation pass: every bill Ramp lists as ready to sync
  gets a queued record, so a webhook that never arrived never loses a bill. This runs whatever
  the connection's mode, because webhooks are one-shot: in ``webhooks`` mode every
  ``reconcile_interval_s`` (the safety net), in ``polling``/``both`` mode on the connection's
  ``poll_interval_s`` or ``poll_cron`` (see ``runtime.schedule``), timed by ``wall_clock``.

Once a day the schedule loop also prunes each connection's audit entries older than its
``audit_retention_days`` setting, if it has one (``runtime.retention``), and the write-backs
settled more than ``OUTBOX_KEEP`` ago.

Connections are re-read every ``refresh_s``: a paused connection gets no new work, a resumed or
new one joins without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from ml_connector.errors import AuthenticationError, ConnectorError, StoreError
from ml_connector.flows.context import FlowContext
from ml_connector.flows.payments import PaymentOptions
from ml_connector.flows.po_plan import ProcurementOptions
from ml_connector.runtime import observe
from ml_connector.runtime.chart import chart_tick
from ml_connector.runtime.fairness import weight_from_settings
from ml_connector.runtime.outbox import WriteBackSender
from ml_connector.runtime.queueing import queue_payments, queue_purchase_orders
from ml_connector.runtime.retention import PRUNE_EVERY, prune_audit, retention_days
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.schedule import DEFAULT_SAFETY_NET_S, PollSchedule, next_due
from ml_connector.runtime.wiring import Runtime
from ml_connector.runtime.worker import RunStats, Worker, dispatch
from ml_connector.store import Connection, ConnectionStatus, SyncStatus
from ml_connector.store.notify import Listener

__all__ = ["OUTBOX_KEEP", "ReconcileResult", "Service", "reconcile"]

log = structlog.get_logger(__name__)
# How long settled write-backs stay in the outbox (what ``records show`` can still tell).
OUTBOX_KEEP = timedelta(days=90)


@dataclass(frozen=True)
class ReconcileResult:
    ready: int
    queued: int


async def reconcile(runtime: Runtime, connection: Connection) -> ReconcileResult:
    """Queue a record for every bill Ramp says is ready, streaming the pages (constant memory).

    A record that already succeeded while Ramp still lists the bill as unsynced is queued again
    (its write-back did not land); the flow then only finishes what is missing. Purchase orders
    and payments of paid bills are reconciled too when the connection's settings turn them on
    (``runtime.queueing``); their records count as queued.
    """
    ctx = await runtime.context(connection)
    ready = queued = 0
    async for bill in ctx.ramp.list_bills(sync_ready=True):
        ready += 1
        record = await runtime.store.upsert_record(
            connection.id, "bill", bill.id, reason="reconcile"
        )
        if record.status == SyncStatus.SUCCEEDED:
            await runtime.store.upsert_record(
                connection.id, "bill", bill.id, reason="reconcile: not marked synced", replay=True
            )
            queued += 1
        elif record.status == SyncStatus.PENDING:
            queued += 1
    if ProcurementOptions.from_settings(connection.settings).enabled:
        queued += await queue_purchase_orders(runtime.store, ctx, {}, reason="reconcile")
    if PaymentOptions.from_settings(connection.settings).enabled:
        queued += len(await queue_payments(runtime.store, ctx, reason="reconcile"))
    return ReconcileResult(ready, queued)


@dataclass
class Service:
    runtime: Runtime
    poll_interval_s: float = 1.0
    # The reconciliation safety net of webhooks-mode connections (polling ones set their own).
    reconcile_interval_s: float = DEFAULT_SAFETY_NET_S
    refresh_s: float = 10.0
    concurrency: int = 8
    # How long a claim lasts; a killed worker's records are reclaimable once it runs out.
    lease_s: float = 120.0
    run_scheduler: bool = True
    run_chart: bool = True
    # Wake on work queued by other processes (PostgreSQL LISTEN/NOTIFY; no-op on SQLite).
    listen: bool = True
    # How often the write-back sender posts the outbox's due rows to Ramp.
    writeback_interval_s: float = 1.0
    policy: RetryPolicy | None = None
    # After a failed pass (the database went away), wait this long, doubling up to the cap.
    outage_backoff_s: float = 0.5
    outage_cap_s: float = 15.0
    clock: Callable[[], float] = time.monotonic
    # Wall time for the reconciliation schedule: cron expressions name clock times.
    wall_clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _contexts: dict[int, FlowContext] = field(default_factory=dict)
    _connections: dict[int, Connection] = field(default_factory=dict)
    _last_reconcile: dict[int, datetime] = field(default_factory=dict)
    _last_prune: dict[int, datetime] = field(default_factory=dict)
    _weights: dict[int, int] = field(default_factory=dict)
    _refreshed_at: float = -1e18
    _listener: Listener | None = None
    _sender: WriteBackSender | None = None
    _outbox_pruned: datetime | None = None

    @property
    def listening(self) -> bool:
        """True while a LISTEN for other processes' work is in place (PostgreSQL only)."""
        return self._listener is not None and self._listener.connected.is_set()

    @property
    def writebacks(self) -> WriteBackSender:
        """The sender that posts this service's write-backs."""
        if self._sender is None:
            self._sender = WriteBackSender(
                self.runtime.store,
                self._contexts,
                owner=self.runtime.owner,
                interval_s=self.writeback_interval_s,
            )
        return self._sender

    def wake(self) -> None:
        """Something was queued: stop sleeping and claim now."""
        self._wake.set()

    async def _refresh(self) -> None:
        if self.clock() - self._refreshed_at < self.refresh_s:
            return
        connections = {c.id: c for c in await self.runtime.store.list_connections()}
        self._refreshed_at = self.clock()
        self._connections = {
            cid: c for cid, c in connections.items() if c.status == ConnectionStatus.ACTIVE
        }
        for cid in list(self._contexts):
            if cid not in self._connections:
                del self._contexts[cid]
        self._weights = {}
        for cid, connection in self._connections.items():
            try:  # cheap when nothing changed; picks up new credentials and mapping edits
                self._contexts[cid] = await self.runtime.context(connection)
                self._weights[cid] = weight_from_settings(connection.settings)
            except ConnectorError as exc:
                log.error("cannot build connection", connection=connection.name, error=str(exc))

    def _backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed passes in a row (capped exponential)."""
        return float(min(self.outage_backoff_s * 2 ** max(failures - 1, 0), self.outage_cap_s))

    async def run(self, stop: asyncio.Event) -> None:
        """Run the work and schedule loops until ``stop`` is set.

        With ``listen`` (the default) on PostgreSQL, work queued by any process (a webhook
        received by another ``serve``, a CLI replay) wakes this worker through LISTEN/NOTIFY.
        """
        worked = asyncio.Event()

        async def work() -> None:
            try:
                await self._work(stop)
            finally:
                worked.set()

        loops = [work(), self.writebacks.run(stop, last=worked)]
        if self.run_scheduler:
            loops.append(self._schedule(stop))
        if not self.listen:
            await asyncio.gather(*loops)
            return
        async with self.runtime.store.listen_for_work(
            lambda _connection_id: self.wake()
        ) as listener:
            self._listener = listener
            try:
                await asyncio.gather(*loops)
            finally:
                self._listener = None

    async def _sleep(self, stop: asyncio.Event, seconds: float, *, wakeable: bool) -> None:
        waiters = [asyncio.ensure_future(stop.wait())]
        if wakeable:
            waiters.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if wakeable:
            self._wake.clear()

    async def _work(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                stats = await self._work_pass(stop, recovering=failures > 0)
            except Exception as exc:  # the store is down, say: wait, then carry on
                failures += 1
                log.error(
                    "worker pass failed",
                    error=self.runtime.redactor.scrub_text(str(exc)),
                    failures=failures,
                )
                await self._sleep(stop, self._backoff(failures), wakeable=False)
                continue
            if failures:
                log.info("worker recovered", after_failures=failures)
                failures = 0
            if stats.processed:
                log.info("worker pass", processed=stats.processed, created=stats.created)
            await self._sleep(stop, self.poll_interval_s, wakeable=True)

    async def _work_pass(self, stop: asyncio.Event, *, recovering: bool) -> RunStats:
        """Refresh the connections, then claim and work until nothing is due.

        After a failed pass (``recovering``), the records that pass still held are released
        first: its units have all ended, so nobody works on them, and waiting for their leases
        to expire would only delay them.
        """
        await self._refresh()
        if recovering:
            released = await self.runtime.store.release_owned(self.runtime.owner)
            if released:
                log.info("released records of a failed pass", records=released)
        worker = Worker(
            self.runtime.store,
            self._contexts,
            owner=self.runtime.owner,
            handler=dispatch,
            policy=self.policy or RetryPolicy(max_attempts=self.runtime.settings.max_attempts),
            concurrency=self.concurrency,
            lease_s=self.lease_s,
            weights=self._weights,
            send_write_backs=False,  # the write-back loop posts them, busy or idle
        )
        return await worker.run_until_idle(stop=stop)

    async def _chart(self, connections: list[Connection]) -> None:
        """Chart alignment (F4): push to Ramp when Visma changed or the interval passed."""
        for connection in connections:
            try:
                result = await chart_tick(self.runtime, connection)
            except ConnectorError as exc:
                log.warning("chart push failed", connection=connection.name, error=str(exc))
                continue
            if result is not None:
                log.info("chart pushed", connection=connection.name)

    def _reconcile_due(self, connection: Connection) -> datetime:
        """When the connection's next reconciliation pass is due (a bad schedule: safety net)."""
        last = self._last_reconcile.get(connection.id)
        try:
            schedule = PollSchedule.from_settings(connection.settings)
        except ConnectorError as exc:
            schedule = PollSchedule("webhooks")
            due = next_due(schedule, last, safety_net_s=self.reconcile_interval_s)
            if self.wall_clock() >= due:  # once per safety-net pass, not on every tick
                log.warning("bad poll schedule", connection=connection.name, error=str(exc))
            return due
        return next_due(schedule, last, safety_net_s=self.reconcile_interval_s)

    async def _retention(self, connections: list[Connection], now: datetime) -> None:
        """Once a day per connection, prune audit entries past ``audit_retention_days``."""
        for connection in connections:
            last = self._last_prune.get(connection.id)
            if last is not None and now - last < PRUNE_EVERY:
                continue
            self._last_prune[connection.id] = now
            try:
                days = retention_days(connection.settings)
                if days is None:
                    continue
                pruned = await prune_audit(self.runtime, connection, older_than_days=days, now=now)
            except ConnectorError as exc:
                log.warning("audit prune failed", connection=connection.name, error=str(exc))
                continue
            if pruned:
                log.info("audit pruned", connection=connection.name, entries=pruned)

    async def _schedule(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await self._schedule_pass()
            except Exception as exc:  # the store is down, say: wait, then carry on
                failures += 1
                log.error(
                    "schedule pass failed",
                    error=self.runtime.redactor.scrub_text(str(exc)),
                    failures=failures,
                )
                await self._sleep(stop, self._backoff(failures), wakeable=False)
                continue
            failures = 0
            with contextlib.suppress(asyncio.CancelledError):
                await self._sleep(stop, 1.0, wakeable=False)

    async def _schedule_pass(self) -> None:
        """Reconcile the connections that are due, push the chart, prune the audit trail."""
        await self._refresh()
        now = self.wall_clock()
        for cid, connection in list(self._connections.items()):
            if now < self._reconcile_due(connection):
                continue
            self._last_reconcile[cid] = now
            try:
                result = await reconcile(self.runtime, connection)
            except AuthenticationError as exc:
                message = self.runtime.redactor.scrub_text(str(exc))
                await self.runtime.store.set_connection_status(
                    cid, ConnectionStatus.PAUSED, message
                )
                self._refreshed_at = -1e18  # drop the paused connection at once
                log.warning("connection paused", connection=connection.name, error=message)
                continue
            except StoreError:
                # The pass did not finish: run it again as soon as the store answers.
                self._last_reconcile.pop(cid, None)
                raise
            except ConnectorError as exc:
                log.warning("reconcile failed", connection=connection.name, error=str(exc))
                continue
            if result.queued:
                self.wake()
            log.info("reconciled", connection=connection.name, ready=result.ready)
        if self.run_chart:
            await self._chart(list(self._connections.values()))
        await self._retention(list(self._connections.values()), now)
        if self._outbox_pruned is None or now - self._outbox_pruned >= PRUNE_EVERY:
            self._outbox_pruned = now
            pruned = await self.runtime.store.prune_writebacks(now - OUTBOX_KEEP)
            if pruned:
                log.info("write-back outbox pruned", rows=pruned)
        await observe.tick(self.runtime, self._contexts, now)  # metrics flush, alerts
