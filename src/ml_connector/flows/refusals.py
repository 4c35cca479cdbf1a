"""What an uncertain create turns into once the lookup after it found nothing.

A 5xx or a timeout on a POST may or may not have committed, so every flow looks its document up
by its external reference before posting again. When the lookup finds nothing, the POST did not
commit, and there are two cases:

- the 5xx carried Visma's validation message (``AmbiguousOutcome.validation``): Visma refused
  the document. Posting it again would be refused again, so the record needs attention, with
  Visma's text quoted;
- it did not (a plain server failure, a gateway error, a timeout): the error stays retriable,
  and the durable retry posts again later.
"""

from __future__ import annotations

from ml_connector.errors import AmbiguousOutcome, NeedsAttention

__all__ = ["refusal_of"]


def refusal_of(exc: AmbiguousOutcome, what: str) -> NeedsAttention | None:
    """The NeedsAttention to raise when ``exc`` came from creating ``what`` and the lookup
    found nothing; None when ``exc`` stays a retriable error (raise it again).

    ``what`` names the document in finance words ("the supplier invoice").
    """
    if exc.validation is None:
        return None
    return NeedsAttention(
        f'Visma refused {what}: "{exc.validation}"',
        hint=f"Visma answered with a server error (HTTP {exc.status}) that carries this message, "
        f"and {what} is not in Visma. Fix what the message names, then replay the record.",
        code="visma_refused",
    )
