"""The values the store hands out: frozen dataclasses, never SQLAlchemy objects.

Every datetime is timezone-aware UTC. JSON fields (``settings``, ``data``, ``payload``) are
plain copies: changing them changes nothing in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.store.states import SyncStatus

__all__ = [
    "Attempt",
    "AuditEntry",
    "AuditProblem",
    "Connection",
    "ConnectionStatus",
    "Link",
    "LinkClaim",
    "LinkKind",
    "LinkState",
    "SyncRecord",
]


class ConnectionStatus(StrEnum):
    """Whether workers process a connection's records."""

    ACTIVE = "active"  # records are claimed and synced
    PAUSED = "paused"  # records wait (bad credentials, or paused by a person)


class LinkKind(StrEnum):
    """What a link ties together; the Visma side's id format follows from it."""

    VENDOR = "vendor"  # Ramp vendor id -> Visma supplier number
    BILL = "bill"  # Ramp bill id -> "DocType/RefNbr" of the supplier invoice
    PURCHASE_ORDER = "purchase_order"  # Ramp purchase order id -> Visma order number
    PAYMENT = "payment"  # Ramp bill id (its payment) -> Visma supplier payment number


class LinkState(StrEnum):
    """How sure we are that the Visma object exists."""

    ATTEMPTED = "attempted"  # a create was started: look Visma up by external_ref before retrying
    CONFIRMED = "confirmed"  # visma_id names the object


@dataclass(frozen=True, slots=True)
class Connection:
    """One customer: a Ramp business paired with a Visma tenant and company.

    ``credentials_ciphertext`` is the vault's token; only the vault can read it. ``settings``
    were parsed and validated once, when the store read the row.
    """

    id: int
    name: str
    status: ConnectionStatus
    health_message: str
    ramp_base_url: str
    visma_base_url: str
    visma_token_url: str
    settings: ConnectionSettings
    created_at: datetime
    updated_at: datetime
    credentials_ciphertext: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Link:
    """A Ramp object and the Visma object it became (unique per connection, kind, ramp_id)."""

    id: int
    connection_id: int
    kind: LinkKind
    ramp_id: str
    state: LinkState
    visma_id: str | None
    external_ref: str
    owner: str | None
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """The answer to ``claim_link``.

    ``won`` is true for exactly one claimer: the one whose call inserted the link, and who may
    therefore create the Visma object. Everyone else gets the existing ``link``; when it is
    still ``attempted`` they must look Visma up by ``external_ref`` rather than create.
    """

    link: Link
    won: bool


@dataclass(frozen=True, slots=True)
class SyncRecord:
    """One unit of work: sync ``object_type``/``object_id`` of one connection to Visma.

    ``attempts`` counts claims since the record was last queued (a replay resets it); ``rerun``
    says the object changed while in flight, so the record runs again after this attempt.
    """

    id: int
    connection_id: int
    object_type: str
    object_id: str
    status: SyncStatus
    reason: str
    attempts: int
    rerun: bool
    lease_owner: str | None
    lease_until: datetime | None
    claimed_at: datetime | None
    next_at: datetime | None
    last_error: str | None
    error_code: str | None
    hint: str | None
    visma_ref: str | None
    payload: Any
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """One row of a record's append-only history: a transition and what came of it.

    ``number`` is the attempt (claim) the transition belongs to; ``status`` is where the record
    ended up; ``started_at`` is when that attempt's claim began.
    """

    id: int
    record_id: int
    number: int
    outcome: str
    status: SyncStatus
    owner: str | None
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    error_code: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One link of a connection's hash-chained audit trail.

    ``hash`` is sha256 over ``prev_hash`` followed by the entry's canonical JSON.
    """

    id: int
    connection_id: int
    seq: int
    record_id: int | None
    kind: str
    data: dict[str, Any]
    at: datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """Something ``verify_audit`` found wrong with a chain; ``seq`` is None for the chain head."""

    seq: int | None
    message: str

    def __str__(self) -> str:
        where = "chain head" if self.seq is None else f"entry {self.seq}"
        return f"{where}: {self.message}"
