"""``/v1/purchaseorder``: list, read one, create, update (lines by ``operation``).

Status: ``Hold`` when ``hold`` is true, else ``Open`` (the ERP has no release action for
purchase orders in this API). Receiving is not part of this API; the control surface receives
lines (``receive_order``) as a goods receipt would: a received line shows ``qtyOnReceipts``,
``receivedAmt`` and ``completed`` and refuses Update and Delete, and an order whose lines are all
received is ``Closed``, which refuses every change.

A line's amount is ``extCost`` when sent, else ``orderQty`` * ``unitCost``; ``lineTotal`` and
``orderTotal`` are their sum (tax on purchase orders is not simulated, so ``taxTotal`` is 0).
Lines are addressed by ``lineNumber`` in writes and read back as ``lineNbr``. Checks: supplier
usable, currency known, and on lines an active account, valid segment values and a project
visible in purchase orders, with an active task of it (see ``coding``). Each write raises a
Purchase Order Changed notification.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from ml_connector.sandbox.visma.coding import (
    check_account,
    check_currency,
    check_project,
    check_project_tasks,
    check_segments,
    check_supplier,
)
from ml_connector.sandbox.visma.invoices import money
from ml_connector.sandbox.visma.line_ops import apply_line_operations
from ml_connector.sandbox.visma.listing import date_condition, paginate, select, with_metadata
from ml_connector.sandbox.visma.responses import (
    ApiError,
    etag_header,
    json_response,
    timestamp_of,
)
from ml_connector.sandbox.visma.routing import ApiRequest, Router
from ml_connector.sandbox.visma.state import CompanyState, PurchaseOrder, PurchaseOrderLine
from ml_connector.sandbox.visma.views import account_ref, project_ref, subaccount_ref, task_ref
from ml_connector.sandbox.visma.wrappers import PURCHASE_ORDER_WRITE, unwrap

__all__ = ["purchase_order_dto", "receive_order", "register"]

PO_SERIES = "purchase-order"
_CLOSED_STATUSES = frozenset({"Closed", "Cancelled", "Voided"})


def purchase_order_dto(company: CompanyState, order: PurchaseOrder) -> dict[str, Any]:
    supplier = company.suppliers.get(order.supplier_number)
    dto: dict[str, Any] = {
        "orderType": order.order_type,
        "orderNbr": order.order_number,
        "hold": order.hold,
        "status": order.status,
        "date": order.date,
        "supplier": {
            "internalId": supplier.internal_id if supplier else 0,
            "number": order.supplier_number,
            "name": supplier.name if supplier else "",
        },
        "currency": order.currency,
        "exchangeRate": 1,
        "lineTotal": order.line_total,
        "lineTotalInBaseCurrency": order.line_total,
        "vatExemptTotal": 0,
        "vatExemptTotalInBaseCurrency": 0,
        "taxTotal": 0,
        "taxTotalInBaseCurrency": 0,
        "orderTotal": order.line_total,
        "orderTotalInBaseCurrency": order.line_total,
        "lines": [_line_dto(company, order, line) for line in order.lines],
        "lastModifiedDateTime": order.last_modified,
        "timeStamp": timestamp_of(order.version),
    }
    optional = {
        "promisedOn": order.promised_on,
        "description": order.description,
        "supplierRef": order.supplier_ref,
        "note": order.note,
    }
    dto.update({key: value for key, value in optional.items() if value is not None})
    return dto


def _line_dto(
    company: CompanyState, order: PurchaseOrder, line: PurchaseOrderLine
) -> dict[str, Any]:
    dto: dict[str, Any] = {
        "lineNbr": line.line_number,
        "lineType": line.line_type,
        "orderQty": line.quantity,
        "unitCost": line.unit_cost,
        "unitCostInBaseCurrency": line.unit_cost,
        "extCost": line.amount,
        "amount": line.amount,
        "discountPercent": 0,
        "discountAmount": 0,
        "manualDiscount": False,
        "qtyOnReceipts": line.received_qty,
        "receivedAmt": money(line.received_qty * line.unit_cost),
        "completed": line.completed,
        "canceled": False,
        "orderType": order.order_type,
        "orderNumber": order.order_number,
    }
    if line.account is not None:
        account = account_ref(company, line.account)
        dto["account"] = {key: account[key] for key in ("type", "number", "description")}
    if line.segments:
        dto["sub"] = subaccount_ref(company, line.segments)
    if line.project is not None:
        dto["project"] = project_ref(company, line.project)
    if line.project_task is not None:
        dto["projectTask"] = task_ref(company, line.project, line.project_task)
    if line.inventory is not None:
        described = company.inventory_items.get(line.inventory, line.inventory)
        dto["inventory"] = {"number": line.inventory, "description": described}
    optional = {
        "lineDescription": line.description,
        "uom": line.uom,
        "requested": line.requested,
        "promised": line.promised,
        "note": line.note,
    }
    dto.update({key: value for key, value in optional.items() if value is not None})
    return dto


def _apply_lines(
    company: CompanyState, lines: list[PurchaseOrderLine], rows: list[dict[str, Any]]
) -> None:
    apply_line_operations(
        lines,
        rows,
        new_line=lambda number, row: PurchaseOrderLine(
            number, row.get("lineType") or "NonStock", Decimal(0)
        ),
        fill=lambda line, row, where, inserting: _fill_line(
            company, line, row, where, inserting=inserting
        ),
        creating=False,
    )
    check_project_tasks(company, lines, "PO")


def _fill_line(
    company: CompanyState,
    line: PurchaseOrderLine,
    row: dict[str, Any],
    where: str,
    *,
    inserting: bool,
) -> None:
    if row.get("account"):
        line.account = check_account(company, row["account"], where).number
    if inserting or "sub" in row:
        line.segments = check_segments(company, row.get("sub"), where)
    if "project" in row:
        check_project(company, row["project"], where, "PO")
        line.project = row["project"]
    simple = {
        "lineType": "line_type",
        "lineDescription": "description",
        "inventory": "inventory",
        "uom": "uom",
        "projectTask": "project_task",
        "requested": "requested",
        "promised": "promised",
        "note": "note",
    }
    for name, attribute in simple.items():
        if row.get(name) is not None:
            setattr(line, attribute, row[name])
    _check_inventory(company, line, where)
    if row.get("orderQty") is not None:
        line.quantity = row["orderQty"]
    if row.get("unitCost") is not None:
        line.unit_cost = row["unitCost"]
    if row.get("extCost") is not None:
        line.amount = money(row["extCost"])
    elif inserting or {"orderQty", "unitCost"} & row.keys():
        line.amount = money(line.quantity * line.unit_cost)


def _check_inventory(company: CompanyState, line: PurchaseOrderLine, where: str) -> None:
    """A company that keeps inventory items refuses a line without a known one (an option)."""
    if line.line_type in ("Description", "Freight"):
        return  # lines without goods or services never name an item
    if line.inventory is None:
        if company.po_lines_need_inventory:
            raise ApiError.bad_request(f"Error: {where}: 'Inventory ID' cannot be empty.")
        return
    if company.inventory_items and line.inventory not in company.inventory_items:
        raise ApiError.bad_request(
            f"Error: {where}: Inventory item '{line.inventory}' cannot be found in the system."
        )


def _apply_header(order: PurchaseOrder, data: dict[str, Any]) -> None:
    simple = {
        "promisedOn": "promised_on",
        "description": "description",
        "supplierRef": "supplier_ref",
        "note": "note",
        "orderType": "order_type",
    }
    for name, attribute in simple.items():
        if data.get(name) is not None:
            setattr(order, attribute, data[name])
    if data.get("hold") is not None:
        order.hold = bool(data["hold"])
    order.status = "Hold" if order.hold else "Open"
    order.line_total = money(sum((line.amount for line in order.lines), Decimal(0)))


def list_orders(request: ApiRequest) -> Response:
    query = request.query
    supplier = query.get("supplier")
    status = query.get("orderStatus") or query.get("status")
    order_type = query.get("orderType")
    modified = date_condition(query, "lastModifiedDateTime")
    records = select(
        sorted(request.company.purchase_orders.values(), key=lambda o: o.order_number),
        (lambda o: o.supplier_number == supplier) if supplier else None,
        (lambda o: o.status.lower() == status.lower()) if status else None,
        (lambda o: o.order_type.lower() == order_type.lower()) if order_type else None,
        (lambda o: modified(o.last_modified)) if modified else None,
    )
    page, paging = paginate(records, query, request.max_page_size)
    dtos = [purchase_order_dto(request.company, order) for order in page]
    return json_response(with_metadata(dtos, len(records), paging.max_size))


def _find(request: ApiRequest) -> PurchaseOrder:
    number = request.params["purchaseOrderNumber"]
    order = request.company.purchase_orders.get(number)
    if order is None:
        raise ApiError.not_found(f"Purchase order {number} was not found.")
    return order


def get_order(request: ApiRequest) -> Response:
    order = _find(request)
    return json_response(
        purchase_order_dto(request.company, order), headers={"ETag": etag_header(order.version)}
    )


def post_order(request: ApiRequest) -> Response:
    company = request.company
    data = unwrap(request.json(), PURCHASE_ORDER_WRITE)
    supplier = check_supplier(company, data.get("supplier"))
    currency = check_currency(company, data.get("currency") or supplier.currency_id)
    number = data.get("orderNumber")
    if number and number in company.purchase_orders:
        raise ApiError.bad_request(f"Error: Purchase order {number} already exists.")
    lines: list[PurchaseOrderLine] = []
    _apply_lines(company, lines, data.get("lines") or [])
    today = company.now().replace(hour=0, minute=0, second=0, microsecond=0)
    order = PurchaseOrder(
        order_type=data.get("orderType") or "RegularOrder",
        order_number=number
        or company.next_number(PO_SERIES, 6, company.purchase_orders.__contains__),
        supplier_number=supplier.number,
        currency=currency,
        date=data.get("date") or today,
        lines=lines,
    )
    _apply_header(order, data)
    _register_subaccounts(company, order)
    company.touch(order)
    company.purchase_orders[order.order_number] = order
    _changed(request, order)
    return Response(
        status_code=201,
        headers={
            "Location": request.url("v1", "purchaseorder", order.order_number),
            "ETag": etag_header(order.version),
        },
    )


def put_order(request: ApiRequest) -> Response:
    company = request.company
    order = _find(request)
    request.require_version(order.version, "PurchaseOrder")
    if order.status in _CLOSED_STATUSES:
        raise ApiError.bad_request(
            f"Error: Purchase order {order.order_number} has status {order.status} "
            "and can no longer be changed."
        )
    data = unwrap(request.json(), PURCHASE_ORDER_WRITE)
    if data.get("supplier"):
        order.supplier_number = check_supplier(company, data["supplier"]).number
    if data.get("currency"):
        order.currency = check_currency(company, data["currency"])
    _refuse_received(order, data.get("lines") or [])
    lines = [replace(line, segments=dict(line.segments)) for line in order.lines]
    _apply_lines(company, lines, data.get("lines") or [])
    order.lines = lines
    date: datetime | None = data.get("date")
    if date is not None:
        order.date = date
    _apply_header(order, data)
    _register_subaccounts(company, order)
    company.touch(order)
    _changed(request, order)
    return Response(
        status_code=204,
        headers={
            "ETag": etag_header(order.version),
            "Location": request.url("v1", "purchaseorder", order.order_number),
        },
    )


def _refuse_received(order: PurchaseOrder, rows: list[dict[str, Any]]) -> None:
    """A line with receipts keeps what was received: no Update, no Delete."""
    received = {line.line_number for line in order.lines if line.received_qty > 0}
    for index, row in enumerate(rows, start=1):
        if row.get("operation") in ("Update", "Delete") and row.get("lineNumber") in received:
            raise ApiError.bad_request(
                f"Error: Line {index}: line {row['lineNumber']} of purchase order "
                f"{order.order_number} has receipts and can no longer be changed."
            )


def receive_order(
    company: CompanyState, order: PurchaseOrder, line_numbers: list[int] | None = None
) -> None:
    """Receive lines in full (all when ``line_numbers`` is None); Closed once all are."""
    if order.status in _CLOSED_STATUSES or order.hold:
        raise ValueError(f"purchase order {order.order_number} is {order.status}")
    wanted = set(line_numbers) if line_numbers is not None else None
    for line in order.lines:
        if wanted is None or line.line_number in wanted:
            line.received_qty = line.quantity
            line.completed = True
    if order.lines and all(line.completed for line in order.lines):
        order.status = "Closed"
    company.touch(order)


def _register_subaccounts(company: CompanyState, order: PurchaseOrder) -> None:
    for line in order.lines:
        if line.segments:
            company.subaccount_for(line.segments)


def _changed(request: ApiRequest, order: PurchaseOrder) -> None:
    request.events.publish(
        request.company,
        "PurchaseOrder",
        "Changed",
        order.order_number,
        f"v1/purchaseorder/{order.order_number}",
    )


def register(router: Router) -> None:
    router.add("GET", "/v1/purchaseorder", list_orders)
    router.add("POST", "/v1/purchaseorder", post_order)
    router.add("GET", "/v1/purchaseorder/{purchaseOrderNumber}", get_order)
    router.add("PUT", "/v1/purchaseorder/{purchaseOrderNumber}", put_order)
