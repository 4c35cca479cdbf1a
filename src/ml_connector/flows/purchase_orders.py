"""F3 Ramp purchase orders → Visma purchase orders, exactly once, and kept in step.

One call of ``sync_purchase_order`` is one unit of work for one Ramp purchase order:

1. archived in Ramp: put its Visma order on hold (the closest the API allows to cancelling; it
   has no cancel or delete for purchase orders), or do nothing when it never reached Visma;
2. otherwise ensure the supplier (F2), resolve each line's coding through the mapping, and run
   the pre-flight checks (no call on failure);
3. write, with the link row deciding between create, update and nothing-changed:
   - no link: claim it (``attempted``), POST the order, confirm the link;
   - ``attempted`` without a Visma number: look the order up by its external reference (the
     note ``ramp-po:<id>``) and POST only when it is not there;
   - confirmed: send only what changed in Ramp since the last sync (``plan_update``), as a PUT
     with line operations and ``If-Match``; on 412 read again and re-plan.

The link's data keeps what was last sent (``payload``: header fields and one entry per Ramp
line), the line map (Ramp line id → Visma ``lineNbr``) and the lines a PUT is inserting
(``pending``). Sending only the difference is what keeps an edit made in Visma meanwhile: a field
or line Ramp did not change is never written, and lines added in Visma are never touched. An
order Visma no longer lets us change (Closed, Cancelled, Voided, or a changed line that has
receipts) needs a person. The plans themselves are pure, in ``flows.po_plan``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.clients.ramp_models import PurchaseOrder as RampOrder
from ml_connector.clients.visma_models import PurchaseOrder, PurchaseOrderWrite
from ml_connector.errors import (
    AmbiguousOutcome,
    NeedsAttention,
    PreconditionFailed,
    RetriableVendorError,
    ValidationRejected,
)
from ml_connector.flows.context import FlowContext
from ml_connector.flows.po_plan import (
    OrderPlan,
    ProcurementOptions,
    build_order,
    check_order,
    external_ref,
    inventory_refusal,
    order_digest,
    plan_update,
    selections,
)
from ml_connector.flows.refusals import refusal_of
from ml_connector.flows.suppliers import ensure_supplier
from ml_connector.mapping.coding import CodedLine, ResolvedLine, resolve_lines
from ml_connector.mapping.master_data import MasterData
from ml_connector.mapping.tasks import assign_tasks
from ml_connector.store import LinkKind

__all__ = [
    "LINK_KIND",
    "LOCKED_STATUSES",
    "OrderOutcome",
    "find_by_reference",
    "sync_purchase_order",
]

LINK_KIND = LinkKind.PURCHASE_ORDER
# Statuses in which Visma refuses every change to a purchase order.
LOCKED_STATUSES = frozenset({"Closed", "Cancelled", "Voided"})
_PUT_TRIES = 3  # read-and-PUT rounds when Visma answers 412


@dataclass(frozen=True)
class OrderOutcome:
    action: str  # created | updated | unchanged | held | skipped
    visma_ref: str | None = None
    supplier_created: bool = False
    reason: str = ""
    payload: dict[str, Any] | None = None


async def find_by_reference(ctx: FlowContext, supplier: str, order_id: str) -> str | None:
    """The Visma order number carrying ``ramp-po:<id>`` in its note (lookup before re-post)."""
    ref = external_ref(order_id)
    async for order in ctx.visma.list_purchase_orders(supplier=supplier):
        if order.note and ref in order.note:
            return order.order_nbr
    return None


async def sync_purchase_order(
    ctx: FlowContext, order: RampOrder, options: ProcurementOptions
) -> OrderOutcome:
    """Run F3 (+F2) for one Ramp purchase order; raise NeedsAttention or a vendor error."""
    link = await ctx.store.get_link(ctx.connection_id, LINK_KIND, order.id)
    if order.archived_at is not None:
        return await _archived(ctx, order, link.visma_id if link else None, link is not None)
    if order.vendor_id is None:
        raise NeedsAttention(
            "The purchase order has no vendor in Ramp, so it has no supplier in Visma",
            hint="Choose the vendor on the purchase order in Ramp; it syncs on the next change.",
            code="po_without_vendor",
        )
    master = await ctx.master.get()
    lines = _order_lines(ctx, order, master)  # coding and tasks settle before any write
    supplier = await ensure_supplier(ctx, order.vendor_id, order.amount.currency_code)
    plan = build_order(order, supplier.number, lines, options)
    check_order(plan, master)
    payload = plan.payload()
    ctx.note(
        AuditKind.MAPPED_PAYLOAD,
        {"payload": payload, "mapping_version": ctx.rules.mapping_version},
    )
    try:
        if link is not None and link.visma_id:
            outcome = await _update(ctx, order, plan, link.visma_id, link.data)
        else:
            outcome = await _create(ctx, order, plan, attempted=link.data if link else None)
    except ValidationRejected as exc:
        refused = inventory_refusal(exc, options)
        if refused is not None:
            raise refused from exc
        raise
    return replace(outcome, supplier_created=supplier.created, payload=payload)


def _order_lines(ctx: FlowContext, order: RampOrder, master: MasterData) -> list[ResolvedLine]:
    """The order's lines resolved through the mapping, each project line with its task."""
    coded = [
        CodedLine(
            line.amount.amount,
            line.description or "",
            selections(line.accounting_field_selections),
            quantity=line.unit_quantity or 1,
        )
        for line in order.line_items
    ]
    lines = resolve_lines(
        coded,
        selections(order.accounting_field_selections),
        ctx.rules,
        currency=order.amount.currency_code,
        total_minor=sum(line.amount_minor for line in coded),
        entity_id=order.entity_id,
    )
    return assign_tasks(lines[: len(order.line_items)], master, module="PO")


def _link_data(order: RampOrder, plan: OrderPlan, numbers: Mapping[str, int]) -> dict[str, Any]:
    return {
        "payload": plan.payload(),
        "lines": dict(numbers),
        "vendor_id": order.vendor_id,
        "source_digest": order_digest(order),
    }


async def _create(
    ctx: FlowContext, order: RampOrder, plan: OrderPlan, *, attempted: dict[str, Any] | None
) -> OrderOutcome:
    """POST the order at most once; ``attempted`` is the data of a link claimed earlier."""
    supplier = plan.header.supplier or ""
    numbers = {line_id: index for index, line_id in enumerate(plan.lines, start=1)}
    if attempted is None:
        claim = await ctx.store.claim_link(
            ctx.connection_id,
            LINK_KIND,
            order.id,
            external_ref=external_ref(order.id),
            owner=ctx.owner,
        )
        if not claim.won:
            # Someone else started this create: never post a second time.
            data = dict(claim.link.data)
            if claim.link.visma_id:
                return await _update(ctx, order, plan, claim.link.visma_id, data)
            found = await find_by_reference(ctx, supplier, order.id)
            if found is None:
                raise RetriableVendorError(
                    "ml-connector", "another attempt is creating this purchase order; retrying"
                )
            return await _adopt(ctx, order, plan, found, data)
    else:
        found = await find_by_reference(ctx, supplier, order.id)
        if found is not None:
            return await _adopt(ctx, order, plan, found, attempted)
    posted = PurchaseOrderWrite(
        **{f.name: getattr(plan.header, f.name) for f in fields(plan.header) if f.name != "lines"},
        lines=tuple(
            replace(line, operation="Insert", line_number=numbers[line_id])
            for line_id, line in plan.lines.items()
        ),
    )
    await ctx.store.update_link_data(
        ctx.connection_id, LINK_KIND, order.id, _link_data(order, plan, numbers)
    )
    try:
        number = await ctx.visma.create_purchase_order(posted)
    except AmbiguousOutcome as exc:
        found = await find_by_reference(ctx, supplier, order.id)
        if found is None:
            refused = refusal_of(exc, "the purchase order")
            if refused is not None:
                raise refused from exc
            raise
        number = found
    await ctx.store.confirm_link(
        ctx.connection_id,
        LINK_KIND,
        order.id,
        visma_id=number,
        data=_link_data(order, plan, numbers),
    )
    ctx.note(AuditKind.DECISION, {"decision": "create", "visma_ref": number})
    return OrderOutcome("created", number)


async def _adopt(
    ctx: FlowContext,
    order: RampOrder,
    plan: OrderPlan,
    number: str,
    attempted: dict[str, Any] | None,
) -> OrderOutcome:
    """Confirm an order an uncertain POST created, then bring it up to date."""
    data = dict(attempted or {})
    if "payload" not in data:
        # A concurrent attempt posted it and has not recorded what it sent yet: its line map is
        # unknown here, so wait for it rather than guess (a guess could duplicate lines).
        raise RetriableVendorError(
            "ml-connector", f"purchase order {number} is being created by another attempt"
        )
    ctx.note(AuditKind.DECISION, {"decision": "adopt", "visma_ref": number})
    await ctx.store.confirm_link(ctx.connection_id, LINK_KIND, order.id, visma_id=number, data=data)
    await _update(ctx, order, plan, number, data)
    return OrderOutcome("created", number, reason="adopted after an uncertain outcome")


def _settle_pending(
    data: Mapping[str, Any], plan: OrderPlan, current: PurchaseOrder
) -> dict[str, int]:
    """The line map, plus lines an interrupted PUT did insert (their number now holds them)."""
    numbers = dict(data.get("lines", {}))
    present = {line.line_nbr: line for line in current.lines}
    for line_id, number in dict(data.get("pending", {})).items():
        wanted = plan.lines.get(line_id)
        line = present.get(number)
        if (
            line is not None
            and wanted is not None
            and line.line_description == (wanted.line_description)
        ):
            numbers[line_id] = number
    return numbers


async def _update(
    ctx: FlowContext, order: RampOrder, plan: OrderPlan, number: str, data: dict[str, Any]
) -> OrderOutcome:
    if data.get("payload") == plan.payload():
        if data.get("source_digest") != order_digest(order):
            await ctx.store.update_link_data(
                ctx.connection_id,
                LINK_KIND,
                order.id,
                {**data, "source_digest": order_digest(order)},
            )
        return OrderOutcome("unchanged", number)
    for _ in range(_PUT_TRIES):
        current = await ctx.visma.get_purchase_order(number)
        if current is None:
            raise NeedsAttention(
                f"Purchase order {number} was synced from this Ramp order but no longer exists "
                "in Visma",
                hint="Replay the record to create it again, or exclude it if it was removed on "
                "purpose.",
                code="po_missing",
            )
        _refuse_locked(current, "changed in Ramp")
        numbers = _settle_pending(data, plan, current)
        body, new_map, inserted = plan_update(plan, data.get("payload", {}), numbers, current)
        if body is not None:
            await ctx.store.update_link_data(
                ctx.connection_id,
                LINK_KIND,
                order.id,
                {**data, "lines": numbers, "pending": inserted},
            )
            try:
                await ctx.visma.update_purchase_order(number, body, etag=current.etag)
            except PreconditionFailed:
                ctx.note(AuditKind.DECISION, {"decision": "re-read", "why": "changed in Visma"})
                data = {**data, "lines": numbers, "pending": inserted}
                continue  # a person changed it in Visma between our read and write: read again
        await ctx.store.confirm_link(
            ctx.connection_id,
            LINK_KIND,
            order.id,
            visma_id=number,
            data=_link_data(order, plan, new_map),
        )
        ctx.note(AuditKind.DECISION, {"decision": "update", "visma_ref": number})
        return OrderOutcome("updated" if body is not None else "unchanged", number)
    raise RetriableVendorError(
        "ml-connector", f"purchase order {number} kept changing in Visma while being updated"
    )


def _refuse_locked(current: PurchaseOrder, why: str) -> None:
    if current.status in LOCKED_STATUSES:
        raise NeedsAttention(
            f"The purchase order was {why}, but Visma order {current.order_nbr} is "
            f"{current.status} and can no longer be changed",
            hint="Make the change in Visma by hand (or raise a new order), then mark this record "
            "resolved.",
            code="po_locked",
        )


async def _archived(
    ctx: FlowContext, order: RampOrder, number: str | None, claimed: bool
) -> OrderOutcome:
    """Archived in Ramp: hold the Visma order, so nothing more is received or billed on it."""
    if number is None and claimed and order.vendor_id is not None:
        # An earlier POST had an uncertain outcome: its order may exist all the same.
        vendor = await ctx.store.get_link(ctx.connection_id, LinkKind.VENDOR, order.vendor_id)
        if vendor is not None and vendor.visma_id:
            number = await find_by_reference(ctx, vendor.visma_id, order.id)
    if number is None:
        ctx.note(AuditKind.DECISION, {"decision": "skip", "why": "archived before sync"})
        return OrderOutcome("skipped", reason="archived in Ramp before it reached Visma")
    for _ in range(_PUT_TRIES):
        current = await ctx.visma.get_purchase_order(number)
        if current is None:
            return OrderOutcome("unchanged", number, reason="already gone from Visma")
        if current.status in LOCKED_STATUSES or current.hold:
            return await _mark_held(ctx, order, number, f"already {current.status} in Visma")
        try:
            await ctx.visma.update_purchase_order(
                number, PurchaseOrderWrite(hold=True), etag=current.etag
            )
        except PreconditionFailed:
            continue
        ctx.note(AuditKind.DECISION, {"decision": "hold", "why": "archived in Ramp"})
        outcome = await _mark_held(ctx, order, number, "archived in Ramp; order put on hold")
        return replace(outcome, action="held")
    raise RetriableVendorError(
        "ml-connector", f"purchase order {number} kept changing in Visma while being held"
    )


async def _mark_held(ctx: FlowContext, order: RampOrder, number: str, reason: str) -> OrderOutcome:
    link = await ctx.store.get_link(ctx.connection_id, LINK_KIND, order.id)
    data = dict(link.data) if link else {}
    await ctx.store.confirm_link(
        ctx.connection_id,
        LINK_KIND,
        order.id,
        visma_id=number,
        data={**data, "held": True, "source_digest": order_digest(order)},
    )
    return OrderOutcome("unchanged", number, reason=reason)
