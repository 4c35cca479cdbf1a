"""The write-back sender: posts the outbox's due rows to Ramp, in batches, promptly.

The flows store what Ramp must be told in the outbox (``store.outbox``, ``flows.writeback``);
:class:`WriteBackSender` delivers it. One :meth:`~WriteBackSender.flush` claims the due rows of
the connections it serves (a lease, so no other sender posts them meanwhile; on PostgreSQL other
processes skip them), posts them batch by batch (``flows.writeback.post_batch``), and records
the outcome of every row in one transaction. A flush that finds nothing costs one read.

Under ``serve`` and ``worker`` the service runs :meth:`~WriteBackSender.run`: a flush every
``interval_s`` (one second by default) whatever the worker is doing, so the last bills of a
burst are marked synced within about a second of their invoices, and a final flush after the
worker has stopped. One-shot passes (``sync --once``, replay, backfill) flush through their
worker instead. A crash between an invoice and its write-back loses nothing: the rows stay
pending, and a claim whose sender died is due again once its lease (``lease_s``, 15 s) has run
out. A lease that runs out while its POST is still under way only means the batch may be posted
twice under the same key, which Ramp answers with the first result.

Rows that meet a transient failure are due again after a backoff (one second doubling, up to
``max_backoff_s``, a minute) and keep their idempotency key. Rows Ramp refuses for good stay in the
outbox as ``refused``, with Ramp's message (``records show`` shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from ml_connector.errors import ConnectorError
from ml_connector.flows.context import FlowContext
from ml_connector.flows.writeback import BILL_SYNC, batch_key, batches, post_batch
from ml_connector.runtime import observe
from ml_connector.store import OutboxState, Settlement, Store

__all__ = ["FlushResult", "WriteBackSender"]

log = structlog.get_logger(__name__)


@dataclass
class FlushResult:
    """What flushes did: rows told to Ramp, due again later, refused for good."""

    sent: int = 0
    retrying: int = 0
    refused: int = 0

    def add(self, settlement: Settlement) -> None:
        n = len(settlement.ids)
        if settlement.state is OutboxState.SENT:
            self.sent += n
        elif settlement.state is OutboxState.PENDING:
            self.retrying += n
        else:
            self.refused += n


class WriteBackSender:
    """Delivers the outbox rows of the connections in ``contexts`` (see the module docstring).

    ``contexts`` is read at every flush, so a mapping the caller updates (the service's
    connections) is followed as it changes.
    """

    def __init__(
        self,
        store: Store,
        contexts: Mapping[int, FlowContext],
        *,
        owner: str,
        batch_size: int = 100,
        lease_s: float = 15.0,
        interval_s: float = 1.0,
        max_backoff_s: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.contexts = contexts
        self.owner = owner
        self.batch_size = batch_size
        self.lease_s = lease_s
        self.interval_s = interval_s
        self.max_backoff_s = max_backoff_s
        self.clock = clock
        self.totals = FlushResult()
        self._lock = asyncio.Lock()

    def _retry_at(self, attempts: int) -> datetime:
        delay = min(self.max_backoff_s, 2.0 ** max(attempts - 1, 0))
        return self.clock() + timedelta(seconds=delay)

    async def flush(self, *, rounds: int = 10) -> FlushResult:
        """Post what is due now (and what falls due while posting, up to ``rounds`` claims).

        Concurrent calls take turns. Raises StoreError when the store cannot be reached (the
        rows stay pending); Ramp's answers never raise.
        """
        result = FlushResult()
        async with self._lock:
            for _ in range(rounds):
                claimed = await self.store.claim_writebacks(
                    self.owner,
                    list(self.contexts),
                    key_of=batch_key,
                    batch_size=self.batch_size,
                    lease_s=self.lease_s,
                    now=self.clock(),
                )
                if not claimed:
                    break
                settled: list[Settlement] = []
                for batch in batches(claimed):
                    ctx = self.contexts.get(batch.connection_id)
                    if ctx is None:  # the connection left meanwhile: its lease runs out
                        continue
                    kind = "bill" if batch.sync_type == BILL_SYNC else "payment"
                    with observe.calls_of(self.store, ctx, kind):
                        outcome = await post_batch(ctx.ramp, batch, self._retry_at)
                        log.debug(
                            "write-back batch posted",
                            sync_type=batch.sync_type,
                            rows=len(batch.entries),
                            states=sorted({str(o.state) for o in outcome}),
                        )
                    settled += outcome
                await self.store.settle_writebacks(settled, now=self.clock())
                for settlement in settled:
                    result.add(settlement)
                    self.totals.add(settlement)
        return result

    async def run(self, stop: asyncio.Event, *, last: asyncio.Event | None = None) -> None:
        """Flush every ``interval_s`` until ``stop``; then, once ``last`` is set (the worker
        has finished its batch), flush one final time."""
        failures = 0
        while not stop.is_set():
            try:
                await self.flush()
                failures = 0
            except ConnectorError as exc:  # the store is away: the rows wait for it
                failures += 1
                log.warning("write-back flush failed", error=str(exc), failures=failures)
            pause = self.interval_s * min(2**failures, 30)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
        if last is not None:
            await last.wait()
        try:
            await self.flush()
        except ConnectorError as exc:
            log.warning("final write-back flush failed; the rows stay queued", error=str(exc))
