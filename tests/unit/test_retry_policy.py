"""RetryPolicy decisions, pinned with injected randomness."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from ml_connector.runtime.retry import RetryPolicy

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class MaxRandom(random.Random):
    """Full jitter always picks the ceiling, so delays are the backoff bound itself."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(1, 2.0), (2, 4.0), (3, 8.0), (6, 64.0), (10, 900.0)],
)
def test_backoff_doubles_up_to_the_cap(attempt: int, expected: float) -> None:
    """The delay ceiling doubles per attempt and stops at the cap."""
    policy = RetryPolicy(max_attempts=20, base_s=2.0, cap_s=900.0)
    decision = policy.decide(attempt, NOW, rng=MaxRandom())
    assert decision.delay_s == expected
    assert decision.next_at == NOW + timedelta(seconds=expected)


def test_jitter_stays_within_the_bound() -> None:
    """Full jitter never exceeds the ceiling and never drops below the floor."""
    policy = RetryPolicy(base_s=2.0, floor_s=0.5)
    rng = random.Random(1)
    delays = [policy.decide(3, NOW, rng=rng).delay_s for _ in range(200)]
    assert all(0.5 <= d <= 8.0 for d in delays)
    assert len(set(delays)) > 100


def test_retry_after_is_honoured() -> None:
    """A vendor's Retry-After is never undercut."""
    decision = RetryPolicy().decide(1, NOW, retry_after=30, rng=random.Random(0))
    assert decision.delay_s >= 30


def test_gives_up_after_the_last_attempt() -> None:
    """After max_attempts the decision is to ask a person."""
    policy = RetryPolicy(max_attempts=3)
    assert not policy.decide(2, NOW).give_up
    assert policy.decide(3, NOW).give_up
