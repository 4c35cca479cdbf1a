"""Weighted round robin: how many due records each connection may claim in one claim round.

A worker claims work in rounds: one transaction takes records from every active connection. So
that one tenant's backlog cannot delay another tenant's new bill, what each connection may claim
per round is bounded by its share, never by how much it has waiting:

- every connection has a **weight** (the ``claim_weight`` connection setting, a whole number
  from 1 to 100; 1 when unset), and the worker a **quantum** (a quarter of its concurrency, at
  least 1);
- each round, a connection may claim up to ``quantum * weight`` due records, oldest first, and
  the round's records come back interleaved, one per connection in turn;
- nothing carries over between rounds: a connection with less work than its share simply
  claims less (an idle tenant cannot bank a burst).

The worker's lanes claim the next round as soon as every record of the current one has started
(``Worker.run_until_idle``), so rounds follow each other back to back and a lone busy connection
still keeps every lane busy. A small connection's new record is therefore claimed by the next
round, whatever the backlog of the others: it waits for at most one round's records to start,
that is for the sum over connections of ``min(due, quantum * weight)`` records, bounded by the
number of busy connections and their weights, never by the size of any backlog.

This module is pure (no I/O): the worker asks it for quotas, then claims them in the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ml_connector.errors import ConfigurationError

__all__ = ["MAX_WEIGHT", "WEIGHT_SETTING", "WeightedRoundRobin", "weight_from_settings"]

WEIGHT_SETTING = "claim_weight"
MAX_WEIGHT = 100


def weight_from_settings(settings: Mapping[str, Any]) -> int:
    """The connection's claim weight (1 when unset); ConfigurationError when malformed."""
    raw = settings.get(WEIGHT_SETTING)
    if raw is None:
        return 1
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ConfigurationError(f"{WEIGHT_SETTING} must be a whole number, not {raw!r}")
    try:
        weight = int(raw)
    except ValueError:
        raise ConfigurationError(f"{WEIGHT_SETTING} must be a whole number, not {raw!r}") from None
    if not 1 <= weight <= MAX_WEIGHT:
        raise ConfigurationError(f"{WEIGHT_SETTING} must be from 1 to {MAX_WEIGHT}, not {weight}")
    return weight


@dataclass(frozen=True)
class WeightedRoundRobin:
    """Per-round claim quotas by connection (see the module docstring)."""

    quantum: int
    weights: Mapping[int, int] = field(default_factory=dict)

    def weight(self, connection_id: int) -> int:
        return self.weights.get(connection_id, 1)

    def quotas(self, connection_ids: Iterable[int]) -> dict[int, int]:
        """How many due records each of ``connection_ids`` may claim this round."""
        quantum = max(self.quantum, 1)
        return {cid: quantum * self.weight(cid) for cid in connection_ids}
