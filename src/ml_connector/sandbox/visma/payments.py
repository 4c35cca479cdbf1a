"""Supplier payments (AP302000): creating them and releasing them onto the documents they pay.

The lifecycle the sandbox implements (reference §9.2, ERP semantics): a payment is created on
``Hold`` when ``hold`` is true, else ``Balanced``. Creating it changes no document: its
applications (``paymentLines``) reach the documents only on ``release``, which lowers each
document's balance and closes the document when nothing is left to pay. A released payment is
``Closed`` when fully applied, ``Open`` while part of it is unapplied.

Checks, each answered with Visma's ``{"message": "VismaId: …"}`` 400:
- ``type`` Payment only (the other types are not simulated);
- the supplier exists and may be paid (not Inactive, OnHold or HoldPayments);
- ``cashAccount`` is an active account; the currency is known; the period of
  ``applicationDate`` is open in the supplier ledger;
- ``paymentAmount`` is positive and at least the sum of the applications;
- each application names a released (``Open``) Invoice or CreditAdj of the same supplier and
  currency, once, for no more than its balance; checked again at release.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ml_connector.sandbox.visma.coding import (
    check_account,
    check_currency,
    check_period_open,
    check_supplier,
    period_of_date,
)
from ml_connector.sandbox.visma.invoices import money
from ml_connector.sandbox.visma.responses import ApiError
from ml_connector.sandbox.visma.state import (
    CompanyState,
    PaymentApplication,
    SupplierInvoice,
    SupplierPayment,
)
from ml_connector.sandbox.visma.wrappers import OPERATIONS, Field, Plain, Rows, Wrapped

__all__ = [
    "PAYMENT_SERIES",
    "SUPPLIER_PAYMENT_WRITE",
    "create_payment",
    "release_payment",
    "unapplied",
]

PAYMENT_SERIES = "supplier-payment"
PAYMENT_TYPES = ("Payment", "DebitAdj", "Prepayment", "Refund", "VoidPayment", "VoidRefund")
PAYABLE_TYPES = frozenset({"Invoice", "CreditAdj"})

SUPPLIER_PAYMENT_WRITE: Mapping[str, Field] = {
    "type": Wrapped(enum=PAYMENT_TYPES),
    "referenceNumber": Wrapped(),
    "hold": Wrapped("bool"),
    "applicationDate": Wrapped("datetime"),
    "applicationPeriod": Wrapped(),
    "paymentRef": Wrapped(),
    "supplier": Wrapped(),
    "location": Wrapped(),
    "paymentMethod": Wrapped(),
    "cashAccount": Wrapped(),
    "currency": Wrapped(),
    "description": Wrapped(),
    "paymentAmount": Wrapped("dec"),
    "branch": Wrapped(),
    "paymentLines": Rows(
        {
            "operation": Plain(enum=OPERATIONS),
            "documentType": Wrapped(
                enum=("Invoice", "CreditAdj", "DebitAdj", "Prepayment", "Refund", "Payment")
            ),
            "refNbr": Wrapped(),
            "amountPaid": Wrapped("dec"),
            "cashDiscountTaken": Wrapped("dec"),
        }
    ),
    "overrideNumberSeries": Wrapped("bool"),
}


def create_payment(company: CompanyState, data: dict[str, Any]) -> SupplierPayment:
    """A validated new payment from an unwrapped ``SupplierPaymentUpdateDto``; not yet stored."""
    payment_type = data.get("type") or "Payment"
    if payment_type != "Payment":
        raise ApiError.bad_request(
            f"Error: Payment type {payment_type} is not supported here; use Payment."
        )
    supplier = check_supplier(company, data.get("supplier"))
    if supplier.status == "HoldPayments":
        raise ApiError.bad_request(
            f"Error: Supplier '{supplier.number}' has status HoldPayments and cannot be paid."
        )
    cash_account = check_account(company, data.get("cashAccount"), "Cash account").number
    currency = check_currency(company, data.get("currency") or supplier.currency_id)
    today = company.now().replace(hour=0, minute=0, second=0, microsecond=0)
    date: datetime = data.get("applicationDate") or today
    period = period_of_date(company, date)
    check_period_open(company, period)
    amount = data.get("paymentAmount")
    if amount is None or amount <= 0:
        raise ApiError.bad_request("Error: 'Payment amount' must be greater than 0.")
    reference = data.get("referenceNumber")
    if reference and reference in company.supplier_payments:
        raise ApiError.bad_request(f"Error: Payment {reference} already exists.")
    payment = SupplierPayment(
        payment_type=payment_type,
        reference_number=reference
        or company.next_number(PAYMENT_SERIES, 6, company.supplier_payments.__contains__),
        supplier_number=supplier.number,
        currency=currency,
        date=date,
        financial_period=period,
        cash_account=cash_account,
        amount=money(amount),
        hold=bool(data.get("hold") or False),
        payment_method=data.get("paymentMethod"),
        payment_ref=data.get("paymentRef"),
        description=data.get("description"),
    )
    payment.status = "Hold" if payment.hold else "Balanced"
    payment.applications = _applications(company, payment, data.get("paymentLines") or [])
    if payment.applied > payment.amount:
        raise ApiError.bad_request(
            f"Error: The applications ({payment.applied}) exceed the payment amount "
            f"({payment.amount})."
        )
    return payment


def _applications(
    company: CompanyState, payment: SupplierPayment, rows: list[dict[str, Any]]
) -> list[PaymentApplication]:
    applications: list[PaymentApplication] = []
    for index, row in enumerate(rows, start=1):
        where = f"Line {index}"
        if row.get("operation") != "Insert":
            raise ApiError.bad_request(
                f"Error: {where}: a new payment takes only 'Insert' lines "
                f"(got {row.get('operation')!r})."
            )
        document_type = row.get("documentType") or "Invoice"
        number = row.get("refNbr")
        if not number:
            raise ApiError.bad_request(f"Error: {where}: 'Reference nbr.' cannot be empty.")
        if any(
            a.document_type == document_type and a.reference_number == number for a in applications
        ):
            raise ApiError.bad_request(f"Error: {where}: document {number} is applied twice.")
        invoice = _payable(company, payment, document_type, number, where)
        paid = money(row["amountPaid"]) if row.get("amountPaid") is not None else invoice.balance
        if paid <= 0:
            raise ApiError.bad_request(f"Error: {where}: 'Amount paid' must be greater than 0.")
        if paid > invoice.balance:
            raise ApiError.bad_request(
                f"Error: {where}: the amount paid ({paid}) exceeds the balance of document "
                f"{number} ({invoice.balance})."
            )
        applications.append(PaymentApplication(document_type, number, paid))
    return applications


def _payable(
    company: CompanyState, payment: SupplierPayment, document_type: str, number: str, where: str
) -> SupplierInvoice:
    """The document an application pays, if it can be paid by ``payment``."""
    invoice = company.invoices.get((document_type, number))
    if invoice is None or document_type not in PAYABLE_TYPES:
        raise ApiError.bad_request(
            f"Error: {where}: {document_type} {number} cannot be found among the supplier's "
            "open documents."
        )
    if invoice.supplier_number != payment.supplier_number:
        raise ApiError.bad_request(
            f"Error: {where}: document {number} belongs to supplier {invoice.supplier_number}, "
            f"not {payment.supplier_number}."
        )
    if invoice.status != "Open":
        raise ApiError.bad_request(
            f"Error: {where}: document {number} has status {invoice.status}; only released "
            "(Open) documents can be paid."
        )
    if invoice.currency_id != payment.currency:
        raise ApiError.bad_request(
            f"Error: {where}: document {number} is in {invoice.currency_id}, the payment in "
            f"{payment.currency}."
        )
    return invoice


def release_payment(company: CompanyState, payment: SupplierPayment) -> list[SupplierInvoice]:
    """``action/release``: apply the payment to its documents; returns the documents closed."""
    if payment.status == "Hold":
        raise ApiError.bad_request(
            f"Error: Payment {payment.reference_number} is on hold and cannot be released."
        )
    if payment.status != "Balanced":
        raise ApiError.bad_request(
            f"Error: Payment {payment.reference_number} has status {payment.status} "
            "and cannot be released."
        )
    check_period_open(company, payment.financial_period)
    invoices = []
    for index, application in enumerate(payment.applications, start=1):
        invoice = _payable(
            company,
            payment,
            application.document_type,
            application.reference_number,
            f"Line {index}",
        )
        if application.amount > invoice.balance:
            raise ApiError.bad_request(
                f"Error: Line {index}: document {invoice.reference_number} has only "
                f"{invoice.balance} left to pay."
            )
        invoices.append((invoice, application.amount))
    closed = []
    for invoice, amount in invoices:
        invoice.paid = money(invoice.paid + amount)
        company.touch(invoice)
        if invoice.balance == 0:
            invoice.status = "Closed"
            closed.append(invoice)
    payment.status = "Closed" if payment.applied == payment.amount else "Open"
    return closed


def unapplied(payment: SupplierPayment) -> Decimal:
    """What of the payment is not applied to any document."""
    return payment.amount - payment.applied
