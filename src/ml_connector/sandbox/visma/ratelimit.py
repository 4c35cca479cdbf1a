"""Visma's API rate limit: a fixed window per company and client (policy ``4-fixed-window``).

The window opens with a key's first call and lasts ``window_s`` (one hour in Visma). Every
answered call carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset``
(seconds until the window closes) and ``X-RateLimit-Policy``; a call over the limit gets 429 with
``Retry-After`` in seconds and is not counted. ``limit`` None switches limiting (and the
headers) off. Visma does not publish the number, so the sandbox takes it as configuration.

Each key (company, client) has its own window, so ten connections to ten companies have ten
quotas. ``windows(key)`` lists a key's windows so far (start, calls counted, calls refused):
benchmarks read quota use from it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FixedWindowLimiter", "RateDecision", "WindowUse"]

POLICY = "4-fixed-window"


@dataclass(frozen=True)
class WindowUse:
    """One window of one key: when it opened, calls it counted, calls it refused (429)."""

    start: float
    used: int
    refused: int


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    headers: dict[str, str]
    retry_after: int = 0


class FixedWindowLimiter:
    """Counts calls per key in fixed windows; thread-safe."""

    def __init__(
        self,
        limit: int | None,
        *,
        clock: Callable[[], float],
        window_s: float = 3600.0,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self._history: dict[tuple[str, str], list[WindowUse]] = {}
        self._refused: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def configure(self, limit: int | None, window_s: float | None = None) -> None:
        """Change the limit (and window); open windows start afresh."""
        with self._lock:
            self.limit = limit
            if window_s is not None:
                self.window_s = window_s
            self._clear()

    def reset(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self._windows.clear()
        self._history.clear()
        self._refused.clear()

    def windows(self, key: tuple[str, str]) -> list[WindowUse]:
        """The key's windows, oldest first; the last may still be open."""
        with self._lock:
            done = list(self._history.get(key, []))
            if key in self._windows:
                start, used = self._windows[key]
                done.append(WindowUse(start, used, self._refused.get(key, 0)))
            return done

    def keys(self) -> list[tuple[str, str]]:
        """Every key that has made a counted call since the last reset."""
        with self._lock:
            return sorted(set(self._windows) | set(self._history))

    def hit(self, key: tuple[str, str]) -> RateDecision:
        """Count one call for ``key`` (company, client) if the window has room."""
        with self._lock:
            if self.limit is None:
                return RateDecision(True, {})
            now = self._clock()
            start, used = self._windows.get(key, (now, 0))
            if now >= start + self.window_s:
                if key in self._windows:
                    refused = self._refused.pop(key, 0)
                    self._history.setdefault(key, []).append(WindowUse(start, used, refused))
                start, used = now, 0
            reset = max(1, math.ceil(start + self.window_s - now))
            if used >= self.limit:
                self._windows[key] = (start, used)
                self._refused[key] = self._refused.get(key, 0) + 1
                return RateDecision(False, self._headers(0, reset), retry_after=reset)
            used += 1
            self._windows[key] = (start, used)
            return RateDecision(True, self._headers(self.limit - used, reset))

    def _headers(self, remaining: int, reset: int) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Policy": POLICY,
        }
