"""What each webhook event becomes: the dispositions the receivers and the sweep carry out.

**Dispositions.** ``dispose(source, type)`` is the pure decision of what an inbox event becomes:

| source | event types                          | becomes                                   |
|--------|--------------------------------------|-------------------------------------------|
| ramp   | ``bills.*`` (created, approved, paid,| a queued ``bill`` record; processed       |
|        | rejected; 2026: ready_to_sync,       | (the flow reads the bill afresh, so each  |
|        | updated, archived)                   | type leads to the same right work)        |
| ramp   | ``webhooks.verification``            | received, until ``register`` answers it   |
| ramp   | ``purchase_orders.*`` (created,      | a queued ``purchase_order`` record;       |
|        | updated; 2026: archived)             | processed                                 |
| visma  | Supplier, Account, Segment,          | processed: a hint to poll (chart          |
|        | Dimension, Project, and a body that  | alignment reads them from the inbox, and  |
|        | names no type (``notification``)     | every such hint, even a repeated one,     |
|        |                                      | asks for a delta poll: ``runtime.chart``) |
| visma  | APInvoice, PurchaseOrder             | received, for the flows that consume them |
| either | anything else                        | ignored (stored, never acted on)          |

``new_event`` turns a verified event and its disposition into what the receivers hand to the
store's group commit (``Store.ingest_events``: stored, queued and settled in one transaction).
``apply_event`` carries a disposition out for an event already stored; ``sweep_events``
re-applies it to events left ``received`` (stored by ``insert_event``, or by an older version).
Queueing is idempotent (one record per object), so applying twice is harmless.

Signing secrets and the verification window are in ``runtime/webhook_secrets.py``;
registration with Ramp and Visma is a user action, in ``app/webhooks.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.runtime.chart import HINT_CURSOR, is_chart_event
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import EventSource, EventStatus, InboxEvent, Store, SyncRecord
from ml_connector.store.inbox import Ingested, NewEvent

__all__ = [
    "NOTIFICATION_TYPE",
    "VERIFICATION_TYPE",
    "Applied",
    "Disposition",
    "EventSource",
    "Ingested",
    "NewEvent",
    "apply_event",
    "dispose",
    "event_sink",
    "new_event",
    "sweep_events",
]

VERIFICATION_TYPE = "webhooks.verification"
NOTIFICATION_TYPE = "notification"  # a Visma notification whose body names no type
_VISMA_CHART_ENTITIES = frozenset({"Supplier", "Account", "Segment", "Dimension", "Project"})
_VISMA_WAITING_ENTITIES = frozenset({"APInvoice", "PurchaseOrder"})


@dataclass(frozen=True)
class Disposition:
    """What an event becomes: work for ``object_type`` (when set), and its inbox status."""

    status: EventStatus
    object_type: str | None = None


def _visma_hint(event_type: str) -> bool:
    """True for a Visma notification that asks for a chart poll (see the table above)."""
    return event_type == NOTIFICATION_TYPE or is_chart_event(event_type)


def dispose(source: EventSource, event_type: str) -> Disposition:
    """The disposition of an event type (the table in the module docstring)."""
    if EventSource(source) is EventSource.RAMP:
        family = event_type.split(".", 1)[0]
        if family == "bills":
            return Disposition(EventStatus.PROCESSED, "bill")
        if family == "purchase_orders":
            return Disposition(EventStatus.PROCESSED, "purchase_order")
        if event_type == VERIFICATION_TYPE:
            return Disposition(EventStatus.RECEIVED)
        return Disposition(EventStatus.IGNORED)
    entity = event_type.split(".", 1)[0]
    if entity in _VISMA_CHART_ENTITIES or event_type == NOTIFICATION_TYPE:
        return Disposition(EventStatus.PROCESSED)
    if entity in _VISMA_WAITING_ENTITIES:
        return Disposition(EventStatus.RECEIVED)
    return Disposition(EventStatus.IGNORED)


def new_event(
    connection_id: int,
    source: EventSource,
    event_id: str,
    event_type: str,
    object_id: str | None,
    payload: dict[str, Any],
    *,
    signed_time: bool = True,
) -> NewEvent:
    """A verified event, settled as its disposition says (what ``apply_event`` would do).

    ``signed_time`` False (nothing signed dates the event) has the inbox check the event
    against the keys of pruned events, so an old replay is not taken for new. A Visma hint to
    poll stamps the chart's hint cursor, repeated or not. Raises StoreError when an id or type
    is empty or longer than the inbox keeps.
    """
    disposition = dispose(source, event_type)
    status, object_type = disposition.status, disposition.object_type
    if object_type is not None and object_id is None:
        status, object_type = EventStatus.IGNORED, None  # nothing to fetch; kept for the record
    hint = HINT_CURSOR if source is EventSource.VISMA and _visma_hint(event_type) else None
    return NewEvent(
        connection_id,
        source,
        event_id,
        event_type,
        object_id,
        payload,
        status,
        object_type,
        check_seen=not signed_time,
        poll_hint=hint,
    )


@dataclass(frozen=True)
class Applied:
    """What ``apply_event`` did: the event's status afterwards, and the record it queued."""

    status: EventStatus
    record: SyncRecord | None = None


async def apply_event(store: Store, event: InboxEvent) -> Applied:
    """Carry out the event's disposition: queue its work, note it in the audit trail, settle it.

    Bill and purchase-order events re-queue a record that already finished (``replay``),
    because the object may have changed; the flow then finds nothing to do when it has not.
    """
    disposition = dispose(event.source, event.type)
    record = None
    status = disposition.status
    if disposition.object_type is not None:
        if event.object_id is None:
            status = EventStatus.IGNORED  # nothing to fetch; kept for the record
        else:
            record = await store.upsert_record(
                event.connection_id,
                disposition.object_type,
                event.object_id,
                reason=f"webhook {event.type}",
                replay=True,
            )
            await store.append_audit(
                event.connection_id,
                record.id,
                AuditKind.EVENT_RECEIVED,
                {
                    "source": str(event.source),
                    "event_id": event.event_id,
                    "type": event.type,
                    "inbox_id": event.id,
                },
            )
    if status is not EventStatus.RECEIVED and event.status is EventStatus.RECEIVED:
        await store.mark_event(event.id, status)
    return Applied(status, record)


async def sweep_events(
    store: Store, *, older_than_s: float, now: datetime | None = None, batch: int = 200
) -> int:
    """Apply the events left ``received`` for longer than ``older_than_s`` that should not be.

    Events waiting on purpose (verification challenges) are left alone.
    Returns how many events were applied.
    """
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=older_than_s)
    applied, after = 0, 0
    while True:
        events = await store.list_events(
            status=EventStatus.RECEIVED,
            received_before=cutoff,
            after_id=after,
            limit=batch,
            oldest_first=True,
        )
        for event in events:
            if dispose(event.source, event.type).status is not EventStatus.RECEIVED:
                await apply_event(store, event)
                applied += 1
        if len(events) < batch:
            return applied
        after = events[-1].id


def event_sink(runtime: Runtime) -> Callable[[Sequence[NewEvent]], Awaitable[list[Ingested]]]:
    """Where the receivers hand verified events: the store's group commit (each batch stored,
    queued and settled in one transaction; duplicates answered as such)."""
    return runtime.store.ingest_events
