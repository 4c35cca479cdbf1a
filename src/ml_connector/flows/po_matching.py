"""Bills matched to purchase orders: which Visma order a bill bills, and its linked lines.

Ramp records the match on the purchase order (``bill_ids``); the bill itself carries no link.
``order_for_bill`` therefore looks at the orders of the bill's vendor that reached Visma (their
links remember the vendor) and reads each from Ramp until one lists the bill. An order that
never reached Visma cannot be linked to, so such a bill is written without links (a sync pass
writes purchase orders before bills, so this only happens when purchase orders are off).

Before any write, the bill is checked against the order's open amount: the order total less
what its other bills already took. A bill exceeding it by more than the connection's tolerance
(``purchase_orders.tolerance_percent`` of the order total) needs a person.

``link_lines`` (pure) links each invoice line to one order line, so that Visma shows the match
(``linkLine``): the first unused order line with the same description, else with the same
account, else the first unused one; once every order line is used, lines share them by account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from ml_connector.audit import AuditKind
from ml_connector.clients.ramp_models import Bill
from ml_connector.clients.ramp_models import PurchaseOrder as RampOrder
from ml_connector.clients.visma_models import (
    LinkLineWrite,
    PurchaseOrderLine,
    SupplierInvoiceLineWrite,
    SupplierInvoiceWrite,
)
from ml_connector.errors import NeedsAttention, NotFound
from ml_connector.flows.context import FlowContext
from ml_connector.flows.link_data import OrderLinkData
from ml_connector.flows.po_plan import ProcurementOptions
from ml_connector.flows.purchase_orders import LINK_KIND
from ml_connector.mapping.money import to_decimal
from ml_connector.store import Link

__all__ = ["OrderMatch", "check_tolerance", "link_lines", "order_for_bill"]


@dataclass(frozen=True)
class OrderMatch:
    """The Visma order a bill bills, and the order lines it may link to."""

    ramp_order_id: str
    number: str
    lines: tuple[PurchaseOrderLine, ...]


def check_tolerance(order: RampOrder, bill: Bill, tolerance_percent: Decimal) -> None:
    """Raise NeedsAttention when ``bill`` exceeds the order's open amount beyond tolerance."""
    currency = order.amount.currency_code
    if bill.amount.currency_code != currency:
        raise NeedsAttention(
            f"The bill is in {bill.amount.currency_code}, but purchase order "
            f"{order.purchase_order_number or order.id} is in {currency}",
            hint="Match the bill to an order in its own currency in Ramp, then retry.",
            code="po_currency_mismatch",
        )
    billed = order.spend_total_amount.amount if order.spend_total_amount else 0
    others = billed - bill.amount.amount if bill.id in order.bill_ids else billed
    open_minor = order.amount.amount - max(others, 0)
    excess = bill.amount.amount - open_minor
    allowed = Decimal(order.amount.amount) * tolerance_percent / 100
    if excess > allowed:
        shown = order.purchase_order_number or order.id
        raise NeedsAttention(
            f"The bill ({to_decimal(bill.amount.amount, currency)} {currency}) exceeds what is "
            f"open on purchase order {shown} ({to_decimal(open_minor, currency)} {currency}) "
            f"by {to_decimal(excess, currency)} {currency}, more than the "
            f"{tolerance_percent}% tolerance",
            hint="Raise the order in Ramp (it syncs to Visma), correct the bill, or widen the "
            "connection's purchase_orders.tolerance_percent; then replay the bill.",
            code="po_over_tolerance",
        )


async def _candidates(ctx: FlowContext, vendor_id: str, links: Iterable[Link] | None) -> list[Link]:
    if links is None:
        links = await ctx.store.list_links(ctx.connection_id, LINK_KIND)
    return [
        link
        for link in links
        if link.kind == LINK_KIND
        and link.visma_id
        and OrderLinkData.from_dict(link.data).vendor_id == vendor_id
    ]


async def order_for_bill(
    ctx: FlowContext,
    bill: Bill,
    options: ProcurementOptions | None = None,
    *,
    links: Iterable[Link] | None = None,
) -> OrderMatch | None:
    """The synced order ``bill`` was matched to in Ramp, tolerance checked; None without one.

    Makes no write anywhere. ``options`` default to the connection's stored settings;
    ``links`` are the connection's purchase-order links when the caller has read them already.
    """
    candidates = await _candidates(ctx, bill.vendor.id, links)
    for link in candidates:
        try:
            order = await ctx.ramp.get_purchase_order(link.ramp_id)
        except NotFound:
            continue
        if bill.id not in order.bill_ids:
            continue
        if options is None:
            connection = await ctx.store.get_connection(ctx.connection_id)
            options = ProcurementOptions.from_settings(connection.settings)
        check_tolerance(order, bill, options.tolerance_percent)
        number = link.visma_id or ""
        current = await ctx.visma.get_purchase_order(number)
        if current is None:
            ctx.note(AuditKind.DECISION, {"decision": "no po link", "why": f"{number} is gone"})
            return None
        lines = tuple(line for line in current.lines if not line.canceled and line.line_nbr)
        ctx.note(AuditKind.DECISION, {"decision": "match purchase order", "visma_ref": number})
        return OrderMatch(order.id, number, lines)
    return None


def _fold(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def _pick(line: SupplierInvoiceLineWrite, free: list[PurchaseOrderLine]) -> PurchaseOrderLine:
    description = _fold(line.transaction_description)
    for candidate in free:
        wanted = _fold(candidate.line_description)
        if description and (wanted == description or wanted[: len(description)] == description):
            return candidate
    for candidate in free:
        account = candidate.account.number if candidate.account else None
        if account and account == line.account_number:
            return candidate
    return free[0]


def link_lines(invoice: SupplierInvoiceWrite, match: OrderMatch) -> SupplierInvoiceWrite:
    """``invoice`` with every line linked to a line of the matched order (see module doc)."""
    if not match.lines:
        return invoice
    free = list(match.lines)
    linked = []
    for line in invoice.lines:
        pool = free or [
            po
            for po in match.lines
            if po.account is not None and po.account.number == line.account_number
        ]
        chosen = _pick(line, pool or list(match.lines))
        if chosen in free:
            free.remove(chosen)
        link = LinkLineWrite(purchase_number=match.number, purchase_line_nbr=chosen.line_nbr or 0)
        linked.append(replace(line, link_line=link))
    return replace(invoice, lines=tuple(linked))
