"""Outbound webhook delivery for the sandboxes: a queue, retries, and delivery faults.

``WebhookDispatcher`` is what a vendor sandbox hands its signed event bodies to. It answers the
question "how does an event reach the receiver", the same way for Ramp and Visma:

- Each ``enqueue`` is one event for one endpoint. Its body, headers and event id never change
  between attempts, so a receiver can de-duplicate on the event id.
- A 2xx answer delivers it. 429, 5xx, timeouts and connection errors are retried with
  exponential backoff and full jitter (a uniform pick in ``[0, min(cap, base * 2**(n-1))]``)
  until ``max_attempts`` attempts have been made. Any other answer (3xx, other 4xx) is a
  permanent failure, as Ramp documents for its own deliveries.
- ``faults`` simulates a lossy network: events can be dropped (never sent, as if lost),
  duplicated (sent twice with the same id) or delivered in shuffled order.
- ``flush()`` delivers everything that is due now, including retries that fall due while it
  runs, and returns once nothing is due. ``run(stop)`` is the background loop a served sandbox
  starts in its lifespan.

Signing is the caller's job: the dispatcher sends the bytes and headers it was given.
``enqueue`` must be called from the thread that runs the event loop (or with no loop running).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx

__all__ = ["DeliveryFaults", "DeliveryRecord", "Outcome", "WebhookDispatcher"]

Outcome = Literal["delivered", "retrying", "failed", "dropped"]


@dataclass
class DeliveryFaults:
    """Network trouble to simulate; rates are probabilities between 0 and 1."""

    drop_rate: float = 0.0  # the event is lost before its first attempt
    duplicate_rate: float = 0.0  # the event is sent a second time, same id and body
    reorder: bool = False  # due events go out in shuffled order instead of FIFO


@dataclass(frozen=True)
class DeliveryRecord:
    """One attempt (or one drop) of one event."""

    event_id: str
    url: str
    attempt: int
    status: int | None  # HTTP status, None when no answer came (timeout, connection error, drop)
    outcome: Outcome
    error: str | None = None
    at: float = 0.0


@dataclass
class _Pending:
    url: str
    body: bytes
    headers: dict[str, str]
    event_id: str
    due_at: float
    attempt: int = 0
    seq: int = 0


class _BorrowedTransport(httpx.AsyncBaseTransport):
    """Lends an injected transport to a short-lived client without letting the client close it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


class WebhookDispatcher:
    """Queue and deliver webhook requests with retries; see the module docstring."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_attempts: int = 10,
        retry_base_s: float = 1.0,
        retry_cap_s: float = 60.0,
        timeout_s: float = 10.0,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.faults = DeliveryFaults()
        self.deliveries: list[DeliveryRecord] = []
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self.timeout_s = timeout_s
        self._transport = transport
        self._rng = rng or random.Random(11)
        self._clock = clock
        self._queue: list[_Pending] = []
        self._seq = itertools.count(1)
        self._lock: asyncio.Lock | None = None
        self._wakeup: asyncio.Event | None = None

    # -- queueing -------------------------------------------------------------------------

    def enqueue(self, url: str, body: bytes, headers: dict[str, str], event_id: str) -> None:
        """Queue one event for ``url``; it is due at once. Faults may drop or duplicate it."""
        now = self._clock()
        if self.faults.drop_rate and self._rng.random() < self.faults.drop_rate:
            self.deliveries.append(DeliveryRecord(event_id, url, 0, None, "dropped", at=now))
            return
        copies = (
            2
            if self.faults.duplicate_rate and self._rng.random() < self.faults.duplicate_rate
            else 1
        )
        for _ in range(copies):
            self._queue.append(
                _Pending(url, body, dict(headers), event_id, due_at=now, seq=next(self._seq))
            )
        if self._wakeup is not None:
            self._wakeup.set()

    @property
    def pending(self) -> int:
        """How many deliveries are queued (due now or waiting for a retry)."""
        return len(self._queue)

    def next_due_in(self) -> float | None:
        """Seconds until the next queued delivery is due (0 when overdue); None when idle."""
        if not self._queue:
            return None
        return max(0.0, min(p.due_at for p in self._queue) - self._clock())

    def clear(self) -> None:
        """Forget queued deliveries and the delivery log (used by sandbox resets)."""
        self._queue.clear()
        self.deliveries.clear()

    def backoff(self, attempt: int) -> float:
        """Full-jitter delay before retry number ``attempt`` (1 = the first retry)."""
        ceiling = min(self.retry_cap_s, self.retry_base_s * (2 ** (attempt - 1)))
        return self._rng.uniform(0.0, ceiling) if ceiling > 0 else 0.0

    # -- delivering -----------------------------------------------------------------------

    async def flush(self) -> None:
        """Deliver every queued event that is due now; return once nothing is due."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            transport = _BorrowedTransport(self._transport) if self._transport else None
            async with httpx.AsyncClient(transport=transport, timeout=self.timeout_s) as client:
                while due := self._take_due():
                    for pending in due:
                        await self._attempt(client, pending)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver in the background until ``stop`` is set."""
        self._wakeup = asyncio.Event()
        try:
            while not stop.is_set():
                await self.flush()
                self._wakeup.clear()
                wait_s = self.next_due_in()
                waiters = [
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self._wakeup.wait()),
                ]
                try:
                    await asyncio.wait(waiters, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiter in waiters:
                        waiter.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await waiter
        finally:
            self._wakeup = None

    def _take_due(self) -> list[_Pending]:
        now = self._clock()
        due = [p for p in self._queue if p.due_at <= now]
        if not due:
            return []
        self._queue = [p for p in self._queue if p.due_at > now]
        if self.faults.reorder:
            self._rng.shuffle(due)
        else:
            due.sort(key=lambda p: (p.due_at, p.seq))
        return due

    async def _attempt(self, client: httpx.AsyncClient, pending: _Pending) -> None:
        pending.attempt += 1
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(pending.url, content=pending.body, headers=pending.headers)
            status = response.status_code
        except httpx.TimeoutException as exc:
            error = f"timeout: {type(exc).__name__}"
        except httpx.TransportError as exc:
            error = f"connection error: {type(exc).__name__}"
        now = self._clock()
        if status is not None and 200 <= status < 300:
            outcome: Outcome = "delivered"
        elif _retriable(status) and pending.attempt < self.max_attempts:
            outcome = "retrying"
            pending.due_at = now + self.backoff(pending.attempt)
            self._queue.append(pending)
        else:
            outcome = "failed"
        self.deliveries.append(
            DeliveryRecord(
                pending.event_id, pending.url, pending.attempt, status, outcome, error, now
            )
        )


def _retriable(status: int | None) -> bool:
    """No answer, 429 and 5xx are worth another try; everything else is final."""
    return status is None or status == 429 or status >= 500
