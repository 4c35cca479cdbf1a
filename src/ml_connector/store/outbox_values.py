"""The outbox's values: sync types, what a row tells Ramp and where it stands, what a flow
enqueues, the rows the store hands out, and what a sender settles (see ``store.outbox``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ml_connector.errors import StoreError

__all__ = [
    "BILL_PAYMENT_SYNC",
    "BILL_SYNC",
    "MAX_KEY",
    "KeyOf",
    "OutboxKind",
    "OutboxState",
    "Settlement",
    "WriteBackEntry",
    "WriteBackItem",
]

BILL_SYNC = "BILL_SYNC"
BILL_PAYMENT_SYNC = "BILL_PAYMENT_SYNC"
MAX_KEY = 200


class OutboxKind(StrEnum):
    """What a row tells Ramp."""

    SUCCESS = "success"  # the object is in the ERP (``successful_syncs``)
    FAILURE = "failure"  # the object failed (``failed_syncs``: Ramp's Export Errors)


class OutboxState(StrEnum):
    """Where a row stands."""

    PENDING = "pending"  # waiting to be posted (or being posted: claimed, ``next_at`` = lease)
    SENT = "sent"  # Ramp accepted it (``sync_id``, ``sent_at``)
    REFUSED = "refused"  # Ramp refused it for good (``last_error`` says why)
    SUPERSEDED = "superseded"  # a newer row for the same object and sync type replaced it


@dataclass(frozen=True, slots=True)
class WriteBackItem:
    """What a flow asks Ramp to be told: a success (``reference_id``) or a failure
    (``message``) of one object under one sync type."""

    sync_type: str
    object_id: str
    reference_id: str | None = None
    message: str | None = None

    @property
    def kind(self) -> OutboxKind:
        return OutboxKind.FAILURE if self.message is not None else OutboxKind.SUCCESS

    def __post_init__(self) -> None:
        if not self.object_id or len(self.object_id) > MAX_KEY:
            raise StoreError(f"a write-back's object id must be 1-{MAX_KEY} characters")
        if (self.reference_id is None) == (self.message is None):
            raise StoreError("a write-back is a success (reference_id) or a failure (message)")


@dataclass(frozen=True, slots=True)
class WriteBackEntry:
    """One outbox row."""

    id: int
    connection_id: int
    sync_type: str
    kind: OutboxKind
    object_id: str
    reference_id: str | None
    message: str | None
    occurrence: str
    state: OutboxState
    attempts: int
    next_at: datetime
    claimed_by: str | None
    batch_key: str | None
    sync_id: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Settlement:
    """What became of a group of claimed rows (see ``settle_writebacks``).

    ``state`` sent: ``sync_id`` is Ramp's answer (``error`` may note how it was decided, e.g.
    an object Ramp already had as synced). ``state`` pending: due again at ``next_at``,
    under ``batch_key`` (None keeps the key the rows have). ``state`` refused: ``error`` says
    why, for good.
    """

    ids: tuple[int, ...]
    state: OutboxState
    sync_id: str | None = None
    next_at: datetime | None = None
    error: str | None = None
    batch_key: str | None = None


# (connection id, sync type, kind, [(object id, occurrence)]) -> the batch's idempotency key
KeyOf = Callable[[int, str, OutboxKind, Sequence[tuple[str, str]]], str]
