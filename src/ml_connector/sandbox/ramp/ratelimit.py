"""Ramp's rate limit: ``limit`` requests per rolling ``window_s`` seconds, then 429.

Documented: 200 requests per rolling 10-second window, and requests made while limited keep
extending the window. The sandbox therefore counts every request, refused ones included, and
limits the whole business (Ramp is said to limit per source IP; a sandbox has one caller).

Not documented, so guessed here: the 429 body is the usual ``error_v2`` envelope and carries a
``Retry-After`` header with the whole seconds until the window has room again.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from ml_connector.sandbox.ramp.errors import ErrorCode, error_body

__all__ = ["RateLimitMiddleware", "RollingWindow"]


class RollingWindow:
    """Counts requests in a rolling window; the clock is injected for tests."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: deque[float] = deque()

    def reset(self) -> None:
        self._hits.clear()

    def hit(self) -> float | None:
        """Count one request; None when it may proceed, else seconds to wait."""
        now = self._clock()
        while self._hits and self._hits[0] <= now - self.window_s:
            self._hits.popleft()
        self._hits.append(now)
        if len(self._hits) <= self.limit:
            return None
        # Room returns once enough of the oldest hits have aged out of the window.
        oldest_needed = self._hits[len(self._hits) - self.limit]
        return max(0.0, oldest_needed + self.window_s - now)


class RateLimitMiddleware:
    """Answers 429 for vendor-API requests beyond the window's limit."""

    def __init__(self, app: ASGIApp, window: RollingWindow, *, prefix: str) -> None:
        self.app = app
        self.window = window
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        wait_s = self.window.hit()
        if wait_s is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            error_body("Rate limit exceeded. Please retry later.", ErrorCode.RATE_LIMITED)
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(max(1, math.ceil(wait_s))).encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
