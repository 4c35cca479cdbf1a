"""The files behind the file host's links: what a bill's invoice, a receipt or a card statement
downloads as, and under which file name (``Content-Disposition``).

Each is a small, valid one-page PDF (``files.invoice_pdf``) naming the object, so a file
attached in the ERP can be traced back. Names: an invoice as its invoice number
(``INV-1001.pdf``), a receipt as ``receipt-<date>-<merchant>.pdf``, a statement as
``statement-<start>-<end>.pdf`` (the names are the sandbox's own).
"""

from __future__ import annotations

import re

from ml_connector.sandbox.ramp.files import invoice_pdf
from ml_connector.sandbox.ramp.model import Bill
from ml_connector.sandbox.ramp.money import from_minor
from ml_connector.sandbox.ramp.spend_model import Receipt, Statement
from ml_connector.sandbox.ramp.spend_records import day_of
from ml_connector.sandbox.ramp.state import RampState

__all__ = ["document_for", "safe_name"]

_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_name(text: str, fallback: str) -> str:
    """``text`` with characters unsafe in a file name replaced (``fallback`` when empty)."""
    return _SAFE_NAME.sub("_", text).strip(" ._") or fallback


def document_for(state: RampState, object_id: str) -> tuple[bytes, str] | None:
    """(PDF bytes, file name) of the object a file link names, or None."""
    if (bill := state.bills.get(object_id)) is not None:
        return _invoice(state, bill)
    if (receipt := state.receipts.get(object_id)) is not None:
        return _receipt(state, receipt)
    if (statement := state.statements.get(object_id)) is not None:
        return _statement(state, statement)
    return None


def _invoice(state: RampState, item: Bill) -> tuple[bytes, str]:
    supplier = state.vendors[item.vendor_id]
    total = from_minor(item.amount_minor, item.currency)
    pdf = invoice_pdf(
        [
            f"INVOICE {item.invoice_number}",
            f"From: {supplier.name}",
            f"To: {state.company_name}",
            f"Issued: {item.issued_at.isoformat()}  Due: {item.due_at.isoformat()}",
            f"Total: {total} {item.currency}",
            f"Ramp bill: {item.id}",
        ]
    )
    return pdf, f"{safe_name(item.invoice_number or '', item.id)}.pdf"


def _receipt(state: RampState, receipt: Receipt) -> tuple[bytes, str]:
    lines = [f"RECEIPT {receipt.id}"]
    if receipt.owner_kind == "transaction":
        card = state.transactions[receipt.owner_id]
        day, merchant = day_of(card.transacted_at), card.merchant_name
        amount, currency = card.original_amount_minor, card.original_currency
        if amount is None or currency is None:
            amount, currency = card.amount_minor, card.currency
        lines += [f"Merchant: {merchant}", f"Ramp transaction: {card.id}"]
    else:
        claim = state.reimbursements[receipt.owner_id]
        day, merchant = claim.transaction_date, claim.merchant or claim.type.lower()
        amount, currency = claim.original_amount_minor, claim.original_currency
        if amount is None or currency is None:
            amount, currency = claim.amount_minor, claim.currency
        lines += [f"Merchant: {merchant}", f"Ramp reimbursement: {claim.id}"]
    lines += [f"Date: {day.isoformat()}", f"Total: {from_minor(amount, currency)} {currency}"]
    return invoice_pdf(lines), f"receipt-{day.isoformat()}-{safe_name(merchant, 'purchase')}.pdf"


def _statement(state: RampState, statement: Statement) -> tuple[bytes, str]:
    period = f"{statement.start.isoformat()}-{statement.end.isoformat()}"
    lines = [
        f"CARD STATEMENT {period}",
        f"Business: {state.company_name}",
        f"Ramp statement: {statement.id}",
    ]
    return invoice_pdf(lines), f"statement-{period}.pdf"
