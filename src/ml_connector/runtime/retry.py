"""RetryPolicy: a pure value that decides what happens after a failed attempt.

Durable retries (across runs and processes) use exponential backoff with full jitter and a cap:
``delay = random(0, min(cap, base * 2 ** (attempt - 1)))``, never less than ``floor_s``, and never
less than the vendor's ``Retry-After`` when one was given. After ``max_attempts`` the record needs
attention: nothing is dropped, and a person sees it.

The randomness is injected, so a table test can pin every decision.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Decision", "RetryPolicy"]


@dataclass(frozen=True)
class Decision:
    """Retry at ``next_at``, or give up (``give_up`` true) and ask for attention."""

    give_up: bool
    next_at: datetime | None = None
    delay_s: float = 0.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 2.0
    cap_s: float = 900.0
    floor_s: float = 0.5
    retry_after_cap_s: float = 3600.0

    def delay(self, attempt: int, uniform: Callable[[float, float], float]) -> float:
        """Backoff for ``attempt`` (1 = the first attempt just failed), with full jitter."""
        ceiling = min(self.cap_s, self.base_s * 2 ** max(attempt - 1, 0))
        return max(self.floor_s, uniform(0.0, ceiling))

    def decide(
        self,
        attempt: int,
        now: datetime,
        *,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> Decision:
        """What to do after ``attempt`` failed at ``now``."""
        if attempt >= self.max_attempts:
            return Decision(give_up=True)
        uniform = (rng or random.Random()).uniform
        delay = self.delay(attempt, uniform)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_cap_s))
        return Decision(give_up=False, next_at=now + timedelta(seconds=delay), delay_s=delay)
