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

from ml_connector.connection_settings import MAX_CLAIM_WEIGHT, ConnectionSettings

__all__ = ["MAX_WEIGHT", "WEIGHT_SETTING", "WeightedRoundRobin", "weight_from_settings"]

WEIGHT_SETTING = "claim_weight"
MAX_WEIGHT = MAX_CLAIM_WEIGHT


def weight_from_settings(settings: ConnectionSettings) -> int:
    """The connection's claim weight (1 when unset; checked when the settings were parsed)."""
    return settings.claim_weight


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
