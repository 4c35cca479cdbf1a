"""Supplier-invoice lines linked to purchase-order lines (``linkLine``): what the ERP accepts.

A line's ``linkLine`` names a purchase order and one of its lines; the invoice then shows
``poNumber``/``poLineNr`` on that line. The sandbox checks the link the way the ERP's PO-matching
does, and answers 400 ``{"message": "VismaId: …"}`` when it fails:
- only ``PurchaseOrder`` links are simulated (purchase receipts are not);
- the order exists, belongs to the invoice's supplier and is not Cancelled or Voided;
- the order has the named line.
An order on Hold is accepted (the ERP lets a bill be entered against it; it is the receipt that
waits).
"""

from __future__ import annotations

from ml_connector.sandbox.visma.responses import ApiError
from ml_connector.sandbox.visma.state import CompanyState, InvoiceLine

__all__ = ["check_po_links"]

_DEAD = frozenset({"Cancelled", "Voided"})


def check_po_links(company: CompanyState, supplier_number: str, lines: list[InvoiceLine]) -> None:
    """Refuse the first line whose purchase-order link the ERP would not accept."""
    for line in lines:
        if line.po_number is None and line.po_line is None:
            continue
        where = f"Line {line.line_number}"
        order = company.purchase_orders.get(line.po_number or "")
        if order is None:
            raise ApiError.bad_request(
                f"Error: {where}: purchase order {line.po_number} cannot be found in the system."
            )
        if order.supplier_number != supplier_number:
            raise ApiError.bad_request(
                f"Error: {where}: purchase order {order.order_number} belongs to supplier "
                f"{order.supplier_number}, not {supplier_number}."
            )
        if order.status in _DEAD:
            raise ApiError.bad_request(
                f"Error: {where}: purchase order {order.order_number} is {order.status}."
            )
        if all(po_line.line_number != line.po_line for po_line in order.lines):
            raise ApiError.bad_request(
                f"Error: {where}: purchase order {order.order_number} has no line {line.po_line}."
            )
