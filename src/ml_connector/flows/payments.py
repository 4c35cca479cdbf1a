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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.clients.ramp_models import Bill, SyncSuccess
from ml_connector.clients.visma_models import (
    SupplierInvoice,
    SupplierPaymentLineWrite,
    SupplierPaymentWrite,
)
from ml_connector.errors import (
    AmbiguousOutcome,
    NeedsAttention,
    PreconditionFailed,
    RetriableVendorError,
)
from ml_connector.flows.context import FlowContext
from ml_connector.mapping.money import to_decimal
from ml_connector.mapping.preflight import period_label
from ml_connector.store import LinkKind

__all__ = [
    "LINK_KIND",
    "PaymentOptions",
    "PaymentOutcome",
    "build_payment",
    "external_ref",
    "payment_options",
    "queue_payment",
    "sync_payment",
]

LINK_KIND = LinkKind.PAYMENT
PAID = "PAID"
_ALL_SYNCED = "BILL_AND_PAYMENT_SYNCED"


@dataclass(frozen=True)
class PaymentOptions:
    """A connection's payment settings (``settings["payments"]``)."""

    enabled: bool = False  # paid bills get a Visma payment without being asked
    cash_account: str | None = None  # the Visma cash account the payments come from
    payment_method: str | None = None  # a Visma payment method id; the supplier's when unset
    release_invoices: bool = True  # release a still-Balanced invoice before paying it

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> PaymentOptions:
        raw = settings.get("payments")
        raw = raw if isinstance(raw, Mapping) else {}
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        for flag in ("enabled", "release_invoices"):
            if flag in known:
                known[flag] = bool(known[flag])
        for name in ("cash_account", "payment_method"):
            if known.get(name) is not None:
                known[name] = str(known[name])
        return cls(**known)


@dataclass(frozen=True)
class PaymentOutcome:
    action: str  # created | unchanged | skipped
    visma_ref: str | None = None
    supplier_created: bool = False
    reason: str = ""
    payload: dict[str, Any] | None = None
    payment_sync: SyncSuccess | None = None  # the BILL_PAYMENT_SYNC the worker posts


def external_ref(bill_id: str) -> str:
    return f"ramp-payment:{bill_id}"


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


def _payment_day(bill: Bill) -> date:
    paid = (bill.payment.payment_date if bill.payment else None) or bill.paid_at
    return paid.date() if paid is not None else datetime.now(UTC).date()


def build_payment(
    bill: Bill, invoice: SupplierInvoice, options: PaymentOptions
) -> SupplierPaymentWrite:
    """The supplier payment for ``bill``, applied in full to ``invoice`` (pure)."""
    paid = bill.payment.amount if bill.payment else bill.amount
    amount = to_decimal(abs(paid.amount), paid.currency_code)
    return SupplierPaymentWrite(
        type="Payment",
        hold=False,
        application_date=_payment_day(bill),
        payment_ref=(bill.invoice_number or bill.id)[:40],
        supplier=invoice.supplier_number,
        payment_method=options.payment_method,
        cash_account=options.cash_account,
        currency=paid.currency_code,
        description=external_ref(bill.id),
        payment_amount=amount,
        lines=(
            SupplierPaymentLineWrite(
                document_type=invoice.document_type,
                ref_nbr=invoice.reference_number,
                amount_paid=amount,
            ),
        ),
    )


def _plain(payment: SupplierPaymentWrite) -> dict[str, Any]:
    data = {
        "supplier": payment.supplier,
        "cash_account": payment.cash_account,
        "currency": payment.currency,
        "date": str(payment.application_date),
        "amount": str(payment.payment_amount),
        "applied_to": [f"{line.document_type}/{line.ref_nbr}" for line in payment.lines],
        "reference": payment.description,
    }
    return {k: v for k, v in data.items() if v is not None}


async def sync_payment(
    ctx: FlowContext, bill: Bill, options: PaymentOptions, *, forced: bool = False
) -> PaymentOutcome:
    """Run the payment half of F6 for one bill (see the module docstring)."""
    if bill.status != PAID:
        return PaymentOutcome("skipped", reason=f"the bill is {bill.status}, not paid")
    if not (options.enabled or forced):
        return PaymentOutcome("skipped", reason="payment sync is off for this connection")
    if not options.cash_account:
        raise NeedsAttention(
            "No cash account is configured for supplier payments",
            hint="Set payments.cash_account in the connection's settings to the Visma cash "
            "account the bills are paid from, then replay the record.",
            code="payment_cash_account",
        )
    bill_link = await ctx.store.get_link(ctx.connection_id, LinkKind.BILL, bill.id)
    if bill_link is None or not bill_link.visma_id:
        await ctx.store.upsert_record(
            ctx.connection_id, "bill", bill.id, reason="its payment waits for it"
        )
        raise RetriableVendorError(
            "ml-connector", "the bill's invoice is not in Visma yet; its payment follows"
        )
    doc_type, _, invoice_number = bill_link.visma_id.partition("/")
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
            ctx, bill, doc_type, invoice_number, options, attempted=link is not None
        )
        action, released = "created", False
    if not released:
        await _release(ctx, bill.id, number)
    return await _write_back(ctx, bill, number, action, payload)


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
) -> tuple[str, dict[str, Any]]:
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
    payment = build_payment(bill, invoice, options)
    payload = _plain(payment)
    await _check_payable(ctx, invoice, payment, release_invoices=options.release_invoices)
    ctx.note(AuditKind.MAPPED_PAYLOAD, {"payload": payload})
    if invoice.status == "Balanced":
        try:
            await ctx.visma.release_supplier_invoice(doc_type, invoice_number, etag=invoice.etag)
        except PreconditionFailed:
            raise RetriableVendorError(
                "ml-connector", f"invoice {invoice_number} changed in Visma meanwhile; retrying"
            ) from None
        ctx.note(AuditKind.DECISION, {"decision": "release invoice", "why": "the bill is paid"})
    try:
        number = await ctx.visma.create_supplier_payment(payment)
    except AmbiguousOutcome:
        found = await find_by_reference(ctx, supplier, invoice_number, bill.id)
        if found is None:
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
    """Everything Visma would refuse about this payment, checked before any write."""
    number = invoice.reference_number
    status = invoice.status or ""
    if status == "Hold":
        raise NeedsAttention(
            f"The bill was paid in Ramp, but invoice {number} is on hold in Visma",
            hint="Take the invoice off hold in Visma, then replay the payment.",
            code="invoice_on_hold",
        )
    if status == "Balanced" and not release_invoices:
        raise NeedsAttention(
            f"The bill was paid in Ramp, but invoice {number} is not released in Visma",
            hint="Release the invoice in Visma, then replay the payment.",
            code="invoice_not_released",
        )
    if status == "Closed":
        raise NeedsAttention(
            f"The bill was paid in Ramp, but invoice {number} is already fully paid in Visma",
            hint="Check for a payment entered by hand in Visma; if the bill is settled, mark "
            "this record resolved.",
            code="invoice_already_paid",
        )
    if status not in ("Open", "Balanced"):
        raise NeedsAttention(
            f"The bill was paid in Ramp, but invoice {number} is {status} in Visma",
            hint="Settle the invoice in Visma by hand, then mark this record resolved.",
            code="invoice_not_payable",
        )
    if payment.currency != invoice.currency_id:
        raise NeedsAttention(
            f"The payment is in {payment.currency}, invoice {number} in {invoice.currency_id}",
            hint="Register the payment in Visma by hand, then mark this record resolved.",
            code="payment_currency_mismatch",
        )
    amount = payment.payment_amount or Decimal(0)
    balance = invoice.balance_in_currency if status == "Open" else invoice.amount
    if balance is not None and amount > balance:
        raise NeedsAttention(
            f"The payment ({amount} {payment.currency}) exceeds the open balance of invoice "
            f"{number} ({balance} {payment.currency})",
            hint="Check the invoice against the bill; correct it, then replay the payment.",
            code="payment_exceeds_balance",
        )
    day = payment.application_date or datetime.now(UTC).date()
    period = f"{day.year:04d}{day.month:02d}"
    info = (await ctx.master.get()).periods.get(period)
    if info is None or info.closed_in_supplier_ledger:
        raise NeedsAttention(
            f"The payment date {day} falls in period {period_label(period)}, which is "
            f"{'missing' if info is None else 'closed in the supplier ledger'} in Visma",
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
    if current.status == "Balanced":
        try:
            await ctx.visma.release_supplier_payment(
                number, current.type or "Payment", current.etag
            )
        except PreconditionFailed:
            raise RetriableVendorError(
                "ml-connector", f"payment {number} changed in Visma meanwhile; retrying"
            ) from None
        ctx.note(AuditKind.DECISION, {"decision": "release payment", "visma_ref": number})
    link = await ctx.store.get_link(ctx.connection_id, LINK_KIND, bill_id)
    data = dict(link.data) if link else {}
    await _confirm(ctx, bill_id, number, {**data, "released": True})


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
