"""The shared webhook dispatcher: retry policy, permanent failures, faults and the run loop."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integration.sandbox_ramp.ramp_kit import ManualClock, Receiver
from ml_connector.sandbox.delivery import WebhookDispatcher

URL = "http://receiver.test/hooks/ramp"


def _dispatcher(receiver: Receiver, **options: object) -> WebhookDispatcher:
    options.setdefault("retry_base_s", 0.0)
    return WebhookDispatcher(transport=receiver.transport, **options)  # type: ignore[arg-type]


async def test_delivers_body_and_headers_verbatim() -> None:
    """The receiver gets exactly the bytes and headers that were queued."""
    receiver = Receiver()
    dispatcher = _dispatcher(receiver)
    dispatcher.enqueue(URL, b'{"a":1}', {"X-Test": "yes"}, "evt-1")
    await dispatcher.flush()
    (got,) = receiver.received
    assert got.body == b'{"a":1}'
    assert got.headers["x-test"] == "yes"
    assert dispatcher.deliveries[0].outcome == "delivered"
    assert dispatcher.pending == 0


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_retriable_statuses_are_retried(status: int) -> None:
    """429 and 5xx answers are retried until a 2xx."""
    receiver = Receiver(statuses=[status, status])
    dispatcher = _dispatcher(receiver)
    dispatcher.enqueue(URL, b"{}", {}, "evt-1")
    await dispatcher.flush()
    assert [d.status for d in dispatcher.deliveries] == [status, status, 200]
    assert {d.event_id for d in dispatcher.deliveries} == {"evt-1"}


@pytest.mark.parametrize("status", [301, 400, 401, 404, 410])
async def test_other_answers_are_permanent_failures(status: int) -> None:
    """3xx and 4xx other than 429 are not retried."""
    receiver = Receiver(statuses=[status])
    dispatcher = _dispatcher(receiver)
    dispatcher.enqueue(URL, b"{}", {}, "evt-1")
    await dispatcher.flush()
    assert [(d.status, d.outcome) for d in dispatcher.deliveries] == [(status, "failed")]
    assert len(receiver.received) == 1


async def test_gives_up_after_max_attempts() -> None:
    """An endpoint that always fails gets max_attempts tries, then the event is failed."""
    receiver = Receiver(default=500)
    dispatcher = _dispatcher(receiver, max_attempts=4)
    dispatcher.enqueue(URL, b"{}", {}, "evt-1")
    await dispatcher.flush()
    assert [d.attempt for d in dispatcher.deliveries] == [1, 2, 3, 4]
    assert dispatcher.deliveries[-1].outcome == "failed"
    assert dispatcher.pending == 0


async def test_connection_errors_are_retried() -> None:
    """A transport error is retried, with no status recorded for the failed attempt."""
    calls = 0

    async def flaky(request: Request) -> Response:
        nonlocal calls
        calls += 1
        return Response(status_code=204)

    class Broken(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.failures = 1
            self.inner = httpx.ASGITransport(
                app=Starlette(routes=[Route("/h", flaky, methods=["POST"])])
            )

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if self.failures:
                self.failures -= 1
                raise httpx.ConnectError("refused", request=request)
            return await self.inner.handle_async_request(request)

    dispatcher = WebhookDispatcher(transport=Broken(), retry_base_s=0.0)
    dispatcher.enqueue("http://r.test/h", b"{}", {}, "evt-1")
    await dispatcher.flush()
    assert [(d.status, d.outcome) for d in dispatcher.deliveries] == [
        (None, "retrying"),
        (204, "delivered"),
    ]
    assert dispatcher.deliveries[0].error == "connection error: ConnectError"
    assert calls == 1


async def test_retries_wait_for_their_backoff() -> None:
    """With a real backoff a retry is not due at once; moving the clock makes it due."""
    clock = ManualClock()
    receiver = Receiver(statuses=[503])
    dispatcher = _dispatcher(receiver, retry_base_s=2.0, clock=clock, rng=random.Random(1))
    dispatcher.enqueue(URL, b"{}", {}, "evt-1")
    await dispatcher.flush()
    assert dispatcher.pending == 1
    wait = dispatcher.next_due_in()
    assert wait is not None
    assert 0.0 <= wait <= 2.0
    clock.advance(2.0)
    await dispatcher.flush()
    assert [d.outcome for d in dispatcher.deliveries] == ["retrying", "delivered"]


def test_backoff_is_full_jitter_capped() -> None:
    """Backoff n is uniform in [0, min(cap, base * 2**(n-1))]."""
    dispatcher = WebhookDispatcher(retry_base_s=1.0, retry_cap_s=60.0, rng=random.Random(3))
    for attempt in range(1, 12):
        ceiling = min(60.0, 2.0 ** (attempt - 1))
        delays = [dispatcher.backoff(attempt) for _ in range(50)]
        assert all(0.0 <= d <= ceiling for d in delays)
    assert max(dispatcher.backoff(10) for _ in range(200)) > 30.0


async def test_run_loop_delivers_in_the_background() -> None:
    """run(stop) delivers events enqueued while it runs and ends when stop is set."""
    receiver = Receiver()
    dispatcher = _dispatcher(receiver)
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run(stop))
    await asyncio.sleep(0)
    dispatcher.enqueue(URL, b"{}", {}, "evt-1")
    for _ in range(100):
        if receiver.received:
            break
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(loop, timeout=2)
    assert len(receiver.received) == 1


async def test_clear_forgets_queue_and_log() -> None:
    """clear() empties the queue and the delivery log."""
    receiver = Receiver(default=500)
    dispatcher = _dispatcher(receiver, retry_base_s=100.0)
    dispatcher.enqueue(URL, b"{}", {}, "evt-1")
    await dispatcher.flush()
    dispatcher.clear()
    assert (dispatcher.pending, dispatcher.deliveries) == (0, [])
