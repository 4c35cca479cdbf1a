"""F6 bill payments: a paid Ramp bill becomes one Visma supplier payment, then BILL_PAYMENT_SYNC.

Per connection and off by default (``settings["payments"]``: ``enabled``, ``cash_account``,
optionally ``payment_method``). One call of ``sync_payment`` is one unit of work for one paid
bill, and follows Ramp's two-phase rule (ramp-api.md §6): the payment is written back only once
the bill itself is marked synced (``BILL_SYNCED``); a bill paid before its first sync gets
``BILL_SYNC`` from the bill flow first, and its payment after.

1. The bill's invoice must be in Visma (its bill link confirmed); otherwise the bill is queued
   and the payment retried.
2. The link row (kind ``payment``, one per bill: Ramp pays a bill once) decides:
   - none: check the invoice (Open, or Balanced and released here because the bill is paid;
     enough balance; same currency; the payment's period open), claim the link, POST the
     payment applied to the invoice, confirm the link;
   - ``attempted`` without a Visma number: look the payment up by its external reference
     (the description ``ramp-payment:<bill id>`` among the invoice's payments) before any POST;
   - confirmed: nothing is written again.
3. Release the payment (once), which applies it: the invoice's balance drops, and the invoice
   closes when it is paid in full.
4. Return the ``BILL_PAYMENT_SYNC`` for the worker to post in a batch; while Ramp still shows
   the bill unsynced, retry later instead (Ramp refuses a payment sync before the bill sync).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.clients.ramp_models import Bill, SyncSuccess
from ml_connector.clients.visma_models import (
    ActionResult,
    SupplierInvoice,
    SupplierPaymentWrite,
)
from ml_connector.errors import (
    AmbiguousOutcome,
    NeedsAttention,
    RetriableVendorError,
)
from ml_connector.flows.context import FlowContext
from ml_connector.flows.payment_plan import (
    PaymentOptions,
    build_payment,
    check_payable,
    external_ref,
    manual_method,
    payment_summary,
    settled_outside_visma,
)
from ml_connector.flows.refusals import refusal_of
from ml_connector.flows.releases import Release, release
from ml_connector.mapping.master_data import period_at
from ml_connector.mapping.periods import period_label
from ml_connector.store import LinkKind

__all__ = [
    "LINK_KIND",
    "PaymentOptions",  # re-exported from flows.payment_plan
    "PaymentOutcome",
    "build_payment",  # re-exported
    "external_ref",  # re-exported
    "payment_options",
    "queue_payment",
    "sync_payment",
]

LINK_KIND = LinkKind.PAYMENT
PAID = "PAID"
_ALL_SYNCED = "BILL_AND_PAYMENT_SYNCED"
_RELEASED = frozenset({"Open", "Closed"})  # what a released AP document or payment reads as
# Link-data keys of background release requests still to be polled (flows.releases).
_INVOICE_RELEASE = "invoice_release"
_RELEASE = "release"


@dataclass(frozen=True)
class PaymentOutcome:
    action: str  # created | unchanged | skipped
    visma_ref: str | None = None
    supplier_created: bool = False
    reason: str = ""
    payload: dict[str, Any] | None = None
    payment_sync: SyncSuccess | None = None  # the BILL_PAYMENT_SYNC the worker posts


async def payment_options(ctx: FlowContext) -> PaymentOptions:
    """The connection's payment settings, read from the store (they change without restart)."""
    connection = await ctx.store.get_connection(ctx.connection_id)
    return PaymentOptions.from_settings(connection.settings)


async def queue_payment(ctx: FlowContext, bill: Bill) -> bool:
    """The bill flow's hook: queue the payment of a paid, synced bill when payments are on."""
    if bill.status != PAID or bill.sync_status == _ALL_SYNCED:
        return False
    if not (await payment_options(ctx)).enabled:
        return False
    await ctx.store.upsert_record(
        ctx.connection_id, "payment", bill.id, reason="bill paid", replay=True
    )
    ctx.note(AuditKind.DECISION, {"decision": "queue payment", "bill": bill.id})
    return True


async def sync_payment(
    ctx: FlowContext, bill: Bill, options: PaymentOptions, *, forced: bool = False
) -> PaymentOutcome:
    """Run the payment half of F6 for one bill (see the module docstring)."""
    if bill.status != PAID:
        return PaymentOutcome("skipped", reason=f"the bill is {bill.status}, not paid")
    if not (options.enabled or forced):
        return PaymentOutcome("skipped", reason="payment sync is off for this connection")
    elsewhere = settled_outside_visma(bill)
    if elsewhere is None and not options.cash_account:
        raise NeedsAttention(_no_cash_account(bill), hint=_CASH_HINT, code="payment_cash_account")
    bill_link = await ctx.store.get_link(ctx.connection_id, LinkKind.BILL, bill.id)
    if bill_link is None or not bill_link.visma_id:
        await ctx.store.upsert_record(
            ctx.connection_id, "bill", bill.id, reason="its payment waits for it"
        )
        raise RetriableVendorError(
            "ml-connector", "the bill's invoice is not in Visma yet; its payment follows"
        )
    doc_type, _, invoice_number = bill_link.visma_id.partition("/")
    if elsewhere is not None:
        return await _settled_elsewhere(ctx, bill, invoice_number, elsewhere)
    if doc_type != "Invoice":
        return PaymentOutcome("skipped", reason=f"a {doc_type} is settled, not paid")
    link = await ctx.store.get_link(ctx.connection_id, LINK_KIND, bill.id)
    payload = None
    action = "unchanged"
    if link is not None and link.visma_id:
        number = link.visma_id
        released = bool(link.data.get("released"))
    else:
        number, payload = await _create(
            ctx,
            bill,
            doc_type,
            invoice_number,
            options,
            attempted=link is not None,
            pending=link.data.get(_INVOICE_RELEASE) if link is not None else None,
        )
        action, released = "created", False
    if not released:
        await _release(ctx, bill.id, number)
    return await _write_back(ctx, bill, number, action, payload)


def _no_cash_account(bill: Bill) -> str:
    manual = manual_method(bill)
    if manual is not None:
        return (
            f"The bill was paid outside Ramp ({manual}), and no Visma cash account is "
            "configured for this connection to post that payment from"
        )
    return "No cash account is configured for supplier payments"


_CASH_HINT = (
    "Set the Visma cash account the bills are paid from (ml-connector connection set NAME "
    "--cash-account ACCOUNT; stored as payments.cash_account), then replay the record."
)


async def _settled_elsewhere(
    ctx: FlowContext, bill: Bill, invoice_number: str, method: str
) -> PaymentOutcome:
    """A bill settled without a Visma payment: nothing is posted, Ramp is told it is synced."""
    why = {
        "PAID_IN_ERP": "the payment was entered in Visma by hand (PAID_IN_ERP)",
        "VENDOR_CREDIT": "the bill was settled with a vendor credit (VENDOR_CREDIT)",
    }[method]
    ctx.note(AuditKind.DECISION, {"decision": "no Visma payment", "why": why})
    outcome = await _write_back(ctx, bill, invoice_number, "skipped", None)
    return PaymentOutcome(
        "skipped", reason=f"no payment posted: {why}", payment_sync=outcome.payment_sync
    )


async def find_by_reference(
    ctx: FlowContext, supplier: str | None, invoice_number: str, bill_id: str
) -> str | None:
    """The number of the payment carrying ``ramp-payment:<bill id>`` (lookup before re-post)."""
    ref = external_ref(bill_id)
    async for payment in ctx.visma.list_supplier_payments(
        supplier=supplier, invoice_ref_nbr=invoice_number
    ):
        if payment.description and ref in payment.description:
            return payment.ref_nbr
    return None


async def _create(
    ctx: FlowContext,
    bill: Bill,
    doc_type: str,
    invoice_number: str,
    options: PaymentOptions,
    *,
    attempted: bool,
    pending: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Create the payment at most once; ``pending`` is an invoice release still running."""
    invoice = await ctx.visma.get_supplier_invoice(doc_type, invoice_number)
    if invoice is None:
        raise NeedsAttention(
            f"Invoice {invoice_number} was synced from this bill but no longer exists in Visma",
            hint="Replay the bill to create the invoice again, then replay its payment.",
            code="invoice_missing",
        )
    supplier = invoice.supplier_number
    if attempted or not await _claim(ctx, bill):
        found = await find_by_reference(ctx, supplier, invoice_number, bill.id)
        if found is not None:
            ctx.note(AuditKind.DECISION, {"decision": "adopt", "visma_ref": found})
            await _confirm(ctx, bill.id, found, {})
            return found, {}
        if not attempted:
            raise RetriableVendorError(
                "ml-connector", "another attempt is creating this payment; retrying later"
            )
    payment = build_payment(bill, invoice, options, today=ctx.clock().date())
    payload = payment_summary(payment)
    await _check_payable(ctx, invoice, payment, release_invoices=options.release_invoices)
    ctx.note(AuditKind.MAPPED_PAYLOAD, {"payload": payload})
    if invoice.status == "Balanced":
        ctx.note(AuditKind.DECISION, {"decision": "release invoice", "why": "the bill is paid"})
        await release(ctx, _invoice_release(ctx, bill.id, invoice), pending)
    try:
        number = await ctx.visma.create_supplier_payment(payment)
    except AmbiguousOutcome as exc:
        found = await find_by_reference(ctx, supplier, invoice_number, bill.id)
        if found is None:
            refused = refusal_of(exc, "the supplier payment")
            if refused is not None:
                raise refused from exc
            raise
        number = found
    await _confirm(ctx, bill.id, number, {"invoice": invoice_number, "payload": payload})
    ctx.note(AuditKind.DECISION, {"decision": "create payment", "visma_ref": number})
    return number, payload


async def _claim(ctx: FlowContext, bill: Bill) -> bool:
    claim = await ctx.store.claim_link(
        ctx.connection_id, LINK_KIND, bill.id, external_ref=external_ref(bill.id), owner=ctx.owner
    )
    return claim.won


async def _confirm(ctx: FlowContext, bill_id: str, number: str, data: dict[str, Any]) -> None:
    await ctx.store.confirm_link(ctx.connection_id, LINK_KIND, bill_id, visma_id=number, data=data)


async def _check_payable(
    ctx: FlowContext,
    invoice: SupplierInvoice,
    payment: SupplierPaymentWrite,
    *,
    release_invoices: bool,
) -> None:
    """Everything Visma would refuse about this payment, checked before any write: the
    invoice and the amount (``check_payable``), then the period of the payment date."""
    check_payable(invoice, payment, release_invoices=release_invoices)
    day = payment.application_date or ctx.clock().date()
    master = await ctx.master.get()
    period = period_at(master, day, what="payment date")
    info = master.periods[period]
    if info.closed_in_supplier_ledger or not info.active:
        state = "closed in the supplier ledger" if info.active else "not active"
        raise NeedsAttention(
            f"The payment date {day} falls in period {period_label(period)}, which is "
            f"{state} in Visma",
            hint="Open the period in Visma, or register the payment by hand, then replay.",
            code="payment_period_closed",
        )


async def _release(ctx: FlowContext, bill_id: str, number: str) -> None:
    """Release the payment once, so it applies to the invoice; remember that it was."""
    current = await ctx.visma.get_supplier_payment(number)
    if current is None:
        raise NeedsAttention(
            f"Supplier payment {number} was created for this bill but no longer exists in Visma",
            hint="Register the payment in Visma by hand, then mark this record resolved.",
            code="payment_missing",
        )
    if current.status == "Hold":
        raise NeedsAttention(
            f"Supplier payment {number} is on hold in Visma",
            hint="Take it off hold and release it in Visma, then replay the record.",
            code="payment_on_hold",
        )
    link = await ctx.store.get_link(ctx.connection_id, LINK_KIND, bill_id)
    data = dict(link.data) if link else {}
    if current.status == "Balanced":
        payment_type = current.type or "Payment"

        async def post() -> ActionResult:
            return await ctx.visma.release_supplier_payment(number, payment_type, current.etag)

        async def is_released() -> bool:
            read = await ctx.visma.get_supplier_payment(number)
            return read is not None and (bool(read.released) or read.status in _RELEASED)

        target = Release(
            f"supplier payment {number}", post, is_released, _remembering(ctx, bill_id, _RELEASE)
        )
        await release(ctx, target, data.get(_RELEASE))
        link = await ctx.store.get_link(ctx.connection_id, LINK_KIND, bill_id)
        data = dict(link.data) if link else {}
    data.pop(_RELEASE, None)
    await _confirm(ctx, bill_id, number, {**data, "released": True})


def _invoice_release(ctx: FlowContext, bill_id: str, invoice: SupplierInvoice) -> Release:
    """Releasing the bill's invoice before it is paid; the request id lives on the payment link."""
    doc_type, number = invoice.document_type or "Invoice", invoice.reference_number

    async def post() -> ActionResult:
        return await ctx.visma.release_supplier_invoice(doc_type, number, etag=invoice.etag)

    async def is_released() -> bool:
        read = await ctx.visma.get_supplier_invoice(doc_type, number)
        return read is not None and read.status in _RELEASED

    return Release(
        f"invoice {number}", post, is_released, _remembering(ctx, bill_id, _INVOICE_RELEASE)
    )


def _remembering(
    ctx: FlowContext, bill_id: str, key: str
) -> Callable[[str | None], Awaitable[None]]:
    """Keep (or drop) a background request id under ``key`` in the payment link's data."""

    async def remember(request_id: str | None) -> None:
        link = await ctx.store.get_link(ctx.connection_id, LINK_KIND, bill_id)
        data = dict(link.data) if link else {}
        if request_id is None:
            if data.pop(key, None) is None:
                return
        else:
            data[key] = request_id
        await ctx.store.update_link_data(ctx.connection_id, LINK_KIND, bill_id, data)

    return remember


async def _write_back(
    ctx: FlowContext, bill: Bill, number: str, action: str, payload: dict[str, Any] | None
) -> PaymentOutcome:
    if not ctx.options.write_back or bill.sync_status == _ALL_SYNCED:
        return PaymentOutcome(action, number, payload=payload)
    if bill.sync_status != "BILL_SYNCED":
        raise RetriableVendorError(
            "ml-connector",
            f"payment {number} is in Visma; Ramp must mark the bill synced before its payment",
        )
    sync = SyncSuccess(id=bill.id, reference_id=number)
    ctx.note(AuditKind.RESULT, {"ramp": "BILL_PAYMENT_SYNC queued", "reference_id": number})
    return PaymentOutcome(action, number, payload=payload, payment_sync=sync)
