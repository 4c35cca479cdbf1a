"""Which flow a sync record runs: one handler per object type, and what a run of them did.

``dispatcher`` runs each record's flow by its object type: ``bill`` (F1), ``purchase_order``
(F3) and ``payment`` (the payment half of F6); ``RunStats`` counts what a worker run did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ml_connector.errors import NeedsAttention
from ml_connector.flows.bills import BillOutcome, sync_bill
from ml_connector.flows.context import FlowContext
from ml_connector.flows.payments import PaymentOutcome, payment_options, sync_payment
from ml_connector.flows.po_plan import ProcurementOptions
from ml_connector.flows.purchase_orders import OrderOutcome, sync_purchase_order
from ml_connector.store import SyncRecord

__all__ = [
    "OBJECT_TYPES",
    "Handler",
    "Outcome",
    "RunStats",
    "bill_handler",
    "dispatch",
    "dispatcher",
    "payment_handler",
    "purchase_order_handler",
]

Outcome = BillOutcome | OrderOutcome | PaymentOutcome
Handler = Callable[[FlowContext, SyncRecord], Awaitable[Outcome]]
# The record object types a flow exists for, in the order a sync pass runs them.
OBJECT_TYPES = ("purchase_order", "bill", "payment")


@dataclass
class RunStats:
    """What one run of the worker did."""

    processed: int = 0
    succeeded: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    suppliers_created: int = 0
    retried: int = 0
    needs_attention: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)
    # object type -> action (created, updated, held, …) -> count; the fields above are bills'
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, record: SyncRecord, outcome: Outcome) -> None:
        self.succeeded += 1
        actions = self.by_type.setdefault(record.object_type, {})
        actions[outcome.action] = actions.get(outcome.action, 0) + 1
        self.suppliers_created += int(outcome.supplier_created)
        if record.object_type != "bill":
            return
        self.outcomes[record.object_id] = outcome.action
        if outcome.action in ("created", "updated", "unchanged", "skipped"):
            setattr(self, outcome.action, getattr(self, outcome.action) + 1)


async def bill_handler(
    ctx: FlowContext, record: SyncRecord, prefetched: Mapping[str, Any] | None = None
) -> BillOutcome:
    """Fetch the bill (unless the caller already holds it) and sync it."""
    bill = (prefetched or {}).get(record.object_id)
    if bill is None:
        bill = await ctx.ramp.get_bill(record.object_id)
    return await sync_bill(ctx, bill)


async def purchase_order_handler(
    ctx: FlowContext,
    record: SyncRecord,
    prefetched: Mapping[str, Any] | None = None,
    *,
    forced: bool = False,
) -> OrderOutcome:
    """Sync one purchase order when the connection syncs them (or ``forced``: asked for)."""
    connection = await ctx.store.get_connection(ctx.connection_id)
    options = ProcurementOptions.from_settings(connection.settings)
    if not (options.enabled or forced):
        return OrderOutcome("skipped", reason="purchase-order sync is off for this connection")
    order = (prefetched or {}).get(record.object_id)
    if order is None:
        order = await ctx.ramp.get_purchase_order(record.object_id)
    return await sync_purchase_order(ctx, order, options)


async def payment_handler(
    ctx: FlowContext, record: SyncRecord, *, forced: bool = False
) -> PaymentOutcome:
    """Register one paid bill's payment; the bill is read afresh (its sync status matters)."""
    bill = await ctx.ramp.get_bill(record.object_id)
    return await sync_payment(ctx, bill, await payment_options(ctx), forced=forced)


def dispatcher(
    prefetched: Mapping[str, Mapping[str, Any]] | None = None,
    forced: frozenset[str] = frozenset(),
) -> Handler:
    """A handler running each record's flow by its object type.

    ``prefetched`` holds objects already read from Ramp, by object type and id. Object types in
    ``forced`` run even when the connection's settings leave them off (someone asked for them,
    say with ``sync --only``).
    """
    held = prefetched or {}

    async def handle(ctx: FlowContext, record: SyncRecord) -> Outcome:
        kind = record.object_type
        if kind == "bill":
            return await bill_handler(ctx, record, held.get(kind))
        if kind == "purchase_order":
            return await purchase_order_handler(ctx, record, held.get(kind), forced=kind in forced)
        if kind == "payment":
            return await payment_handler(ctx, record, forced=kind in forced)
        raise NeedsAttention(
            f"No flow syncs records of type {kind!r}",
            hint="Exclude the record; it was queued by something this version does not know.",
            code="unknown_object_type",
        )

    return handle


dispatch = dispatcher()
