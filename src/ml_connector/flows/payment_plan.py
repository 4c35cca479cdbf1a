"""Pure parts of bill payments: the connection's payment settings, which Ramp payment methods
post a Visma payment at all, the payment a paid bill becomes, and whether Visma would take it
(``check_payable``); ``flows.payments`` runs them.

A bill paid through Ramp, or paid by hand (``PAID_MANUALLY`` with a ``manual_payment_method``
such as ``CASH`` or ``DOMESTIC_WIRE_TRANSFER``), becomes a supplier payment from the cash
account configured for the connection. Two methods settle a bill without money leaving a
Visma cash account, and post nothing: ``PAID_IN_ERP`` (entered in the ERP already) and
``VENDOR_CREDIT`` (settled with a vendor credit). Ramp names the method either in
``payment.payment_method`` or in ``payment.details.manual_payment_method`` (ramp-api.md §5.1);
both are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ml_connector.clients.ramp_models import Bill
from ml_connector.clients.visma_models import (
    SupplierInvoice,
    SupplierPaymentLineWrite,
    SupplierPaymentWrite,
)
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import NeedsAttention
from ml_connector.mapping.money import to_decimal

__all__ = [
    "SETTLED_OUTSIDE_VISMA",
    "PaymentOptions",
    "build_payment",
    "check_payable",
    "external_ref",
    "manual_method",
    "payment_summary",
    "settled_outside_visma",
]

# Ramp payment methods that settle a bill without money leaving a Visma cash account.
SETTLED_OUTSIDE_VISMA = frozenset({"PAID_IN_ERP", "VENDOR_CREDIT"})


@dataclass(frozen=True)
class PaymentOptions:
    """A connection's payment settings (``settings["payments"]``)."""

    enabled: bool = False  # paid bills get a Visma payment without being asked
    cash_account: str | None = None  # the Visma cash account the payments come from
    payment_method: str | None = None  # a Visma payment method id; the supplier's when unset
    release_invoices: bool = True  # release a still-Balanced invoice before paying it

    @classmethod
    def from_settings(cls, settings: ConnectionSettings) -> PaymentOptions:
        raw = settings.payments
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        for flag in ("enabled", "release_invoices"):
            if flag in known:
                known[flag] = bool(known[flag])
        for name in ("cash_account", "payment_method"):
            if known.get(name) is not None:
                known[name] = str(known[name])
        return cls(**known)


def external_ref(bill_id: str) -> str:
    return f"ramp-payment:{bill_id}"


def settled_outside_visma(bill: Bill) -> str | None:
    """The Ramp payment method that means "post no payment in Visma", or None.

    ``PAID_IN_ERP``: the payment was entered in the ERP by hand already. ``VENDOR_CREDIT``: the
    bill was settled with a vendor credit, not with money from a cash account. Ramp names the
    method in ``payment_method`` or, for manual payments, in ``details.manual_payment_method``
    (ramp-api.md §5.1); both are read.
    """
    payment = bill.payment
    if payment is None:
        return None
    details = payment.details if isinstance(payment.details, Mapping) else {}
    for method in (payment.payment_method, details.get("manual_payment_method")):
        if isinstance(method, str) and method.upper() in SETTLED_OUTSIDE_VISMA:
            return method.upper()
    return None


def manual_method(bill: Bill) -> str | None:
    details = bill.payment.details if bill.payment is not None else None
    method = details.get("manual_payment_method") if isinstance(details, Mapping) else None
    return method if isinstance(method, str) and method else None


def _payment_day(bill: Bill, today: date) -> date:
    paid = (bill.payment.payment_date if bill.payment else None) or bill.paid_at
    return paid.date() if paid is not None else today


def build_payment(
    bill: Bill, invoice: SupplierInvoice, options: PaymentOptions, *, today: date
) -> SupplierPaymentWrite:
    """The supplier payment for ``bill``, applied in full to ``invoice`` (pure).

    ``today`` (the flow clock's date) dates a payment Ramp gives no date.
    """
    paid = bill.payment.amount if bill.payment else bill.amount
    amount = to_decimal(abs(paid.amount), paid.currency_code)
    return SupplierPaymentWrite(
        type="Payment",
        hold=False,
        application_date=_payment_day(bill, today),
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


def payment_summary(payment: SupplierPaymentWrite) -> dict[str, Any]:
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


def check_payable(
    invoice: SupplierInvoice, payment: SupplierPaymentWrite, *, release_invoices: bool
) -> None:
    """Raise NeedsAttention when Visma would refuse ``payment`` on ``invoice``: an invoice on
    hold, not released (unless the connection releases invoices), paid or otherwise closed, in
    another currency, or with an open balance below the amount."""
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
