"""The long-running service: workers that drain the queue, and a scheduler that polls.

``Service.run(stop)`` runs two loops until ``stop`` is set:

- **work**: claim due records across the active connections (a fair share each), run them,
  flush write-backs; when nothing is due, sleep until woken (a webhook arrived: ``wake()``) or
  until ``poll_interval_s`` passes. On stop, the batch in hand is finished and nothing new is
  claimed, so a graceful shutdown leaves no record in flight. A killed process loses nothing
  either: its leases expire and another worker reclaims the records.
- **schedule**: per connection, a reconciliation pass every ``reconcile_interval_s`` (the
  connection's ``poll_interval_s`` setting overrides it): every bill Ramp lists as ready to sync
  gets a queued record, so a webhook that never arrived never loses a bill. This runs whatever
  the connection's mode, because webhooks are one-shot.

Connections are re-read every ``refresh_s``: a paused connection gets no new work, a resumed or
new one joins without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from ml_connector.errors import AuthenticationError, ConnectorError
from ml_connector.flows.context import FlowContext
from ml_connector.flows.payments import PaymentOptions
from ml_connector.flows.po_plan import ProcurementOptions
from ml_connector.runtime.chart import chart_tick
from ml_connector.runtime.queueing import queue_payments, queue_purchase_orders
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.wiring import Runtime
from ml_connector.runtime.worker import Worker, dispatch
from ml_connector.store import Connection, ConnectionStatus, SyncStatus

__all__ = ["ReconcileResult", "Service", "reconcile"]

log = structlog.get_logger(__name__)


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
    reconcile_interval_s: float = 300.0
    refresh_s: float = 10.0
    concurrency: int = 8
    # How long a claim lasts; a killed worker's records are reclaimable once it runs out.
    lease_s: float = 120.0
    run_scheduler: bool = True
    run_chart: bool = True
    policy: RetryPolicy | None = None
    clock: Callable[[], float] = time.monotonic
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _contexts: dict[int, FlowContext] = field(default_factory=dict)
    _connections: dict[int, Connection] = field(default_factory=dict)
    _next_reconcile: dict[int, float] = field(default_factory=dict)
    _refreshed_at: float = -1e18

    def wake(self) -> None:
        """Something was queued: stop sleeping and claim now."""
        self._wake.set()

    async def _refresh(self) -> None:
        if self.clock() - self._refreshed_at < self.refresh_s:
            return
        self._refreshed_at = self.clock()
        connections = {c.id: c for c in await self.runtime.store.list_connections()}
        self._connections = {
            cid: c for cid, c in connections.items() if c.status == ConnectionStatus.ACTIVE
        }
        for cid in list(self._contexts):
            if cid not in self._connections:
                del self._contexts[cid]
        for cid, connection in self._connections.items():
            try:  # cheap when nothing changed; picks up new credentials and mapping edits
                self._contexts[cid] = await self.runtime.context(connection)
            except ConnectorError as exc:
                log.error("cannot build connection", connection=connection.name, error=str(exc))

    async def run(self, stop: asyncio.Event) -> None:
        """Run the work and schedule loops until ``stop`` is set."""
        loops = [self._work(stop)]
        if self.run_scheduler:
            loops.append(self._schedule(stop))
        await asyncio.gather(*loops)

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
        while not stop.is_set():
            await self._refresh()
            worker = Worker(
                self.runtime.store,
                self._contexts,
                owner=self.runtime.owner,
                handler=dispatch,
                policy=self.policy or RetryPolicy(max_attempts=self.runtime.settings.max_attempts),
                concurrency=self.concurrency,
                lease_s=self.lease_s,
            )
            try:
                stats = await worker.run_until_idle(stop=stop)
            except ConnectorError as exc:  # the store is down: wait, then carry on
                log.error("worker pass failed", error=str(exc))
                stats = None
            if stats is not None and stats.processed:
                log.info("worker pass", processed=stats.processed, created=stats.created)
            await self._sleep(stop, self.poll_interval_s, wakeable=True)

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

    async def _schedule(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._refresh()
            now = self.clock()
            for cid, connection in list(self._connections.items()):
                interval = float(
                    connection.settings.get("poll_interval_s", self.reconcile_interval_s)
                )
                if now < self._next_reconcile.get(cid, 0.0):
                    continue
                self._next_reconcile[cid] = now + interval
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
                except ConnectorError as exc:
                    log.warning("reconcile failed", connection=connection.name, error=str(exc))
                    continue
                if result.queued:
                    self.wake()
                log.info("reconciled", connection=connection.name, ready=result.ready)
            if self.run_chart:
                await self._chart(list(self._connections.values()))
            with contextlib.suppress(asyncio.CancelledError):
                await self._sleep(stop, 1.0, wakeable=False)
