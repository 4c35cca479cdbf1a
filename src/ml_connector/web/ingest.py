"""Group commit for the webhook receivers: many requests, one write transaction.

A write transaction costs the same few milliseconds whether it stores one event or two hundred,
so the receivers do not write one each. A request hands its verified event to the
:class:`Ingestor` and waits; one flusher task takes everything waiting (up to ``max_batch``) and
stores it with ``Store.ingest_events`` in ONE transaction, then answers every waiter. While a
batch is being written the next one gathers, so the batch size follows the load by itself: one
event when requests come one at a time (no added latency), hundreds under a burst.

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
from ml_connector.store.inbox import Ingested, NewEvent

__all__ = ["IngestConfig", "IngestStats", "Ingestor"]

log = structlog.get_logger(__name__)

Writer = Callable[[Sequence[NewEvent]], Awaitable[list[Ingested]]]


@dataclass(frozen=True)
class IngestConfig:
    """``max_batch`` caps one transaction; ``linger_s`` is how long a flusher that found fewer
    than ``max_batch`` events waits for more before writing (0: only lets the requests already
    running enqueue)."""

    max_batch: int = 200
    linger_s: float = 0.0


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
        self._waiting: list[tuple[NewEvent, asyncio.Future[Ingested]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, event: NewEvent) -> Ingested:
        """Store ``event`` with the next batch and return what happened to it.

        Raises StoreError when the batch could not be stored (nothing of it was), or when the
        ingestor is closed.
        """
        if self._closed:
            raise StoreError("the webhook ingestor is shutting down")
        future: asyncio.Future[Ingested] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, future))
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
        try:
            while self._waiting:
                if self.config.linger_s > 0 and len(self._waiting) < self.config.max_batch:
                    await asyncio.sleep(self.config.linger_s)
                batch = self._waiting[: self.config.max_batch]
                del self._waiting[: self.config.max_batch]
                await self._write_batch(batch)
        finally:
            self._flusher = None
            # Only reached with waiters left when this task was cancelled: fail them, not hang.
            for _, future in self._waiting:
                if not future.done():
                    future.set_exception(StoreError("the webhook ingestor stopped"))
            self._waiting.clear()

    async def _write_batch(self, batch: list[tuple[NewEvent, asyncio.Future[Ingested]]]) -> None:
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
