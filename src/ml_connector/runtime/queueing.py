"""What a polling pass and the reconciler queue for purchase orders and bill payments.

Webhooks are one-shot, so each object type also has a listing that finds its work:

- **purchase orders**: every Ramp order (archived ones included) whose content changed since it
  last reached Visma (``order_digest`` against the link's ``source_digest``), that never reached
  it, or that was archived and is not held yet. Ramp has no "changed since" filter for orders,
  so the digest is what keeps an unchanged order from being synced again.
- **payments**: every bill Ramp lists as paid and synced (``payment_status=PAID``,
  ``sync_status=BILL_SYNCED``) whose invoice is in Visma. Paid bills not synced yet get their
  payment queued by the bill flow once their invoice is written (ramp-api.md §6).

A record that already succeeded is queued again (``replay``) when the listing still shows work:
its write-back did not land, or the object changed. One that needs attention stays so until a
person replays it or a webhook says the object changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ml_connector.clients.ramp_models import PurchaseOrder
from ml_connector.errors import RetriableVendorError
from ml_connector.flows.context import FlowContext
from ml_connector.flows.po_plan import order_digest
from ml_connector.store import LinkKind, Store, SyncStatus

__all__ = ["queue_payments", "queue_purchase_orders", "ride_out"]

_LIST_ATTEMPTS = 5


async def ride_out(
    listing: Callable[[], Awaitable[None]], *, attempts: int = _LIST_ATTEMPTS
) -> None:
    """Run ``listing`` again after a rate-limit or 5xx storm longer than in-call retries."""
    for attempt in range(attempts):
        try:
            await listing()
            return
        except RetriableVendorError as exc:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(min(exc.retry_after or 2.0**attempt, 30.0))


async def _queue(store: Store, connection_id: int, kind: str, object_id: str, reason: str) -> None:
    record = await store.upsert_record(connection_id, kind, object_id, reason=reason)
    if record.status is SyncStatus.SUCCEEDED:
        await store.upsert_record(connection_id, kind, object_id, reason=reason, replay=True)


async def queue_purchase_orders(
    store: Store,
    ctx: FlowContext,
    prefetched: dict[str, PurchaseOrder],
    *,
    reason: str = "poll",
) -> int:
    """Queue the Ramp orders that have work (module docstring); returns how many.

    ``prefetched`` receives each queued order, so the worker need not read it again.
    """
    links = {
        link.ramp_id: link
        for link in await store.list_links(ctx.connection_id, LinkKind.PURCHASE_ORDER)
    }

    async def listing() -> None:
        async for order in ctx.ramp.list_purchase_orders(include_archived=True):
            link = links.get(order.id)
            if order.archived_at is not None:
                if link is None or link.data.get("held"):
                    continue  # never reached Visma, or already held there
            elif (
                link is not None
                and link.visma_id
                and link.data.get("source_digest") == order_digest(order)
            ):
                continue  # in Visma, and unchanged since
            prefetched[order.id] = order
            await _queue(store, ctx.connection_id, "purchase_order", order.id, reason)

    await ride_out(listing)
    return len(prefetched)


async def queue_payments(store: Store, ctx: FlowContext, *, reason: str = "poll") -> list[str]:
    """Queue a payment record for each paid, synced bill with an invoice in Visma.

    Returns the ids of the bills queued.
    """
    invoiced = {
        link.ramp_id
        for link in await store.list_links(ctx.connection_id, LinkKind.BILL)
        if link.visma_id and link.visma_id.startswith("Invoice/")
    }
    queued: dict[str, None] = {}

    async def listing() -> None:
        async for bill in ctx.ramp.list_bills(payment_status="PAID", sync_status="BILL_SYNCED"):
            if bill.id in invoiced:
                queued[bill.id] = None
                await _queue(store, ctx.connection_id, "payment", bill.id, reason)

    await ride_out(listing)
    return list(queued)
