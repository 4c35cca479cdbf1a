"""Client-side rate limiting, one limiter per (connection, system), so we wait instead of 429.

- ``SlidingWindowLimiter``: at most ``limit`` requests in any rolling ``window_s`` (Ramp
  documents 200 per 10 s, and requests made while limited extend its window, so hitting the
  limit is worse than waiting for it). A small ``margin_s`` widens the window we count in, so
  uneven network latency cannot squeeze 201 arrivals into Ramp's 10 s.
- ``QuotaLimiter``: an adaptive pacer for a fixed-window quota that the vendor announces in
  ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (seconds) headers (Visma: calls per hour
  per company and client). See its docstring for the rules.

Every limiter takes an injected clock and sleep, so tests drive it without waiting, and keeps
counters for metrics: ``sent``, ``waits`` (acquisitions that had to wait), ``waited_s`` and
``throttled`` (429 answers seen).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

__all__ = ["QuotaLimiter", "RateLimiter", "SlidingWindowLimiter"]

Sleep = Callable[[float], Awaitable[None]]
# Answers about one window disagree on its end by the reset's rounding (whole seconds) plus
# their latency; ends further apart than this belong to different windows.
_SAME_WINDOW_S = 2.0
# The shortest pause: a float delay of 1e-13 s must still move the clock on.
_MIN_PAUSE_S = 0.001


class RateLimiter:
    """No limit: the base every limiter refines, and what it counts for metrics."""

    def __init__(self) -> None:
        self.sent = 0  # acquisitions granted
        self.waits = 0  # acquisitions that had to wait first
        self.waited_s = 0.0  # total time spent waiting
        self.throttled = 0  # 429 answers observed

    async def acquire(self) -> None:
        """Wait until one more request may be sent."""
        self.sent += 1

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from the answer to a request ``acquire`` let through."""
        if status == 429:
            self.throttled += 1

    def release(self) -> None:
        """A request ``acquire`` let through got no answer (a timeout or transport error)."""


class SlidingWindowLimiter(RateLimiter):
    """At most ``limit`` acquisitions in any rolling ``window_s`` (+ ``margin_s``) seconds.

    A 429 closes the gate for its ``Retry-After`` (Ramp documents none: then for a whole
    window, since requests made while limited would extend Ramp's window).
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        margin_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window_s <= 0 or margin_s < 0:
            raise ValueError("limit must be >= 1, window_s > 0 and margin_s >= 0")
        super().__init__()
        self.limit = limit
        self.window_s = window_s
        self.margin_s = margin_s
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._closed_until = -math.inf
        self._lock = asyncio.Lock()

    @property
    def remaining(self) -> int:
        """Sends still allowed in the current rolling window."""
        span = self.window_s + self.margin_s
        now = self._clock()
        return self.limit - sum(1 for t in self._sent if t > now - span)

    async def acquire(self) -> None:
        span = self.window_s + self.margin_s
        waited = False
        async with self._lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - span:
                    self._sent.popleft()
                if now < self._closed_until:
                    wait = self._closed_until - now
                elif len(self._sent) < self.limit:
                    self._sent.append(now)
                    self.sent += 1
                    return
                else:
                    wait = self._sent[0] + span - now
                if not waited:
                    self.waits += 1
                    waited = True
                wait = max(wait, _MIN_PAUSE_S)
                self.waited_s += wait
                await self._sleep(wait)

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        if status != 429:
            return
        self.throttled += 1
        retry_after = _number(headers.get("retry-after"))
        wait = retry_after if retry_after is not None else self.window_s
        self._closed_until = max(self._closed_until, self._clock() + wait)


class QuotaLimiter(RateLimiter):
    """Spreads a vendor's fixed-window quota over the window, learned from its headers.

    The rules, in the order ``acquire`` applies them:

    1. **429 gate.** A 429 closes the gate for ``Retry-After`` seconds (else until the
       announced reset) and counts as the window being spent.
    2. **Learning.** Until an answer has told us the window (and after the window we knew has
       reset), one request at a time is in flight: its answer's headers teach the window
       before anything else is sent. A vendor that sends no rate headers is not limited:
       after ``unlimited_after`` answers in a row without them, requests go through unpaced
       until headers appear again.
    3. **Never over.** Every answer caps what may still be sent in its window: its
       ``X-RateLimit-Remaining`` minus the requests still in flight (they may not be counted
       in it yet); every send lowers the cap by one, and a later answer only ever lowers it.
       ``available`` is that cap. The headers are the shared truth, so other processes
       spending the same company's quota lower it too; nothing is sent while it is zero.
    4. **Pacing.** Outside the last ``burst_s`` of the window, sends are spaced
       ``(time left - burst_s) / (available - reserve)`` apart, so the quota lasts the
       window instead of being spent in a burst and then blocked. Because the spacing is
       recomputed from what is left, time spent idle (no work) shortens later spacings.
    5. **Burst at the end.** In the last ``burst_s`` seconds, everything still available
       (the reserve included) may go at once: capacity left in a window is lost at reset.

    ``burst_s`` defaults to ``max(2 s, 1 % of the window)``: the reset header is in whole
    seconds, so the window's end is only known to about a second. ``reserve`` defaults to
    1 % of the limit (at least one call) and is kept back from pacing only.
    """

    def __init__(
        self,
        *,
        reserve: int | None = None,
        burst_s: float | None = None,
        unlimited_after: int = 2,
        grant_ttl_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__()
        self.reserve_override = reserve
        self.burst_override = burst_s
        self.unlimited_after = max(1, unlimited_after)
        self.grant_ttl_s = grant_ttl_s
        self._clock = clock
        self._sleep = sleep
        self.limit: int | None = None  # X-RateLimit-Limit, as last announced
        self.remaining: int | None = None  # lowest X-RateLimit-Remaining in the window
        self._budget: int | None = None  # sends still allowed in the window (rule 3)
        self.window_end: float | None = None  # clock time the window resets (upper bound)
        self.window_s: float | None = None  # the window's length, from the largest reset seen
        self.unlimited = False
        self._bare = 0  # answers in a row without rate headers
        self._closed_until = -math.inf
        self._in_flight: deque[float] = deque()  # grant times of requests not answered yet
        self._last_grant = -math.inf
        self._forgot_at = -math.inf  # when the last known window reset (or was dropped)
        self._lock = asyncio.Lock()
        self._changed: asyncio.Event | None = None

    # --- what metrics and tests read -----------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def available(self) -> int | None:
        """Requests that may still be sent in the current window; None while unknown."""
        if self._budget is None:
            return None
        return max(0, self._budget)

    @property
    def reserve(self) -> int:
        if self.reserve_override is not None:
            return max(0, self.reserve_override)
        return max(1, math.ceil((self.limit or 0) * 0.01))

    @property
    def burst(self) -> float:
        if self.burst_override is not None:
            return max(0.0, self.burst_override)
        return max(2.0, 0.01 * (self.window_s or 0.0))

    # --- acquire ---------------------------------------------------------------------------

    async def acquire(self) -> None:
        waited = False
        async with self._lock:
            while True:
                now = self._clock()
                delay = self._delay(now)
                if delay <= 0:
                    if self._budget is not None:
                        self._budget -= 1
                    self._in_flight.append(now)
                    self._last_grant = now
                    self.sent += 1
                    return
                if not waited:
                    self.waits += 1
                    waited = True
                await self._pause(max(delay, _MIN_PAUSE_S))
                self.waited_s += max(0.0, self._clock() - now)

    def _delay(self, now: float) -> float:
        """Seconds until the next send may go (0: now); ``inf``: until an answer arrives."""
        if now < self._closed_until:
            return self._closed_until - now
        if self.window_end is not None and now >= self.window_end:
            self._forget_window()
        if self.window_end is None or self._budget is None:
            # A probe granted since the window reset is out; one older than the TTL got lost.
            newest = self._in_flight[-1] if self._in_flight else -math.inf
            probing = newest >= max(self._forgot_at, now - self.grant_ttl_s)
            if self.unlimited or not probing:
                return 0.0
            return math.inf  # learning: one request at a time until the headers teach us
        available = self._budget
        left = self.window_end - now
        if available <= 0:
            return left
        if left <= self.burst:
            return 0.0
        spendable = available - self.reserve
        if spendable <= 0:
            return left - self.burst
        spacing = (left - self.burst) / spendable
        return self._last_grant + spacing - now

    async def _pause(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if an answer changes what we know."""
        if self._changed is None:
            self._changed = asyncio.Event()
        changed = self._changed
        changed.clear()
        waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(changed.wait())]
        if math.isfinite(delay):
            waiters.append(asyncio.ensure_future(self._sleep(delay)))
        else:
            waiters.append(asyncio.ensure_future(self._sleep(self.grant_ttl_s)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    # --- observe ---------------------------------------------------------------------------

    def release(self) -> None:
        if self._in_flight:
            self._in_flight.popleft()
        self._notify()

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        if self._in_flight:
            self._in_flight.popleft()
        now = self._clock()
        limit = _number(headers.get("x-ratelimit-limit"))
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset = _number(headers.get("x-ratelimit-reset"))
        if status == 429:
            # The vendor's word: the window is spent for ``Retry-After`` seconds.
            self.throttled += 1
            retry_after = _number(headers.get("retry-after"))
            wait = retry_after if retry_after is not None else reset
            wait = 1.0 if wait is None else wait  # a bare 429: back off a little
            self._closed_until = max(self._closed_until, now + wait)
            self.window_end, self.remaining, self._budget = now + wait, 0, 0
            if limit is not None:
                self.limit = int(limit)
            self._notify()
            return
        if remaining is None or reset is None:
            self._bare += 1
            if self._bare >= self.unlimited_after:
                self.unlimited = True
                self._forget_window()
            self._notify()
            return
        self._bare = 0
        self.unlimited = False
        if limit is not None:
            self.limit = int(limit)
        self._learn(now, int(remaining), reset)
        self._notify()

    def _learn(self, now: float, remaining: int, reset: float) -> None:
        ends = now + reset
        self.window_s = max(self.window_s or 0.0, reset)
        cap = remaining - len(self._in_flight)
        end, budget, lowest = self.window_end, self._budget, self.remaining
        if (
            end is None
            or budget is None
            or lowest is None
            or now >= end
            or ends > end + _SAME_WINDOW_S  # the vendor opened a new window
        ):
            self.window_end, self.remaining, self._budget = ends, remaining, cap
        elif ends < end - _SAME_WINDOW_S:
            return  # a late answer from a window that has already reset
        else:
            self.window_end = min(end, ends)
            self.remaining = min(lowest, remaining)
            self._budget = min(budget, cap)

    def _forget_window(self) -> None:
        now = self._clock()
        self.window_end = None
        self.remaining = None
        self._budget = None
        self._forgot_at = now
        # Requests neither answered nor released for ``grant_ttl_s`` are lost, not in flight.
        # Only forgotten at a reset: within a window, one might still have been counted.
        while self._in_flight and self._in_flight[0] <= now - self.grant_ttl_s:
            self._in_flight.popleft()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
