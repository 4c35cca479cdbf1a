"""Supplier invoices (AP documents): creating, changing and totalling them.

The lifecycle the sandbox implements (reference §9.2): a document is created on ``Hold`` when
``hold`` is true, else ``Balanced``; ``release`` makes it ``Open``. Only ``Hold`` and
``Balanced`` documents can be changed or deleted. Document types: Invoice, CreditAdj, DebitAdj.

Totals are computed from the lines with ``Decimal`` and ROUND_HALF_UP to 2 decimals:
- a line's amount is ``costInCurrency`` when sent, else ``quantity`` * ``unitCostInCurrency``;
- VAT is computed per VAT code over the sum of its lines (as the ERP's tax details do). With
  ``taxCalculationMode`` ``Gross`` the line amounts include VAT and it is extracted
  (``vat = gross * rate / (100 + rate)``); with ``Net``, ``TaxSetting`` or nothing it is added
  on top (``vat = net * rate / 100``);
- ``detailTotal`` is the sum of the line amounts, ``vatAmount``/``vatTotal`` the VAT, and
  ``amount`` (= ``balance``) the document total: ``detailTotal`` for Gross, ``detailTotal + VAT``
  otherwise. A line without a VAT code takes its account's default VAT; with none it is exempt.
- The exchange rate is 1 (no currency rates are simulated), so base and document currency
  amounts are equal. Header ``amount``/``vatAmount`` sent by the client are not used.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ml_connector.sandbox.visma.coding import (
    check_account,
    check_currency,
    check_period_open,
    check_project,
    check_project_tasks,
    check_segments,
    check_supplier,
    check_vat,
    check_vat_dates,
    resolve_period,
)
from ml_connector.sandbox.visma.line_ops import apply_line_operations
from ml_connector.sandbox.visma.po_links import check_po_links
from ml_connector.sandbox.visma.responses import ApiError
from ml_connector.sandbox.visma.state import CompanyState, InvoiceLine, SupplierInvoice, TaxDetail

__all__ = [
    "EDITABLE_STATUSES",
    "SUPPORTED_TYPES",
    "apply_update",
    "create_invoice",
    "money",
    "release",
]

SUPPORTED_TYPES = ("Invoice", "CreditAdj", "DebitAdj")
EDITABLE_STATUSES = frozenset({"Hold", "Balanced"})
INVOICE_SERIES = "supplier-document"
_CENT = Decimal("0.01")
_UNIT_COST = Decimal("0.0001")  # unit costs carry four decimals in the ERP


def money(value: Decimal) -> Decimal:
    """Round to cents, half up."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def create_invoice(company: CompanyState, data: dict[str, Any]) -> SupplierInvoice:
    """A validated new document from an unwrapped ``SupplierInvoiceUpdateDto``; not yet stored."""
    document_type = data.get("documentType") or "Invoice"
    if document_type not in SUPPORTED_TYPES:
        raise ApiError.bad_request(
            f"Error: Document type {document_type} cannot be created here; "
            f"use one of {', '.join(SUPPORTED_TYPES)}."
        )
    supplier = check_supplier(company, data.get("supplierNumber"))
    currency = check_currency(company, data.get("currencyId") or supplier.currency_id)
    today = company.now().replace(hour=0, minute=0, second=0, microsecond=0)
    document_date: datetime = data.get("date") or today
    period = resolve_period(
        company, data.get("financialPeriod"), data.get("postPeriod"), document_date
    )
    check_period_open(company, period)
    reference = data.get("referenceNumber")
    if reference:
        if (document_type, reference) in company.invoices:
            raise ApiError.bad_request(
                f"Error: A {document_type} with reference number {reference} already exists."
            )
    else:
        reference = company.next_number(
            INVOICE_SERIES, 6, lambda n: any(ref == n for _, ref in company.invoices)
        )
    invoice = SupplierInvoice(
        document_type=document_type,
        reference_number=reference,
        supplier_number=supplier.number,
        financial_period=period,
        date=document_date,
        currency_id=currency,
        due_date=data.get("dueDate") or document_date + timedelta(days=30),
        created=company.now(),
    )
    _apply_header(invoice, data)
    _apply_lines(company, invoice.lines, data.get("invoiceLines") or [], creating=True)
    check_project_tasks(company, invoice.lines, "AP")
    check_vat_dates(company, invoice.lines, document_date)
    check_po_links(company, invoice.supplier_number, invoice.lines)
    _total(company, invoice)
    for line in invoice.lines:
        company.subaccount_for(line.segments)
    return invoice


def apply_update(company: CompanyState, invoice: SupplierInvoice, data: dict[str, Any]) -> None:
    """Apply a PUT body to ``invoice`` (validated first; nothing changes on a 400)."""
    if invoice.status not in EDITABLE_STATUSES:
        raise ApiError.bad_request(
            f"Error: Document {invoice.document_type} {invoice.reference_number} has status "
            f"{invoice.status} and can no longer be changed."
        )
    if "supplierNumber" in data:
        check_supplier(company, data["supplierNumber"])
    if "currencyId" in data:
        check_currency(company, data["currencyId"])
    document_date = data.get("date") or invoice.date
    if {"date", "financialPeriod", "postPeriod"} & data.keys():
        period = resolve_period(
            company, data.get("financialPeriod"), data.get("postPeriod"), document_date
        )
        check_period_open(company, period)
    else:
        period = invoice.financial_period
    lines = [replace(line, segments=dict(line.segments)) for line in invoice.lines]
    _apply_lines(company, lines, data.get("invoiceLines") or [], creating=False)
    check_project_tasks(company, lines, "AP")
    check_vat_dates(company, lines, document_date)
    check_po_links(company, data.get("supplierNumber") or invoice.supplier_number, lines)
    invoice.lines = lines
    invoice.financial_period = period
    invoice.date = document_date
    for name, attribute in (("supplierNumber", "supplier_number"), ("currencyId", "currency_id")):
        if data.get(name):
            setattr(invoice, attribute, data[name])
    if data.get("dueDate"):
        invoice.due_date = data["dueDate"]
    _apply_header(invoice, data)
    _total(company, invoice)
    for line in invoice.lines:
        company.subaccount_for(line.segments)


def release(company: CompanyState, invoice: SupplierInvoice) -> None:
    """``action/release``: Balanced → Open."""
    if invoice.status == "Hold":
        raise ApiError.bad_request(
            f"Error: Document {invoice.reference_number} is on hold and cannot be released."
        )
    if invoice.status != "Balanced":
        raise ApiError.bad_request(
            f"Error: Document {invoice.reference_number} has status {invoice.status} "
            "and cannot be released."
        )
    check_period_open(company, invoice.financial_period)
    invoice.status = "Open"


def _apply_header(invoice: SupplierInvoice, data: dict[str, Any]) -> None:
    simple = {
        "supplierReference": "supplier_reference",
        "description": "description",
        "note": "note",
        "paymentRefNo": "payment_ref",
        "creditTermsId": "credit_terms_id",
        "taxCalculationMode": "tax_mode",
    }
    for name, attribute in simple.items():
        if name in data:
            setattr(invoice, attribute, data[name])
    if data.get("hold") is not None:
        invoice.hold = bool(data["hold"])
    invoice.status = "Hold" if invoice.hold else "Balanced"


def _apply_lines(
    company: CompanyState, lines: list[InvoiceLine], rows: list[dict[str, Any]], *, creating: bool
) -> None:
    apply_line_operations(
        lines,
        rows,
        new_line=lambda number, _row: InvoiceLine(
            line_number=number, account="", amount=Decimal(0)
        ),
        fill=lambda line, row, where, inserting: _fill_line(
            company, line, row, where, inserting=inserting
        ),
        creating=creating,
    )


def _fill_line(
    company: CompanyState, line: InvoiceLine, row: dict[str, Any], where: str, *, inserting: bool
) -> None:
    if inserting or "accountNumber" in row:
        account = check_account(company, row.get("accountNumber"), where)
        line.account = account.number
        if "vatCodeId" not in row:
            line.vat_code = account.default_vat
    if inserting or "subaccount" in row:
        line.segments = check_segments(company, row.get("subaccount"), where)
    if "projectId" in row:
        check_project(company, row["projectId"], where, "AP")
        line.project = row["projectId"]
    if "vatCodeId" in row:
        check_vat(company, row["vatCodeId"], where)
        line.vat_code = row["vatCodeId"]
    simple = {
        "transactionDescription": "description",
        "projectTaskId": "project_task",
        "inventoryNumber": "inventory_number",
        "uom": "uom",
        "note": "note",
    }
    for name, attribute in simple.items():
        if name in row:
            setattr(line, attribute, row[name])
    link = row.get("linkLine")
    if link and link.get("purchaseType") == "PurchaseReceipt":
        raise ApiError.bad_request(f"Error: {where}: links to purchase receipts are not simulated.")
    if link:
        line.po_number = link.get("purchaseNumber")
        line.po_line = link.get("purchaseLineNbr")
    if row.get("quantity") is not None:
        line.quantity = row["quantity"]
    if row.get("unitCostInCurrency") is not None:
        line.unit_cost = row["unitCostInCurrency"]
    if row.get("costInCurrency") is not None:
        line.amount = money(row["costInCurrency"])
        if row.get("unitCostInCurrency") is None and line.quantity:
            line.unit_cost = (line.amount / line.quantity).quantize(
                _UNIT_COST, rounding=ROUND_HALF_UP
            )
    elif inserting or {"quantity", "unitCostInCurrency"} & row.keys():
        line.amount = money(line.quantity * line.unit_cost)


def _total(company: CompanyState, invoice: SupplierInvoice) -> None:
    gross = invoice.tax_mode == "Gross"
    by_code: dict[str, Decimal] = {}
    exempt = Decimal("0.00")
    for line in invoice.lines:
        if line.vat_code is None:
            exempt += line.amount
        else:
            by_code[line.vat_code] = by_code.get(line.vat_code, Decimal("0.00")) + line.amount
    details: list[TaxDetail] = []
    for vat_id, base in by_code.items():
        rate = company.vat_codes[vat_id].rate if vat_id in company.vat_codes else Decimal(0)
        vat = money(base * rate / (100 + rate)) if gross else money(base * rate / 100)
        details.append(TaxDetail(vat_id, rate, money(base - vat) if gross else money(base), vat))
    invoice.tax_details = details
    invoice.detail_total = money(sum((line.amount for line in invoice.lines), Decimal(0)))
    invoice.vat_total = money(sum((d.vat for d in details), Decimal(0)))
    invoice.taxable_total = money(sum((d.taxable for d in details), Decimal(0)))
    invoice.exempt_total = money(exempt)
    invoice.amount = invoice.detail_total if gross else invoice.detail_total + invoice.vat_total
