"""The sync record state machine: every status, every transition, in one table.

```
transition   from                                            to
claim        pending | retry_wait (due) | in_flight (expired) in_flight
complete     in_flight (lease holder)                         succeeded
retry        in_flight (lease holder)                         retry_wait
attention    in_flight (lease holder)                         needs_attention
release      in_flight (lease holder)                         pending
exclude      pending | in_flight | retry_wait | needs_attn.   excluded
requeue      succeeded | needs_attn. | excluded | retry_wait  pending      (a replay)
expire       in_flight (lease ran out)                        in_flight    (then: claim)
```

A record that was asked to run again while it was in flight (``rerun``) goes back to
``pending`` instead of settling in ``succeeded``, ``needs_attention`` or ``excluded``, so a newer
version of the object is never lost behind an older one.

Everything here is pure; the store applies :func:`advance` inside the transaction that holds
the row, and appends one attempts row per transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ml_connector.errors import StoreError

__all__ = ["LEASED_TRANSITIONS", "SyncStatus", "Transition", "advance"]


class SyncStatus(StrEnum):
    """Where a unit of work stands."""

    PENDING = "pending"  # queued: any worker may claim it now
    IN_FLIGHT = "in_flight"  # a worker holds it until lease_until; then anyone may reclaim it
    SUCCEEDED = "succeeded"  # done: Visma holds the result, visma_ref names it
    RETRY_WAIT = "retry_wait"  # failed transiently: claimable again once next_at has passed
    NEEDS_ATTENTION = "needs_attention"  # stopped: a person must act, then replay it
    EXCLUDED = "excluded"  # deliberately not synced (filtered out, or excluded by a person)


class Transition(StrEnum):
    """A move between statuses; the value is the outcome written to the attempts table."""

    CLAIM = "claimed"  # a worker takes the lease
    COMPLETE = "succeeded"  # the lease holder reports success
    RETRY = "retry_scheduled"  # the lease holder reports a transient failure
    ATTENTION = "needs_attention"  # the lease holder reports a failure a person must fix
    RELEASE = "released"  # the lease holder gives the record back untouched (shutdown)
    EXCLUDE = "excluded"  # the record is parked on purpose
    REQUEUE = "requeued"  # a replay puts a finished or waiting record back in the queue
    EXPIRE = "lease_expired"  # a lease ran out and another worker took the record over


@dataclass(frozen=True, slots=True)
class _Rule:
    sources: frozenset[SyncStatus]
    target: SyncStatus


_S = SyncStatus
_RULES: dict[Transition, _Rule] = {
    # in_flight is claimable only when its lease expired; the claim query checks that.
    Transition.CLAIM: _Rule(frozenset({_S.PENDING, _S.RETRY_WAIT, _S.IN_FLIGHT}), _S.IN_FLIGHT),
    Transition.COMPLETE: _Rule(frozenset({_S.IN_FLIGHT}), _S.SUCCEEDED),
    Transition.RETRY: _Rule(frozenset({_S.IN_FLIGHT}), _S.RETRY_WAIT),
    Transition.ATTENTION: _Rule(frozenset({_S.IN_FLIGHT}), _S.NEEDS_ATTENTION),
    Transition.RELEASE: _Rule(frozenset({_S.IN_FLIGHT}), _S.PENDING),
    Transition.EXCLUDE: _Rule(
        frozenset({_S.PENDING, _S.IN_FLIGHT, _S.RETRY_WAIT, _S.NEEDS_ATTENTION}), _S.EXCLUDED
    ),
    Transition.REQUEUE: _Rule(
        frozenset({_S.SUCCEEDED, _S.NEEDS_ATTENTION, _S.EXCLUDED, _S.RETRY_WAIT}), _S.PENDING
    ),
    Transition.EXPIRE: _Rule(frozenset({_S.IN_FLIGHT}), _S.IN_FLIGHT),
}

LEASED_TRANSITIONS = frozenset(
    {Transition.COMPLETE, Transition.RETRY, Transition.ATTENTION, Transition.RELEASE}
)
"""Transitions only the current lease holder may make."""

# Outcomes that would park the record; a pending rerun sends it back to the queue instead.
# A retry keeps its backoff: the record runs again at next_at, with the newer data.
_RERUN_REQUEUES = frozenset({_S.SUCCEEDED, _S.NEEDS_ATTENTION, _S.EXCLUDED})


def advance(current: SyncStatus, transition: Transition, *, rerun: bool = False) -> SyncStatus:
    """The status after ``transition`` from ``current``.

    ``rerun`` says the object changed while the record was in flight. Raises StoreError when the
    transition is not allowed from ``current``.
    """
    rule = _RULES[transition]
    if current not in rule.sources:
        raise StoreError(
            f"illegal sync record transition {transition.value!r} from {current.value!r}"
        )
    if rerun and current is SyncStatus.IN_FLIGHT and rule.target in _RERUN_REQUEUES:
        return SyncStatus.PENDING
    return rule.target
