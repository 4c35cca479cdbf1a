"""The client-side limiters under a virtual clock: Visma's adaptive quota pacer and Ramp's window.

``VirtualTime`` parks every ``sleep`` until ``run`` moves time to the earliest wake-up, so an hour
of traffic takes a moment and no test depends on the machine's speed. The "vendor" is the Visma
sandbox's own fixed-window counter driven by the same clock.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Coroutine, Iterable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from ml_connector.clients import VismaClient, VismaCredentials
from ml_connector.clients._ratelimit import QuotaLimiter, SlidingWindowLimiter
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.sandbox.visma.ratelimit import FixedWindowLimiter

KEY = ("1", "client")
LATENCY_S = 0.05


class VirtualTime:
    """A hand-run clock: ``sleep`` parks until ``run`` moves time to the earliest wake-up."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._timers, (self.now + max(0.0, seconds), self._seq, future))
        await future

    @staticmethod
    async def settle() -> None:
        for _ in range(25):
            await asyncio.sleep(0)

    async def run(self, until: float, tasks: Iterable[asyncio.Task[Any]] = ()) -> None:
        """Run until every task is done or the next wake-up lies beyond ``until``."""
        tasks = list(tasks)
        while True:
            await self.settle()
            if tasks and all(task.done() for task in tasks):
                return
            while self._timers and self._timers[0][2].done():
                heapq.heappop(self._timers)
            if not self._timers or self._timers[0][0] > until:
                self.now = max(self.now, until)
                return
            when, _, future = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            future.set_result(None)


async def drive(vt: VirtualTime, coro: Coroutine[Any, Any, None], within: float = 1e6) -> None:
    """Run one coroutine to its end, moving virtual time as it sleeps."""
    task = asyncio.create_task(coro)
    await vt.run(until=vt.now + within, tasks=[task])
    assert task.done(), "the coroutine was still waiting"
    task.result()


def headers(remaining: int, reset: float, limit: int = 60) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(reset),
    }


def limiter_on(vt: VirtualTime, **kwargs: Any) -> QuotaLimiter:
    return QuotaLimiter(clock=vt.clock, sleep=vt.sleep, **kwargs)


class Caller:
    """Eager callers of a simulated vendor that answers with the sandbox's fixed window."""

    def __init__(self, vt: VirtualTime, limiter: QuotaLimiter, server: FixedWindowLimiter) -> None:
        self.vt, self.limiter, self.server = vt, limiter, server
        self.sent_at: list[float] = []
        self.refused_at: list[float] = []

    async def call(self, key: tuple[str, str] = KEY) -> None:
        await self.limiter.acquire()
        self.sent_at.append(self.vt.now)
        await self.vt.sleep(LATENCY_S / 2)
        decision = self.server.hit(key)
        await self.vt.sleep(LATENCY_S / 2)
        answer = {k.lower(): v for k, v in decision.headers.items()}
        if decision.allowed:
            self.limiter.observe(200, answer)
        else:
            self.refused_at.append(self.vt.now)
            self.limiter.observe(429, {**answer, "retry-after": str(decision.retry_after)})

    async def loop(self, until: float) -> None:
        while self.vt.now < until:
            await self.call()

    @property
    def refused(self) -> int:
        return len(self.refused_at)

    def start(self, workers: int, until: float) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self.loop(until)) for _ in range(workers)]


def spawn(coros: Iterable[Coroutine[Any, Any, None]]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(coro) for coro in coros]


async def cancel(tasks: Iterable[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- learning ----------------------------------------------------------------------------------


async def test_one_request_at_a_time_until_the_headers_are_known() -> None:
    """Before any answer only one request is in flight; its headers then switch pacing on."""
    vt = VirtualTime()
    limiter = limiter_on(vt)
    tasks = spawn(limiter.acquire() for _ in range(5))
    await vt.settle()
    assert (limiter.sent, limiter.in_flight) == (1, 1)
    limiter.observe(200, headers(remaining=59, reset=60))
    assert (limiter.limit, limiter.remaining) == (60, 59)
    start = vt.now
    await vt.run(until=start + 0.9, tasks=tasks)
    assert limiter.sent == 1  # paced: (60 - 2 s burst) / (59 - 1 reserve) = 1 s apart
    await vt.run(until=start + 1.05, tasks=tasks)
    assert limiter.sent == 2
    await vt.run(until=start + 2.05, tasks=tasks)
    assert limiter.sent == 3
    await cancel(tasks)


async def test_a_vendor_without_rate_headers_is_not_limited() -> None:
    """After two answers without X-RateLimit headers every waiting request goes at once."""
    vt = VirtualTime()
    limiter = limiter_on(vt)
    tasks = spawn(limiter.acquire() for _ in range(6))
    await vt.settle()
    limiter.observe(200, {})
    await vt.settle()
    assert limiter.sent == 2
    limiter.observe(200, {})
    await vt.run(until=vt.now, tasks=tasks)
    assert limiter.sent == 6
    assert limiter.unlimited
    limiter.observe(200, headers(remaining=3, reset=60))
    assert not limiter.unlimited
    assert limiter.available == 0  # 4 still in flight, 3 left: pacing is back on


async def test_release_frees_a_request_that_got_no_answer() -> None:
    """A request that failed in transit no longer counts as in flight."""
    vt = VirtualTime()
    limiter = limiter_on(vt)
    tasks = spawn(limiter.acquire() for _ in range(2))
    await vt.settle()
    assert limiter.sent == 1
    limiter.release()
    await vt.run(until=vt.now, tasks=tasks)
    assert (limiter.sent, limiter.in_flight) == (2, 1)


# --- pacing, bursts and the quota ---------------------------------------------------------------


async def test_pacing_spreads_one_window_evenly() -> None:
    """Eager callers get the window's 60 calls spread over 60 s, not spent at once."""
    vt = VirtualTime()
    server = FixedWindowLimiter(60, clock=vt.clock, window_s=60)
    caller = Caller(vt, limiter_on(vt), server)
    start = vt.now
    tasks = caller.start(workers=4, until=start + 59.9)
    await vt.run(until=start + 59.9, tasks=tasks)
    await cancel(tasks)
    first_half = sum(1 for t in caller.sent_at if t < start + 30)
    assert 25 <= first_half <= 35
    assert caller.refused == 0
    assert server.windows(KEY)[0].used == 60  # the end-of-window burst spent the reserve
    gaps = [b - a for a, b in zip(caller.sent_at[1:50], caller.sent_at[2:51], strict=True)]
    assert max(gaps) < 1.5


async def test_a_simulated_hour_never_exceeds_the_quota() -> None:
    """3,600 calls/hour, 50 ms latency, 6 callers: two hours, no 429, each window ≥ 95 % full."""
    vt = VirtualTime()
    server = FixedWindowLimiter(3600, clock=vt.clock, window_s=3600)
    caller = Caller(vt, limiter_on(vt), server)
    end = vt.now + 2 * 3600 + 60
    tasks = caller.start(workers=6, until=end)
    await vt.run(until=end, tasks=tasks)
    await cancel(tasks)
    windows = server.windows(KEY)
    assert caller.refused == 0
    assert caller.limiter.throttled == 0
    assert len(windows) >= 2
    for window in windows[:2]:
        assert window.refused == 0
        assert 0.95 * 3600 <= window.used <= 3600


async def test_two_processes_share_one_company_quota() -> None:
    """Two limiters on one key learn each other's use from the headers: windows stay full.

    Each only knows its own requests in flight, so in the end-of-window burst both may spend
    the last few calls: a handful of 429s per window, each closing that process's gate until
    the reset. Outside the burst there are none.
    """
    vt = VirtualTime()
    server = FixedWindowLimiter(600, clock=vt.clock, window_s=600)
    callers = [Caller(vt, limiter_on(vt), server) for _ in range(2)]
    end = vt.now + 2 * 600 + 30
    tasks = [task for caller in callers for task in caller.start(workers=3, until=end)]
    await vt.run(until=end, tasks=tasks)
    await cancel(tasks)
    windows = server.windows(KEY)[:2]
    assert [w.used for w in windows] == [600, 600]
    assert all(w.refused <= 4 for w in windows)
    burst_s = callers[0].limiter.burst
    for caller in callers:
        refused_at = caller.refused_at
        starts = [w.start for w in windows]
        assert all(
            any(s + 600 - burst_s - 1 <= t <= s + 600 + 1 for s in starts) for t in refused_at
        )


async def test_idle_time_is_made_up_later_in_the_window() -> None:
    """Half a window with no work: the other half spends the whole quota anyway."""
    vt = VirtualTime()
    server = FixedWindowLimiter(60, clock=vt.clock, window_s=60)
    caller = Caller(vt, limiter_on(vt), server)
    start = vt.now
    first = asyncio.create_task(caller.call())  # opens the window and teaches the limiter
    await vt.run(until=start + 30, tasks=[first])
    await vt.run(until=start + 30)
    tasks = caller.start(workers=3, until=start + 59.9)
    await vt.run(until=start + 59.9, tasks=tasks)
    await cancel(tasks)
    assert server.windows(KEY)[0].used == 60
    assert caller.refused == 0


async def test_burst_at_the_end_of_the_window() -> None:
    """In the window's last seconds everything left goes at once; then the limiter waits."""
    vt = VirtualTime()
    limiter = limiter_on(vt)
    await drive(vt, limiter.acquire())
    limiter.observe(200, headers(remaining=10, reset=100))
    await vt.run(until=vt.now + 99)
    tasks = spawn(limiter.acquire() for _ in range(11))
    await vt.settle()
    assert limiter.sent == 11  # 1 + all 10 at once, no waiting
    assert limiter.available == 0
    before = vt.now
    await vt.run(until=vt.now + 5, tasks=tasks)
    assert limiter.sent == 12
    assert vt.now >= before + 1  # the 12th waited for the reset
    assert limiter.remaining is None  # and now learns the new window


async def test_concurrent_acquirers_never_exceed_what_is_left() -> None:
    """Twenty coroutines, five calls left, no answers: only five go before the reset."""
    vt = VirtualTime()
    limiter = limiter_on(vt)
    await drive(vt, limiter.acquire())
    limiter.observe(200, headers(remaining=5, reset=100))
    tasks = spawn(limiter.acquire() for _ in range(20))
    await vt.run(until=vt.now + 99.5)
    assert limiter.sent == 1 + 5
    assert limiter.in_flight == 5
    await cancel(tasks)


async def test_headers_lowering_the_quota_mid_window_slow_the_pace() -> None:
    """Another process spent most of the quota: the spacing grows and nothing goes over."""
    vt = VirtualTime()
    limiter = limiter_on(vt, reserve=0)
    await drive(vt, limiter.acquire())
    limiter.observe(200, headers(remaining=100, reset=102, limit=200))
    started = vt.now
    await drive(vt, limiter.acquire())  # spaced (102 - 2 s burst) / 100 = 1 s after the first
    await drive(vt, limiter.acquire())  # (101 - 2) / (100 - 1 in flight) = 1 s later again
    assert vt.now == pytest.approx(started + 2.0)
    limiter.observe(200, headers(remaining=98, reset=101, limit=200))
    limiter.observe(200, headers(remaining=10, reset=101, limit=200))  # someone else's calls
    assert limiter.remaining == 10
    assert limiter.available == 10
    paced_from = vt.now
    await drive(vt, limiter.acquire())
    assert vt.now - paced_from == pytest.approx((100 - 2) / 10)  # 100 s left, 10 calls
    limiter.observe(200, headers(remaining=40, reset=91, limit=200))  # never trusted upwards
    assert limiter.remaining == 10


async def test_a_late_answer_from_an_old_window_is_ignored() -> None:
    """An answer carrying the previous window's end does not shrink the new window."""
    vt = VirtualTime()
    limiter = limiter_on(vt)
    await drive(vt, limiter.acquire())
    limiter.observe(200, headers(remaining=59, reset=60))
    await vt.run(until=vt.now + 61)
    limiter.observe(200, headers(remaining=58, reset=60))  # opens the next window
    limiter.observe(200, headers(remaining=3, reset=1))  # straggler of the old one
    assert limiter.remaining == 58
    assert limiter.window_end == pytest.approx(vt.now + 60)


# --- 429 -----------------------------------------------------------------------------------------


async def test_429_closes_the_gate_for_retry_after() -> None:
    """A 429 with Retry-After 30 holds every caller for 30 s and is counted."""
    vt = VirtualTime()
    limiter = limiter_on(vt)
    await drive(vt, limiter.acquire())
    limiter.observe(429, {"retry-after": "30"})
    assert limiter.throttled == 1
    before = vt.now
    task = asyncio.create_task(limiter.acquire())
    await vt.run(until=before + 60, tasks=[task])
    assert vt.now == pytest.approx(before + 30)
    assert limiter.waits == 1
    assert limiter.waited_s == pytest.approx(30)


async def test_429_with_rate_headers_waits_for_the_reset() -> None:
    """Visma's own 429 (remaining 0, reset 45) means the window is spent until it resets."""
    vt = VirtualTime()
    limiter = limiter_on(vt)
    await drive(vt, limiter.acquire())
    limiter.observe(200, headers(remaining=20, reset=50))
    await drive(vt, limiter.acquire())
    limiter.observe(429, {**headers(remaining=0, reset=45), "retry-after": "45"})
    assert limiter.available == 0
    before = vt.now
    task = asyncio.create_task(limiter.acquire())
    await vt.run(until=before + 100, tasks=[task])
    assert vt.now == pytest.approx(before + 45)


# --- the wiring: a real client against the sandbox --------------------------------------------


async def test_visma_client_paces_against_the_sandbox_quota() -> None:
    """Three coroutines make 150 calls through VismaClient: 60 per 60 s window, never a 429."""
    vt = VirtualTime()
    sandbox = VismaSandbox("cid", "secret", "tenant", "1", rate_limit_per_hour=60, clock=vt.clock)
    sandbox.set_rate_limit(60, window_s=60)
    creds = VismaCredentials(
        client_id="cid",
        client_secret=SecretStr("secret"),
        tenant_id="tenant",
        company_id="1",
        base_url="http://visma.test/API/controller/api",
        token_url="http://visma.test/connect/token",
    )
    limiter = limiter_on(vt)
    transport = httpx.ASGITransport(app=sandbox.app)
    async with VismaClient(creds, transport=transport, clock=vt.clock, limiter=limiter) as visma:

        async def calls(n: int) -> None:
            for _ in range(n):
                await visma.list_vat()

        tasks = spawn(calls(50) for _ in range(3))
        await vt.run(until=vt.now + 600, tasks=tasks)
        assert all(task.done() and task.exception() is None for task in tasks)
    statuses = [entry.status for entry in sandbox.journal.entries("GET", "/v1/vat")]
    assert len(statuses) == 150
    assert set(statuses) == {200}
    windows = sandbox.limiter.windows(("1", "cid"))
    assert [w.used for w in windows[:2]] == [60, 60]
    assert limiter.throttled == 0


# --- property: no header sequence lets sends exceed the learned remaining ---------------------

Step = tuple[str, int, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.integers(1, 4), st.just(0)),
        st.tuples(st.just("answer"), st.integers(0, 40), st.sampled_from([200, 200, 429])),
        st.tuples(st.just("idle"), st.integers(0, 30), st.just(0)),
    ),
    min_size=1,
    max_size=40,
)


def _run_steps(script: list[Step], window_s: int) -> None:
    """Play ``script`` within one vendor window; check every grant against every answer."""
    now = [0.0]
    end = float(window_s)

    async def sleep(seconds: float) -> None:
        now[0] += min(seconds, 1e6)
        await asyncio.sleep(0)

    async def play() -> None:
        limiter = QuotaLimiter(clock=lambda: now[0], sleep=sleep)
        grants: list[float] = []
        # (grants made before the answer, remaining it announced, requests still unanswered)
        seen: list[tuple[int, int, int]] = []
        for kind, amount, status in script:
            if now[0] >= end:
                break
            if kind == "acquire":
                for _ in range(amount):
                    await limiter.acquire()
                    grants.append(now[0])
            elif kind == "idle":
                now[0] += amount
            else:
                reset = max(1, math.ceil(end - now[0]))
                answer = headers(remaining=amount, reset=reset, limit=100)
                if status == 429:
                    answer["retry-after"] = str(reset)
                limiter.observe(status, answer)
                announced = 0 if status == 429 else amount
                seen.append((len(grants), announced, limiter.in_flight))
        for before, remaining, unanswered in seen:
            later = sum(1 for t in grants[before:] if t < end)
            assert later <= max(0, remaining - unanswered)

    asyncio.run(play())


@settings(max_examples=150, deadline=None)
@given(script=steps, window_s=st.integers(5, 200))
def test_no_header_sequence_lets_sends_exceed_the_learned_remaining(
    script: list[Step], window_s: int
) -> None:
    """Whatever the vendor announces, sends after an answer stay within its remaining."""
    _run_steps(script, window_s)


# --- Ramp's sliding window -------------------------------------------------------------------


async def test_sliding_window_keeps_ramp_under_200_per_10_s() -> None:
    """600 eager calls: never more than 200 in any 10 s (plus margin), and no idle seconds."""
    vt = VirtualTime()
    limiter = SlidingWindowLimiter(200, 10.0, clock=vt.clock, sleep=vt.sleep)
    sent: list[float] = []

    async def caller() -> None:
        for _ in range(100):
            await limiter.acquire()
            sent.append(vt.now)
            await vt.sleep(0.01)

    tasks = spawn(caller() for _ in range(6))
    await vt.run(until=vt.now + 100, tasks=tasks)
    assert len(sent) == 600
    for i, t in enumerate(sent):
        assert sum(1 for u in sent[i:] if u < t + 10.25) <= 200
    assert sent[-1] - sent[0] < 3 * 10.25 + 1
    assert limiter.waits > 0
    assert limiter.remaining >= 0


async def test_sliding_window_honours_retry_after() -> None:
    """A Ramp 429 with Retry-After 5 holds the next call for 5 s."""
    vt = VirtualTime()
    limiter = SlidingWindowLimiter(200, 10.0, clock=vt.clock, sleep=vt.sleep)
    await drive(vt, limiter.acquire())
    limiter.observe(429, {"retry-after": "5"})
    before = vt.now
    task = asyncio.create_task(limiter.acquire())
    await vt.run(until=before + 60, tasks=[task])
    assert vt.now == pytest.approx(before + 5)
    assert limiter.throttled == 1


def test_limiter_arguments_are_checked() -> None:
    """A window limiter refuses a zero limit or window."""
    with pytest.raises(ValueError, match="limit must be"):
        SlidingWindowLimiter(0, 10.0)
    with pytest.raises(ValueError, match="limit must be"):
        SlidingWindowLimiter(10, 0.0)
