"""F6 write-back: tell Ramp which bills are in Visma, and which failed, through a durable outbox.

Flows do not post ``POST /accounting/syncs`` themselves. A bill's "mark it synced" is stored
in the store's outbox (``store.outbox``) in the same transaction that confirms its invoice
link (:meth:`WriteBack.items_for` gives what ``confirm_link`` stores), and a failure report is
stored when a record stops; a sender (``runtime.outbox``) claims due rows and posts them here,
:func:`post_batch`, many objects per call.

**Idempotency keys.** Ramp de-duplicates ``POST /accounting/syncs`` on its body's
``idempotency_key``. Every outbox row is one occurrence with a random id, and a batch's key is
derived from its objects and their occurrences (:func:`batch_key`): a retry of the same POST
(a timeout, a crash before the answer was recorded) reuses the key stored on its rows, while
a bill unsynced in Ramp and synced again, or a failure that recurs, is a new occurrence with a
new key, so Ramp applies it again instead of answering with the first result.

**Refusals.** Ramp takes a batch all or nothing. If it refuses one (one bill archived
meanwhile, say), the batch is split and each object posted on its own with its own key, so one
bad bill never holds back the rest. A bill Ramp refuses on its own is read back: if Ramp already
calls it synced (an earlier POST landed), the row is done; otherwise it is refused for good
with Ramp's message, which ``records show`` shows. Transient failures, and refusals that are
not the batch's fault (rejected credentials, a missing scope), keep the rows due again later,
with the same key.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from ml_connector.clients import RampClient
from ml_connector.clients.ramp_models import Bill, SyncFailure, SyncSuccess
from ml_connector.errors import (
    AuthenticationError,
    ConnectorError,
    FatalVendorError,
    PermissionDenied,
)
from ml_connector.flows.ports import WriteBackQueue
from ml_connector.store import (
    OutboxKind,
    OutboxState,
    Settlement,
    WriteBackEntry,
    WriteBackItem,
)
from ml_connector.store.outbox import BILL_PAYMENT_SYNC, BILL_SYNC

__all__ = [
    "BILL_PAYMENT_SYNC",
    "BILL_SYNC",
    "Batch",
    "WriteBack",
    "batch_key",
    "batches",
    "post_batch",
]

log = structlog.get_logger(__name__)
_NAMESPACE = uuid.UUID("6a0c1c0e-0f57-4d7e-9b8e-1b2f0de5a7c3")
# What Ramp's bill ``sync_status`` says once each sync type has landed.
_SYNCED = {
    BILL_SYNC: frozenset({"BILL_SYNCED", "BILL_AND_PAYMENT_SYNCED"}),
    BILL_PAYMENT_SYNC: frozenset({"BILL_AND_PAYMENT_SYNCED"}),
}
# Posting order within a connection: bills before their payments, successes before failures.
_ORDER = {(BILL_SYNC, "success"): 0, (BILL_SYNC, "failure"): 1}


def batch_key(
    connection_id: int, sync_type: str, kind: OutboxKind, members: Iterable[tuple[str, str]]
) -> str:
    """The idempotency key of one POST: ``members`` are its (object id, occurrence) pairs.

    The same rows give the same key, whoever posts them and however often; a new occurrence
    of an object (synced again, failed again) gives a new key.
    """
    named = ",".join(sorted(f"{object_id}@{occurrence}" for object_id, occurrence in members))
    return str(uuid.uuid5(_NAMESPACE, f"{connection_id}:{sync_type}:{kind.value}:{named}"))


class WriteBack:
    """A connection's write-backs to Ramp, as the flows ask for them (kept in the outbox)."""

    def __init__(self, store: WriteBackQueue, connection_id: int) -> None:
        self._store = store
        self._connection_id = connection_id

    def items_for(
        self, bill: Bill, reference_id: str, *, sync_type: str = BILL_SYNC
    ) -> list[WriteBackItem]:
        """What to store with the bill's link: mark it synced, unless Ramp already says so."""
        if sync_type == BILL_SYNC and bill.sync_status != "NOT_SYNCED":
            return []
        return [WriteBackItem(sync_type, bill.id, reference_id=reference_id)]

    async def add(self, item: SyncSuccess, *, sync_type: str = BILL_SYNC) -> None:
        """Queue one success on its own (when no link confirmation carries it)."""
        entry = WriteBackItem(sync_type, item.id, reference_id=item.reference_id)
        await self._store.enqueue_writebacks(self._connection_id, [entry])

    async def report_failure(self, object_id: str, sync_type: str, message: str) -> None:
        """Queue a failure report (``failed_syncs``): one occurrence, one key."""
        entry = WriteBackItem(sync_type, object_id, message=message or "sync failed")
        await self._store.enqueue_writebacks(self._connection_id, [entry])


@dataclass(frozen=True)
class Batch:
    """Claimed rows that go to Ramp in one POST, under one key."""

    connection_id: int
    sync_type: str
    kind: OutboxKind
    key: str
    entries: tuple[WriteBackEntry, ...]

    @property
    def attempts(self) -> int:
        return max(entry.attempts for entry in self.entries)

    def by_object(self) -> dict[str, list[WriteBackEntry]]:
        """The rows per object (several rows of one object are sent as one item)."""
        found: dict[str, list[WriteBackEntry]] = defaultdict(list)
        for entry in self.entries:
            found[entry.object_id].append(entry)
        return found


def batches(entries: Sequence[WriteBackEntry]) -> list[Batch]:
    """Claimed rows grouped into POSTs: bills before payments, successes before failures."""
    groups: dict[tuple[int, str, str, str], list[WriteBackEntry]] = defaultdict(list)
    for entry in entries:
        if entry.batch_key is None:  # pragma: no cover - the claim gives every row a key
            continue
        groups[(entry.connection_id, entry.sync_type, entry.kind.value, entry.batch_key)].append(
            entry
        )

    def order(key: tuple[int, str, str, str]) -> tuple[int, int, int]:
        cid, sync_type, kind, _ = key
        return (
            cid,
            _ORDER.get((sync_type, kind), 2 + (kind == "failure")),
            min(e.id for e in groups[key]),
        )

    return [
        Batch(key[0], key[1], OutboxKind(key[2]), key[3], tuple(groups[key]))
        for key in sorted(groups, key=order)
    ]


def _ids(entries: Iterable[WriteBackEntry]) -> tuple[int, ...]:
    return tuple(entry.id for entry in entries)


async def post_batch(
    ramp: RampClient, batch: Batch, retry_at: Callable[[int], datetime]
) -> list[Settlement]:
    """POST one batch; what became of its rows. Never raises for Ramp's answers.

    ``retry_at(attempts)`` says when rows that met a transient failure are due again.
    """
    objects = batch.by_object()
    newest = {object_id: max(rows, key=lambda e: e.id) for object_id, rows in objects.items()}
    try:
        if batch.kind is OutboxKind.SUCCESS:
            successes = [SyncSuccess(o, e.reference_id or "") for o, e in newest.items()]
            sync_id = await ramp.post_sync(batch.sync_type, batch.key, successful=successes)
        else:
            failures = [SyncFailure(o, e.message or "") for o, e in newest.items()]
            sync_id = await ramp.post_sync(batch.sync_type, batch.key, failed=failures)
    except (AuthenticationError, PermissionDenied) as exc:  # ours to fix, not the batch's
        return _later(batch, exc, retry_at)
    except FatalVendorError as exc:
        if len(objects) > 1:
            return await _split(ramp, batch, objects, retry_at)
        return await _refused(ramp, batch, exc)
    except ConnectorError as exc:  # transient: the same POST again later
        return _later(batch, exc, retry_at)
    return [Settlement(_ids(batch.entries), OutboxState.SENT, sync_id=sync_id)]


def _later(
    batch: Batch, exc: ConnectorError, retry_at: Callable[[int], datetime]
) -> list[Settlement]:
    """The batch is due again later under the same key (the outcome of this POST is unknown,
    or it was refused for a reason that is not the batch's: credentials, a missing scope)."""
    log.warning("write-back not delivered; it stays queued", error=str(exc))
    due = retry_at(batch.attempts)
    return [Settlement(_ids(batch.entries), OutboxState.PENDING, next_at=due, error=str(exc))]


async def _split(
    ramp: RampClient,
    batch: Batch,
    objects: dict[str, list[WriteBackEntry]],
    retry_at: Callable[[int], datetime],
) -> list[Settlement]:
    """Post each object of a refused batch on its own, each with its own key."""
    settled: list[Settlement] = []
    for rows in objects.values():
        members = [(row.object_id, row.occurrence) for row in rows]
        key = batch_key(batch.connection_id, batch.sync_type, batch.kind, members)
        single = Batch(batch.connection_id, batch.sync_type, batch.kind, key, tuple(rows))
        for outcome in await post_batch(ramp, single, retry_at):
            if outcome.state is OutboxState.PENDING:  # its retry is this single POST again
                outcome = Settlement(
                    outcome.ids, outcome.state, next_at=outcome.next_at, error=outcome.error,
                    batch_key=key,
                )  # fmt: skip
            settled.append(outcome)
    return settled


async def _refused(ramp: RampClient, batch: Batch, exc: FatalVendorError) -> list[Settlement]:
    """One object Ramp refused: done if Ramp already has it synced, else refused for good."""
    reason = exc.vendor_message or str(exc)
    ids = _ids(batch.entries)
    if batch.kind is OutboxKind.SUCCESS:
        object_id = batch.entries[0].object_id
        try:
            bill = await ramp.get_bill(object_id)
        except ConnectorError:
            bill = None
        if bill is not None and bill.sync_status in _SYNCED.get(batch.sync_type, frozenset()):
            log.info("write-back already in Ramp", bill=object_id, sync_type=batch.sync_type)
            return [Settlement(ids, OutboxState.SENT, error="already marked synced in Ramp")]
    log.warning("ramp refused write-back", object=batch.entries[0].object_id, error=reason)
    return [Settlement(ids, OutboxState.REFUSED, error=reason)]
