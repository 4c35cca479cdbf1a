"""The supplier invoice a Ramp bill becomes, prepared once for both a sync and its dry run.

``prepare_bill`` is the one preparation step of F1: it settles, in this order and before any
write, the purchase order the bill bills (``flows.po_matching``), the accounting period, the
coded lines (coding resolved, project tasks settled, every coded value checked against Visma's
master data) and then the supplier, builds the invoice, runs the document-level pre-flight and
returns the invoice with its canonical payload and that payload's hash. ``sync_bill`` hands it a
supplier step that ensures the supplier (F2, which may create one); the dry run ``plan_bill``
hands it one that only looks the supplier up. Everything else is the same code, so a dry run
shows exactly the payload a sync would send.

The external reference is the note ``ramp-bill:<bill id>`` on the Visma document, plus the
supplier's invoice number as ``supplierReference``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ml_connector.clients.ramp_models import Bill
from ml_connector.clients.visma_models import SupplierInvoiceLineWrite, SupplierInvoiceWrite
from ml_connector.flows.coding import bill_coding
from ml_connector.flows.context import FlowContext
from ml_connector.flows.payloads import as_date, payload_hash, plain
from ml_connector.flows.po_matching import OrderMatch, link_lines, order_for_bill
from ml_connector.flows.suppliers import SupplierOutcome
from ml_connector.mapping.coding import ResolvedLine, resolve_lines
from ml_connector.mapping.master_data import MasterData, period_at
from ml_connector.mapping.preflight import check_invoice, check_lines
from ml_connector.mapping.tasks import assign_tasks
from ml_connector.store import Link

__all__ = [
    "PreparedBill",
    "SupplierStep",
    "accounting_day",
    "bill_period",
    "build_invoice",
    "coded_lines",
    "external_ref",
    "issue_day",
    "order_match",
    "payload_of",
    "prepare_bill",
]

# How a preparation gets the bill's supplier once everything before it is settled.
SupplierStep = Callable[[], Awaitable[SupplierOutcome]]


@dataclass(frozen=True)
class PreparedBill:
    """What one write of a bill sends: the invoice, its canonical payload and the payload hash."""

    invoice: SupplierInvoiceWrite
    payload: dict[str, Any]
    digest: str
    supplier: SupplierOutcome


def external_ref(bill_id: str) -> str:
    return f"ramp-bill:{bill_id}"


def issue_day(bill: Bill, today: date) -> date:
    """The bill's issue date; ``today`` (the flow clock's date) for a bill without one."""
    return as_date(bill.issued_at) or today


def accounting_day(bill: Bill, today: date) -> date:
    """The date the bill is booked on: Ramp's accounting date, else its issue date."""
    return as_date(bill.accounting_date) or issue_day(bill, today)


def bill_period(bill: Bill, master: MasterData, today: date) -> str:
    """The Visma period of the bill's accounting date, from Visma's period table."""
    return period_at(master, accounting_day(bill, today), what="accounting date")


def build_invoice(
    bill: Bill,
    supplier: str,
    lines: list[ResolvedLine],
    ctx: FlowContext,
    *,
    financial_period: str,
) -> SupplierInvoiceWrite:
    """The supplier invoice (or credit) for ``bill``, in ``financial_period`` (``YYYYPP``)."""
    return SupplierInvoiceWrite(
        document_type="DebitAdj" if ctx.options.is_credit(bill) else "Invoice",
        supplier_number=supplier,
        supplier_reference=(bill.invoice_number or bill.id)[:40],
        date=issue_day(bill, ctx.clock().date()),
        due_date=as_date(bill.due_at),
        currency_id=bill.amount.currency_code,
        financial_period=financial_period,
        description=(bill.memo or bill.vendor_memo or f"Ramp bill {bill.invoice_number}")[:150],
        note=external_ref(bill.id),
        hold=ctx.options.post_on_hold,
        tax_calculation_mode=ctx.options.tax_calculation_mode,
        lines=tuple(
            SupplierInvoiceLineWrite(
                operation="Insert",
                line_number=line.line_number,
                account_number=line.account,
                subaccount=line.subaccount,
                transaction_description=line.description or None,
                quantity=line.quantity,
                unit_cost_in_currency=abs(line.amount),
                cost_in_currency=abs(line.amount),
                vat_code_id=line.vat_code,
                project_id=line.project,
                project_task_id=line.project_task,
            )
            for line in lines
        ),
    )


def payload_of(invoice: SupplierInvoiceWrite) -> dict[str, Any]:
    """The invoice as canonical JSON-ready data (what the audit trail and replay diff show)."""
    payload: dict[str, Any] = plain(dataclasses.asdict(invoice))
    return payload


def coded_lines(ctx: FlowContext, bill: Bill, master: MasterData) -> list[ResolvedLine]:
    """The bill's Visma lines: coding resolved, project tasks settled, every coded value
    checked against ``master``. Raises NeedsAttention (nothing written) when one is not usable.
    """
    coded, bill_level = bill_coding(bill)
    lines = resolve_lines(
        coded,
        bill_level,
        ctx.rules,
        currency=bill.amount.currency_code,
        total_minor=bill.amount.amount,
        entity_id=bill.entity_id,
    )
    lines = assign_tasks(lines, master)
    check_lines(lines, master, document_date=as_date(bill.issued_at))
    return lines


async def order_match(
    ctx: FlowContext, bill: Bill, orders: Iterable[Link] | None = None
) -> OrderMatch | None:
    """The purchase order Ramp matched this bill to, if it is in Visma (credits never are).

    ``orders``: the connection's purchase-order links, when the caller has read them already.
    """
    return None if ctx.options.is_credit(bill) else await order_for_bill(ctx, bill, links=orders)


async def prepare_bill(
    ctx: FlowContext, bill: Bill, supplier: SupplierStep, *, orders: Iterable[Link] | None = None
) -> PreparedBill:
    """The invoice for ``bill`` and its payload; raises NeedsAttention where a sync stops.

    The order match, the period and the coded lines are settled before ``supplier`` runs, so a
    bill that needs a person stops before any supplier is written; the document-level
    pre-flight (blocked supplier, closed period, disabled currency) follows.
    """
    match = await order_match(ctx, bill, orders)
    master = await ctx.master.get()
    period = bill_period(bill, master, ctx.clock().date())
    lines = coded_lines(ctx, bill, master)
    found = await supplier()
    invoice = build_invoice(bill, found.number, lines, ctx, financial_period=period)
    if match is not None:
        invoice = link_lines(invoice, match)
    check_invoice(
        financial_period=period,
        currency=invoice.currency_id or "",
        lines=lines,
        master=master,
        supplier=invoice.supplier_number,
        document_date=invoice.date,
    )
    payload = payload_of(invoice)
    return PreparedBill(invoice, payload, payload_hash(payload), found)
