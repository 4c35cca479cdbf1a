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
receipts) needs a person.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.clients.ramp_models import AccountingFieldSelection
from ml_connector.clients.ramp_models import PurchaseOrder as RampOrder
from ml_connector.clients.visma_models import (
    PurchaseOrder,
    PurchaseOrderLineWrite,
    PurchaseOrderWrite,
)
from ml_connector.errors import (
    AmbiguousOutcome,
    MappingError,
    NeedsAttention,
    PreconditionFailed,
    RetriableVendorError,
)
from ml_connector.flows.context import FlowContext
from ml_connector.flows.suppliers import ensure_supplier
from ml_connector.mapping.coding import CodedLine, ResolvedLine, Selection, resolve_lines
from ml_connector.mapping.money import to_decimal
from ml_connector.mapping.preflight import NON_PROJECT, MasterData
from ml_connector.store import LinkKind

__all__ = [
    "LINK_KIND",
    "LOCKED_STATUSES",
    "OrderOutcome",
    "OrderPlan",
    "ProcurementOptions",
    "build_order",
    "external_ref",
    "order_digest",
    "plan_update",
    "sync_purchase_order",
]

LINK_KIND = LinkKind.PURCHASE_ORDER
# Statuses in which Visma refuses every change to a purchase order.
LOCKED_STATUSES = frozenset({"Closed", "Cancelled", "Voided"})
_PUT_TRIES = 3  # read-and-PUT rounds when Visma answers 412


@dataclass(frozen=True)
class ProcurementOptions:
    """A connection's purchase-order settings (``settings["purchase_orders"]``)."""

    enabled: bool = False  # webhooks, reconciliation and plain ``sync`` include purchase orders
    line_type: str = "Service"  # Visma line type for Ramp lines (no inventory items involved)
    order_type: str = "RegularOrder"
    # How far a matched bill may exceed its order's open amount, in percent of the order total.
    tolerance_percent: Decimal = Decimal(0)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ProcurementOptions:
        raw = settings.get("purchase_orders")
        raw = raw if isinstance(raw, Mapping) else {}
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        if "tolerance_percent" in known:
            try:
                known["tolerance_percent"] = Decimal(str(known["tolerance_percent"]))
            except InvalidOperation:
                known.pop("tolerance_percent")
        if "enabled" in known:
            known["enabled"] = bool(known["enabled"])
        return cls(**known)


@dataclass(frozen=True)
class OrderOutcome:
    action: str  # created | updated | unchanged | held | skipped
    visma_ref: str | None = None
    supplier_created: bool = False
    reason: str = ""
    payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class OrderPlan:
    """The Visma order a Ramp order should be: header (no lines) and lines by Ramp line id."""

    header: PurchaseOrderWrite
    lines: dict[str, PurchaseOrderLineWrite] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Canonical JSON-ready form: what the link stores and the audit trail shows."""
        return {
            "header": _plain(self.header, skip={"lines"}),
            "lines": {
                line_id: _plain(line, skip={"operation", "line_number"})
                for line_id, line in self.lines.items()
            },
        }


def external_ref(order_id: str) -> str:
    return f"ramp-po:{order_id}"


def _text(value: Any) -> Any:
    if isinstance(value, tuple):
        return [list(item) if isinstance(item, tuple) else _text(item) for item in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)  # Decimal and date: exact text, never a float


def _plain(write: Any, *, skip: set[str]) -> dict[str, Any]:
    return {
        spec.name: _text(getattr(write, spec.name))
        for spec in fields(write)
        if spec.name not in skip and getattr(write, spec.name) not in (None, ())
    }


def _digest(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_digest(order: RampOrder) -> str:
    """A digest of what the flow reads from a Ramp order; bill matches do not change it."""
    return _digest(order.model_dump(mode="json", exclude={"bill_ids", "spend_total_amount"}))


def _selections(raw: Iterable[AccountingFieldSelection]) -> tuple[Selection, ...]:
    return tuple(
        Selection(
            field=sel.category_info.external_id or "",
            value=sel.external_id,
            type=sel.category_info.type or "OTHER",
            name=sel.name or "",
        )
        for sel in raw
    )


def _day(value: datetime | date | None) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def build_order(
    order: RampOrder,
    supplier: str,
    lines: list[ResolvedLine],
    options: ProcurementOptions,
) -> OrderPlan:
    """The Visma order for ``order`` (pure): ``lines`` resolved in the order of its lines."""
    currency = order.amount.currency_code
    number = order.purchase_order_number
    title = number or f"Ramp PO {order.id[:8]}"
    header = PurchaseOrderWrite(
        order_type=options.order_type,
        hold=False,
        date=_day(order.created_at),
        promised_on=_day(order.promise_date),
        description=f"{title} {order.memo or ''}".strip()[:150],
        supplier=supplier,
        currency=currency,
        supplier_ref=(number or order.id)[:40],
        note=external_ref(order.id),
    )
    planned: dict[str, PurchaseOrderLineWrite] = {}
    for ramp_line, resolved in zip(order.line_items, lines, strict=True):
        quantity = Decimal(ramp_line.unit_quantity or 1)
        if ramp_line.unit_price is not None:
            unit_cost = to_decimal(ramp_line.unit_price.amount, currency)
        else:
            unit_cost = to_decimal(ramp_line.amount.amount, currency) / quantity
        planned[ramp_line.id] = PurchaseOrderLineWrite(
            line_type=options.line_type,
            line_description=(ramp_line.description or "").strip()[:256] or None,
            order_qty=quantity,
            unit_cost=unit_cost,
            account=resolved.account,
            sub=resolved.subaccount,
            project=resolved.project,
        )
    return OrderPlan(header, planned)


def _changed(wanted: Mapping[str, Any], previous: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in wanted.keys() | previous.keys() if wanted.get(k) != previous.get(k))


def plan_update(
    plan: OrderPlan,
    previous: Mapping[str, Any],
    line_map: Mapping[str, int],
    current: PurchaseOrder,
) -> tuple[PurchaseOrderWrite | None, dict[str, int], dict[str, int]]:
    """The PUT that brings ``current`` from ``previous`` (what was last sent) to ``plan``.

    Returns ``(body or None when nothing is to send, the line map afterwards, the lines the body
    inserts)``. Only header fields and lines that changed in Ramp since ``previous`` are sent;
    a line Visma no longer has is inserted again only when Ramp changed it. Raises
    NeedsAttention when a line to change or delete has receipts in Visma.
    """
    wanted = plan.payload()
    before_header = previous.get("header", {})
    before_lines = previous.get("lines", {})
    header_changes = {
        name: getattr(plan.header, name)
        for name in _changed(wanted["header"], before_header)
        if name in wanted["header"]
    }
    existing = {line.line_nbr: line for line in current.lines if line.line_nbr is not None}
    next_number = max([*existing, *line_map.values(), 0]) + 1
    operations: list[PurchaseOrderLineWrite] = []
    new_map: dict[str, int] = {}
    inserted: dict[str, int] = {}
    for line_id, line in plan.lines.items():
        number = line_map.get(line_id)
        changed = _changed(wanted["lines"][line_id], before_lines.get(line_id, {}))
        if number is not None and number in existing:
            new_map[line_id] = number
            if changed:
                _refuse_received(current, existing[number], "change")
                names = {spec.name for spec in fields(line)}
                update = {name: getattr(line, name) for name in changed if name in names}
                operations.append(
                    replace(
                        PurchaseOrderLineWrite(operation="Update", line_number=number), **update
                    )
                )
        elif number is not None and not changed:
            continue  # removed in Visma by a person, and unchanged in Ramp: leave it removed
        else:
            new_map[line_id] = inserted[line_id] = next_number
            operations.append(replace(line, operation="Insert", line_number=next_number))
            next_number += 1
    for line_id, number in line_map.items():
        if line_id not in plan.lines and number in existing:
            _refuse_received(current, existing[number], "delete")
            operations.append(PurchaseOrderLineWrite(operation="Delete", line_number=number))
    if not header_changes and not operations:
        return None, new_map, {}
    return PurchaseOrderWrite(**header_changes, lines=tuple(operations)), new_map, inserted


def _refuse_received(order: PurchaseOrder, line: Any, verb: str) -> None:
    if line.completed or (line.qty_on_receipts or 0) > 0:
        raise NeedsAttention(
            f"The purchase order changed in Ramp, but line {line.line_nbr} of Visma order "
            f"{order.order_nbr} has receipts and Visma will not {verb} it",
            hint="Correct the order in Visma (for example with a return), or undo the change "
            "in Ramp and mark this record resolved.",
            code="po_line_received",
        )


def check_order(plan: OrderPlan, master: MasterData) -> None:
    """Pre-flight for a purchase order: currency, accounts, segment values and projects."""
    currency = plan.header.currency or ""
    if master.currencies is not None and currency not in master.currencies:
        raise NeedsAttention(
            f"Currency {currency} is not enabled in Visma",
            hint=f"Enable {currency} in Visma (Currency management), then retry.",
            code="currency_disabled",
        )
    for index, line in enumerate(plan.lines.values(), start=1):
        where = f"Line {index} ({line.line_description or 'no description'})"
        account = master.accounts.get(line.account or "")
        if account is None or not account.active:
            state = "does not exist" if account is None else "is inactive"
            raise MappingError(
                f"{where}: GL account {line.account} {state} in Visma",
                hint="Code the line to an active Visma account in Ramp, or map it.",
                code="account_unknown" if account is None else "account_inactive",
            )
        for segment_id, value in line.sub:
            segment = master.segments.get(segment_id)
            active = segment.values.get(value) if segment else None
            if segment is None or (active is None and segment.validate) or active is False:
                raise MappingError(
                    f"{where}: subaccount segment {segment_id} value {value} is not usable in "
                    "Visma",
                    hint="Add or reactivate the value in Visma, or recode the line in Ramp.",
                    code="segment_value_unknown",
                )
        if line.project is not None and line.project != NON_PROJECT:
            project = master.projects.get(line.project)
            if project is None or project.status not in ("Active", "Planned"):
                raise MappingError(
                    f"{where}: project {line.project} cannot take new costs in Visma",
                    hint="Code the line to an active project in Ramp.",
                    code="project_unknown" if project is None else "project_inactive",
                )


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
    supplier = await ensure_supplier(ctx, order.vendor_id, order.amount.currency_code)
    plan = _plan(ctx, order, supplier.number, options)
    check_order(plan, await ctx.master.get())
    payload = plan.payload()
    ctx.note(
        AuditKind.MAPPED_PAYLOAD,
        {"payload": payload, "mapping_version": ctx.rules.mapping_version},
    )
    if link is not None and link.visma_id:
        outcome = await _update(ctx, order, plan, link.visma_id, link.data)
    else:
        outcome = await _create(ctx, order, plan, attempted=link.data if link else None)
    return replace(outcome, supplier_created=supplier.created, payload=payload)


def _plan(
    ctx: FlowContext, order: RampOrder, supplier: str, options: ProcurementOptions
) -> OrderPlan:
    currency = order.amount.currency_code
    coded = [
        CodedLine(
            line.amount.amount,
            line.description or "",
            _selections(line.accounting_field_selections),
            quantity=line.unit_quantity or 1,
        )
        for line in order.line_items
    ]
    lines = resolve_lines(
        coded,
        _selections(order.accounting_field_selections),
        ctx.rules,
        currency=currency,
        total_minor=sum(line.amount_minor for line in coded),
        entity_id=order.entity_id,
    )
    return build_order(order, supplier, lines[: len(order.line_items)], options)


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
    except AmbiguousOutcome:
        found = await find_by_reference(ctx, supplier, order.id)
        if found is None:
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
    ctx.note(AuditKind.DECISION, {"decision": "adopt", "visma_ref": number})
    await ctx.store.confirm_link(ctx.connection_id, LINK_KIND, order.id, visma_id=number, data=data)
    if "payload" not in data:  # adopted from a concurrent attempt whose plan we never saw
        return OrderOutcome("created", number, reason="adopted from a concurrent attempt")
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
