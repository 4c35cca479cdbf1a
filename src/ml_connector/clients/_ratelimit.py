"""Client-side rate limiting, one limiter per (connection, system), so we wait instead of 429.

- ``SlidingWindowLimiter``: at most ``limit`` requests in any rolling ``window_s`` (Ramp
  documents 200 per 10 s, and requests made while limited extend its window, so hitting the
  limit is worse than waiting for it).
- ``QuotaLimiter``: learns the quota from the vendor's ``X-RateLimit-Remaining`` and
  ``X-RateLimit-Reset`` (seconds) headers (Visma), and pauses when the window is spent rather
  than burning calls on 429s. A 429 with ``Retry-After`` closes the gate for that long.

Both take an injected clock and sleep, so tests can drive them without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

__all__ = ["QuotaLimiter", "RateLimiter", "SlidingWindowLimiter"]

Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    """No limit: the base every limiter refines."""

    async def acquire(self) -> None:
        """Wait until one more request may be sent."""

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from a response's status and headers."""


class SlidingWindowLimiter(RateLimiter):
    """At most ``limit`` acquisitions in any rolling ``window_s`` seconds."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()
        self.waited_s = 0.0  # total time spent waiting, for metrics

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.window_s:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                wait = self._sent[0] + self.window_s - now
                self.waited_s += wait
                await self._sleep(wait)


class QuotaLimiter(RateLimiter):
    """Pauses when the vendor says the quota window is spent, until it resets."""

    def __init__(
        self,
        *,
        reserve: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._closed_until = 0.0
        self.limit: int | None = None
        self.remaining: int | None = None
        self.waited_s = 0.0

    async def acquire(self) -> None:
        wait = self._closed_until - self._clock()
        if wait > 0:
            self.waited_s += wait
            await self._sleep(wait)

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        limit = _int(headers.get("x-ratelimit-limit"))
        remaining = _int(headers.get("x-ratelimit-remaining"))
        reset = _int(headers.get("x-ratelimit-reset"))
        if limit is not None:
            self.limit = limit
        if remaining is not None:
            self.remaining = remaining
            if remaining <= self.reserve and reset is not None:
                self._closed_until = max(self._closed_until, self._clock() + reset)
        if status == 429:
            retry_after = _int(headers.get("retry-after"))
            wait = retry_after if retry_after is not None else (reset if reset is not None else 1)
            self._closed_until = max(self._closed_until, self._clock() + wait)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
