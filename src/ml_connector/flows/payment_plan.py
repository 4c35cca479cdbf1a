"""Pure parts of bill payments: the connection's payment settings, which Ramp payment methods
post a Visma payment at all, and the payment a paid bill becomes (``flows.payments`` runs them).

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
from datetime import UTC, date, datetime
from typing import Any

from ml_connector.clients.ramp_models import Bill
from ml_connector.clients.visma_models import (
    SupplierInvoice,
    SupplierPaymentLineWrite,
    SupplierPaymentWrite,
)
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.mapping.money import to_decimal

__all__ = [
    "SETTLED_OUTSIDE_VISMA",
    "PaymentOptions",
    "build_payment",
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
