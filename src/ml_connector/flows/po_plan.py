"""Purchase-order plans (pure): the Visma order a Ramp order becomes, and the PUT for an edit.

``build_order`` turns a Ramp order (its lines resolved through the mapping) into an ``OrderPlan``:
the header (order type, supplier, currency, promised date, a description carrying the Ramp
number, and the note ``ramp-po:<id>`` as the external reference) and one line per Ramp line,
keyed by the Ramp line id. ``OrderPlan.payload`` is its canonical JSON form, which the link
keeps as "what was last sent".

``plan_update`` is the three-way merge behind every update: it compares the new plan with what
was last sent and with the order as Visma holds it now, and produces the PUT with only what
Ramp changed: header fields, and lines as Update, Insert (after every line number in use, in
Visma too) or Delete. A line a person removed in Visma is put back only when Ramp changed it;
a line with receipts is never changed or deleted. ``check_order`` is the pre-flight for orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from ml_connector.clients.ramp_models import PurchaseOrder as RampOrder
from ml_connector.clients.visma_models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderLineWrite,
    PurchaseOrderWrite,
)
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import MappingError, NeedsAttention, ValidationRejected
from ml_connector.flows.coding import selections
from ml_connector.flows.payloads import as_date, payload_hash
from ml_connector.mapping.coding import ResolvedLine
from ml_connector.mapping.master_data import MasterData
from ml_connector.mapping.money import to_decimal
from ml_connector.mapping.preflight import check_project_task
from ml_connector.mapping.table import NON_PROJECT

__all__ = [
    "OrderPlan",
    "ProcurementOptions",
    "build_order",
    "check_order",
    "external_ref",
    "inventory_refusal",
    "order_digest",
    "plan_update",
    "selections",
]


@dataclass(frozen=True)
class ProcurementOptions:
    """A connection's purchase-order settings (``settings["purchase_orders"]``)."""

    enabled: bool = False  # webhooks, reconciliation and plain ``sync`` include purchase orders
    line_type: str = "Service"  # Visma line type for Ramp lines
    order_type: str = "RegularOrder"
    # A Visma non-stock item put on every line, for companies whose order lines must name one.
    inventory_item: str | None = None
    # How far a matched bill may exceed its order's open amount, in percent of the order total.
    tolerance_percent: Decimal = Decimal(0)

    @classmethod
    def from_settings(cls, settings: ConnectionSettings) -> ProcurementOptions:
        raw = settings.purchase_orders
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        if "tolerance_percent" in known:
            try:
                known["tolerance_percent"] = Decimal(str(known["tolerance_percent"]))
            except InvalidOperation:
                known.pop("tolerance_percent")
        if "enabled" in known:
            known["enabled"] = bool(known["enabled"])
        if "inventory_item" in known:
            item = "" if known["inventory_item"] is None else str(known["inventory_item"])
            known["inventory_item"] = item.strip() or None
        return cls(**known)


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
    """The reference a Visma order carries in its note: ``ramp-po:<Ramp order id>``."""
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


def order_digest(order: RampOrder) -> str:
    """A digest of what the flow reads from a Ramp order; bill matches do not change it."""
    billing = {"bill_ids", "spend_total_amount", "billing_status"}
    return payload_hash(order.model_dump(mode="json", exclude=billing))


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
        date=as_date(order.created_at),
        promised_on=as_date(order.promise_date),
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
            inventory=options.inventory_item,
            line_description=(ramp_line.description or "").strip()[:256] or None,
            order_qty=quantity,
            unit_cost=unit_cost,
            account=resolved.account,
            sub=resolved.subaccount,
            project=resolved.project,
            project_task=resolved.project_task,
        )
    return OrderPlan(header, planned)


def inventory_refusal(
    exc: ValidationRejected, options: ProcurementOptions
) -> NeedsAttention | None:
    """Visma refusing order lines for want of an inventory item, in words that say what to do.

    Some Visma companies refuse purchase-order lines that name no inventory item. Ramp lines
    carry no item, so the connection names one non-stock item for all of them; until it does,
    such an order needs attention. None when ``exc`` is about something else.
    """
    said = exc.vendor_message or str(exc)
    if "inventory" not in said.lower():
        return None
    if options.inventory_item is None:
        return NeedsAttention(
            f"Visma requires an inventory item on purchase-order lines: {said}",
            hint="Create a non-stock item for Ramp purchases in Visma and set it for this "
            "connection (ml-connector connection set NAME --po-inventory-item ITEM), then "
            "replay the record.",
            code="po_inventory_item",
        )
    return NeedsAttention(
        f"Visma refused the purchase order's inventory item {options.inventory_item}: {said}",
        hint="Check the item in Visma (it must exist and be a non-stock item), or set another "
        "one with ml-connector connection set NAME --po-inventory-item ITEM, then replay.",
        code="po_inventory_item",
    )


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


def _refuse_received(order: PurchaseOrder, line: PurchaseOrderLine, verb: str) -> None:
    if line.completed or (line.qty_on_receipts or 0) > 0:
        raise NeedsAttention(
            f"The purchase order changed in Ramp, but line {line.line_nbr} of Visma order "
            f"{order.order_nbr} has receipts and Visma will not {verb} it",
            hint="Correct the order in Visma (for example with a return), or undo the change "
            "in Ramp and mark this record resolved.",
            code="po_line_received",
        )


def check_order(plan: OrderPlan, master: MasterData) -> None:
    """Pre-flight for a purchase order: currency, accounts, segment values, projects (visible
    in purchasing) and their tasks."""
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
            if not project.visible_in_po:
                raise MappingError(
                    f"{where}: project {line.project} is not visible in purchasing in Visma",
                    hint="Tick 'Visible in PO' on the project in Visma, or choose another project.",
                    code="project_not_in_po",
                )
        check_project_task(where, line.project, line.project_task, master, "PO")
