"""``POST /accounting/syncs``: marking objects exported, or reporting why they could not be.

One call names one ``sync_type`` and its objects (ramp-api.md §5.7):
- ``BILL_SYNC``: a sync-ready bill → ``BILL_SYNCED`` (reference kept, ``remote_id`` set if the
  bill had none, ``deep_link_url`` copied); ``BILL_PAYMENT_SYNC``: a paid, ``BILL_SYNCED`` bill →
  ``BILL_AND_PAYMENT_SYNCED``;
- ``TRANSACTION_SYNC``, ``REIMBURSEMENT_SYNC``, ``TRANSFER_SYNC``: an object in ``SYNC_READY``
  → ``SYNCED`` with ``synced_at`` now (the reference's inferred effect); a synced transaction
  emits ``transactions.synced`` (a 2026 type);
- other types (accruals, cashbacks, wallet transfers, …) are not simulated: 400.

The call is idempotent on ``idempotency_key`` (a repeat returns the first ``sync_id`` and
changes nothing) and all-or-nothing: an unknown object, or a successful sync of an object that
is not ready, refuses it whole (400), as bills are refused. ``failed_syncs`` become the
business's export errors (Ramp's "Export Errors"); a later successful sync of the object clears
them. A failed object keeps its status, so it stays in the ready queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import Bill, ExportError, PaymentStatus, SyncRecord, SyncStatus
from ml_connector.sandbox.ramp.render import iso
from ml_connector.sandbox.ramp.spend_model import (
    CardTransaction,
    Reimbursement,
    SpendSync,
    Transfer,
)
from ml_connector.sandbox.ramp.state import RampState, new_id
from ml_connector.sandbox.ramp.webhooks import WebhookHub

__all__ = ["SPEND_SYNC_TYPES", "SYNC_TYPES", "SyncOutcome", "describe_sync", "record_sync"]

_BILL_TYPES = frozenset({"BILL_SYNC", "BILL_PAYMENT_SYNC"})
# sync type -> (what the object is called, where the state keeps it)
SPEND_SYNC_TYPES = {
    "TRANSACTION_SYNC": ("Transaction", "transactions"),
    "REIMBURSEMENT_SYNC": ("Reimbursement", "reimbursements"),
    "TRANSFER_SYNC": ("Transfer", "transfers"),
}
SYNC_TYPES = _BILL_TYPES | frozenset(SPEND_SYNC_TYPES)

Target = Bill | CardTransaction | Reimbursement | Transfer


@dataclass(frozen=True)
class SyncOutcome:
    record: SyncRecord
    replayed: bool  # True when the idempotency key had been used before


def record_sync(
    state: RampState,
    hub: WebhookHub,
    now: Callable[[], float],
    *,
    idempotency_key: str,
    sync_type: str,
    successful: Iterable[tuple[str, str, str | None]],
    failed: Iterable[tuple[str, str]],
) -> SyncOutcome:
    """Mark objects synced (``successful``: id, reference, deep link) or failed (id, message)."""
    if idempotency_key in state.syncs:
        return SyncOutcome(state.syncs[idempotency_key], replayed=True)
    successes = list(successful)
    failures = list(failed)
    if not successes and not failures:
        raise RampApiError(400, "Give successful_syncs, failed_syncs or both.")
    ids = [s[0] for s in successes] + [f[0] for f in failures]
    if len(ids) != len(set(ids)):
        raise RampApiError(400, "An object appears more than once in this sync.")
    targets = {object_id: _target(state, sync_type, object_id) for object_id in ids}
    for object_id, _, _ in successes:
        _check_ready(state, sync_type, targets[object_id])
    record = SyncRecord(
        sync_id=new_id(),
        idempotency_key=idempotency_key,
        sync_type=sync_type,
        successful_ids=tuple(s[0] for s in successes),
        failed_ids=tuple(f[0] for f in failures),
        at=now(),
    )
    for object_id, reference, deep_link in successes:
        _mark(targets[object_id], sync_type, reference, deep_link, record.at)
        if sync_type == "TRANSACTION_SYNC":
            hub.publish("transactions.synced", object_id)
        state.export_errors[:] = [
            e
            for e in state.export_errors
            if not (e.object_id == object_id and e.sync_type == sync_type)
        ]
    for object_id, message in failures:
        state.export_errors.append(
            ExportError(object_id, sync_type, message, record.at, record.sync_id)
        )
    state.syncs[idempotency_key] = record
    return SyncOutcome(record, replayed=False)


def _target(state: RampState, sync_type: str, object_id: str) -> Target:
    if sync_type in _BILL_TYPES:
        bill = state.bills.get(object_id)
        if bill is None:
            raise RampApiError(400, f"{sync_type}: bill {object_id} not found.")
        return bill
    if sync_type not in SPEND_SYNC_TYPES:
        raise RampApiError(
            400,
            f"{sync_type}: object {object_id} not found (the sandbox has bills, transactions, "
            "reimbursements and transfers).",
        )
    label, where = SPEND_SYNC_TYPES[sync_type]
    found: Target | None = getattr(state, where).get(object_id)
    if found is None:
        raise RampApiError(400, f"{sync_type}: {label.lower()} {object_id} not found.")
    return found


def _check_ready(state: RampState, sync_type: str, item: Target) -> None:
    if isinstance(item, Bill):
        _check_bill(state, sync_type, item)
    elif item.sync_status is not SpendSync.SYNC_READY:
        label = SPEND_SYNC_TYPES[sync_type][0]
        raise RampApiError(
            400,
            f"{label} {item.id} is not ready to sync (sync status {item.sync_status}); "
            "only objects marked ready to sync can be synced.",
        )


def _check_bill(state: RampState, sync_type: str, item: Bill) -> None:
    if sync_type == "BILL_SYNC" and not state.is_sync_ready(item):
        raise RampApiError(
            400,
            f"Bill {item.id} is not ready to sync (approval {item.approval_status}, "
            f"sync status {item.sync_status}, archived {item.archived_at is not None}).",
        )
    if sync_type == "BILL_PAYMENT_SYNC" and (
        item.status is not PaymentStatus.PAID or item.sync_status is not SyncStatus.BILL_SYNCED
    ):
        raise RampApiError(
            400,
            f"Bill {item.id} payment is not ready to sync (payment {item.status}, "
            f"sync status {item.sync_status}); sync the bill first and wait until it is paid.",
        )


def _mark(item: Target, sync_type: str, reference: str, deep_link: str | None, at: float) -> None:
    if isinstance(item, Bill):
        if sync_type == "BILL_SYNC":
            item.sync_status = SyncStatus.BILL_SYNCED
            item.sync_reference = reference
            if item.remote_id is None:
                item.remote_id = reference
            if deep_link:
                item.deep_link_url = deep_link
        else:
            item.sync_status = SyncStatus.BILL_AND_PAYMENT_SYNCED
        return
    item.sync_status = SpendSync.SYNCED
    item.synced_at = at
    item.sync_reference = reference


def describe_sync(state: RampState, object_id: str) -> dict[str, Any]:
    """Where a bill, transaction, reimbursement or transfer stands (the control API's view):
    kind, ``sync_status``, whether it is ready, when it was synced, the reference it was synced
    with, and its export errors. 404 for an unknown id."""
    errors = [asdict(e) for e in state.export_errors if e.object_id == object_id]
    if (bill := state.bills.get(object_id)) is not None:
        return {
            "id": bill.id,
            "kind": "bill",
            "sync_status": bill.sync_status.value,
            "sync_ready": state.is_sync_ready(bill),
            "synced_at": None,
            "reference_id": bill.sync_reference,
            "export_errors": errors,
        }
    for kind, objects in (
        ("transaction", state.transactions),
        ("reimbursement", state.reimbursements),
        ("transfer", state.transfers),
    ):
        found: CardTransaction | Reimbursement | Transfer | None = objects.get(object_id)
        if found is not None:
            return {
                "id": found.id,
                "kind": kind,
                "sync_status": found.sync_status.value,
                "sync_ready": found.sync_status is SpendSync.SYNC_READY,
                "synced_at": iso(found.synced_at) if found.synced_at is not None else None,
                "reference_id": found.sync_reference,
                "export_errors": errors,
            }
    raise RampApiError.not_found("Syncable object", object_id)
