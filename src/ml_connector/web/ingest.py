"""Group commit for the webhook receivers: many requests, one write transaction.

A write transaction costs the same few milliseconds whether it stores one event or two hundred,
so the receivers do not write one each. A request hands its verified event to the
:class:`Ingestor` and waits; one flusher task takes everything waiting (up to ``max_batch``) and
stores it with ``Store.ingest_events`` in ONE transaction, then answers every waiter. While a
batch is being written the next one gathers, so the batch size follows the load by itself: one
event when requests come one at a time (no added latency), hundreds under a burst.

Two things keep batches from fragmenting under load, where the first request of a wave would
otherwise be written alone and the rest of the wave would wait a whole transaction for it:

- Before it writes, the flusher yields to the event loop for as long as that brings more
  events (requests whose bytes have already arrived reach ``submit`` a round later).
- In a busy period (the previous batch ended less than ``busy_window_s`` ago, so its senders
  are likely on their way back), it also waits up to ``linger_s`` until as many events wait
  as the previous batch had. A request that arrives after a quiet spell is written at once.

Guarantees, unchanged from one transaction per request: a waiter is answered only after its
event committed (or was found to be a duplicate); a batch that fails fails for all its waiters
and leaves nothing behind (the vendor is told to retry); duplicates are decided by the store.

The flusher is started on demand by the first waiting event and ends when nothing waits, so an
idle app holds no task and no lifespan is needed (tests drive the app over ASGITransport).
``close`` waits for the flusher and refuses new events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from ml_connector.errors import StoreError
from ml_connector.runtime.webhooks import Ingested, NewEvent

__all__ = ["IngestConfig", "IngestStats", "Ingestor"]

log = structlog.get_logger(__name__)

Writer = Callable[[Sequence[NewEvent]], Awaitable[list[Ingested]]]
Waiter = tuple[NewEvent, "asyncio.Future[Ingested]"]


@dataclass(frozen=True)
class IngestConfig:
    """How batches form (see the module docstring): ``max_batch`` caps one transaction;
    ``gather_rounds`` caps the loop rounds a flusher yields while events keep arriving;
    ``linger_s`` (0: never) is the longest it waits for a busy period's next batch to fill,
    and ``busy_window_s`` how soon after the previous batch a flush counts as busy."""

    max_batch: int = 200
    gather_rounds: int = 8
    linger_s: float = 0.002
    busy_window_s: float = 0.010


@dataclass
class IngestStats:
    """Counters since start: batches written (or failed), and events in them."""

    batches: int = 0
    events: int = 0
    failed_batches: int = 0
    largest_batch: int = 0


class Ingestor:
    """Batches ``submit`` calls into ``write`` calls (``Store.ingest_events``)."""

    def __init__(self, write: Writer, config: IngestConfig | None = None) -> None:
        self._write = write
        self.config = config or IngestConfig()
        self.stats = IngestStats()
        self._waiting: list[Waiter] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self._previous = 0  # the size of the last batch written …
        self._previous_at = float("-inf")  # … and the loop time it was done
        self._filled: asyncio.Future[None] | None = None  # set while lingering
        self._fill_to = 0

    async def submit(self, event: NewEvent) -> Ingested:
        """Store ``event`` with the next batch and return what happened to it.

        Raises StoreError when the batch could not be stored (nothing of it was), or when the
        ingestor is closed.
        """
        if self._closed:
            raise StoreError("the webhook ingestor is shutting down")
        future: asyncio.Future[Ingested] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, future))
        if self._filled is not None and len(self._waiting) >= self._fill_to:
            self._stop_lingering()
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="webhook-ingest")
        return await future

    def open(self) -> None:
        """Accept events again after ``close`` (an app whose lifespan starts once more)."""
        self._closed = False

    async def close(self) -> None:
        """Refuse new events and wait until every waiting one is written."""
        self._closed = True
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                await self._gather(loop)
                batch = self._waiting[: self.config.max_batch]
                del self._waiting[: self.config.max_batch]
                await self._write_batch(batch)
                self._previous, self._previous_at = len(batch), loop.time()
        finally:
            self._flusher = None
            # Only reached with waiters left when this task was cancelled: fail them, not hang.
            for _, future in self._waiting:
                if not future.done():
                    future.set_exception(StoreError("the webhook ingestor stopped"))
            self._waiting.clear()

    async def _gather(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let the rest of a wave of requests join the batch (see the module docstring)."""
        limit = self.config.max_batch
        # Bytes read in one loop round reach ``submit`` in the next, so only two rounds in a
        # row that brought nothing end the gathering.
        quiet = 0
        for _ in range(self.config.gather_rounds):
            if len(self._waiting) >= limit or quiet == 2:
                break
            before = len(self._waiting)
            await asyncio.sleep(0)
            quiet = quiet + 1 if len(self._waiting) == before else 0
        fill_to = min(self._previous, limit)
        busy = loop.time() - self._previous_at < self.config.busy_window_s
        if self.config.linger_s <= 0 or not busy or len(self._waiting) >= fill_to:
            return
        self._filled, self._fill_to = loop.create_future(), fill_to
        timer = loop.call_later(self.config.linger_s, self._stop_lingering)
        try:
            await self._filled
        finally:
            timer.cancel()
            self._filled = None

    def _stop_lingering(self) -> None:
        if self._filled is not None and not self._filled.done():
            self._filled.set_result(None)

    async def _write_batch(self, batch: list[Waiter]) -> None:
        self.stats.batches += 1
        self.stats.events += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        try:
            results = await self._write([event for event, _ in batch])
        except Exception as exc:  # every waiter gets the failure; the flusher goes on
            self.stats.failed_batches += 1
            reason = str(exc) if isinstance(exc, StoreError) else f"ingest failed: {exc!r}"
            log.error("webhook batch not stored", events=len(batch), error=reason)
            for _, future in batch:
                if not future.done():
                    future.set_exception(StoreError(reason))
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a waiter that gave up (cancelled) still had its event stored
                future.set_result(result)
