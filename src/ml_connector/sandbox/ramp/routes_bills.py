"""``/developer/v1/bills``: list (with Ramp's filters), get, create, update, archive.

Behaviour from Ramp's bill-pay guide and spec:
- ``POST`` creates the bill already approved (API bills skip the approval workflow), status
  ``OPEN``, ``sync_status`` ``NOT_SYNCED``, and answers 201. Line amounts arrive as decimals
  in major units and are stored in minor units; coding arrives as ERP ids. With
  ``payment_method`` ``PAID_MANUALLY`` and manual ``payment_details`` the bill is paid at once.
- ``DELETE`` archives (204). Paid bills cannot be deleted. Archived bills are listed only with
  ``is_archived=true`` (the default ``false`` hides them) but stay readable by id.
- ``sync_ready=true`` lists bills that are approved, not archived, not yet synced and coded
  on every field required for bills.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.ramp import render
from ml_connector.sandbox.ramp.api import ApiContext, api_of, api_route, base_url, json_response
from ml_connector.sandbox.ramp.bodies import (
    PAYMENT_METHODS,
    BillCreateIn,
    BillLineIn,
    BillUpdateIn,
    InventoryLineIn,
    SelectionIn,
    read_json,
)
from ml_connector.sandbox.ramp.chart import resolve_selection
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import (
    ApprovalStatus,
    Bill,
    BillLine,
    InventoryLine,
    PaymentStatus,
    Selection,
    SyncStatus,
)
from ml_connector.sandbox.ramp.money import from_minor, to_minor
from ml_connector.sandbox.ramp.operations import NewBill
from ml_connector.sandbox.ramp.params import (
    q_bool,
    q_decimal,
    q_enum,
    q_instant,
    q_uuid,
    render_page,
)

__all__ = ["bill_routes"]

_APPROVAL = frozenset(s.value for s in ApprovalStatus)
_PAYMENT = frozenset(s.value for s in PaymentStatus)
_SYNC = frozenset(s.value for s in SyncStatus)


def midnight(day: date) -> float:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp()


def _bill_filter(ctx: ApiContext, request: Request) -> Callable[[Bill], bool]:
    """The list filters of ``GET /bills`` as one predicate (all must hold)."""
    state = ctx.state
    checks: list[Callable[[Bill], bool]] = []
    archived = q_bool(request, "is_archived") or False
    checks.append(lambda b: (b.archived_at is not None) == archived)
    if (entity_id := q_uuid(request, "entity_id")) is not None:
        checks.append(lambda b: b.entity_id == entity_id)
    if (vendor_id := q_uuid(request, "vendor_id")) is not None:
        checks.append(lambda b: b.vendor_id == vendor_id)
    if (selection_id := q_uuid(request, "accounting_field_selection_id")) is not None:
        checks.append(lambda b: selection_id in _selection_ids(b))
    if (approval := q_enum(request, "approval_status", _APPROVAL)) is not None:
        checks.append(lambda b: b.approval_status.value == approval)
    if (method := q_enum(request, "payment_method", frozenset(PAYMENT_METHODS))) is not None:
        checks.append(lambda b: b.payment_method == method)
    if (payment := q_enum(request, "payment_status", _PAYMENT)) is not None:
        checks.append(lambda b: b.status.value == payment)
    if (sync := q_enum(request, "sync_status", _SYNC)) is not None:
        checks.append(lambda b: b.sync_status.value == sync)
    if (ready := q_bool(request, "sync_ready")) is not None:
        checks.append(lambda b: state.is_sync_ready(b) == ready)
    ranges: list[tuple[str, str, Callable[[Bill], float | None]]] = [
        ("from_created_at", "to_created_at", lambda b: b.created_at),
        ("from_due_date", "to_due_date", lambda b: midnight(b.due_at)),
        ("from_issued_date", "to_issued_date", lambda b: midnight(b.issued_at)),
        ("from_paid_at", "to_paid_at", lambda b: b.paid_at),
    ]
    for low_name, high_name, value_of in ranges:
        low, high = q_instant(request, low_name), q_instant(request, high_name)
        if low is not None or high is not None:
            checks.append(_within(value_of, low, high))
    low_amount = q_decimal(request, "min_amount")
    high_amount = q_decimal(request, "max_amount")
    if low_amount is not None or high_amount is not None:
        checks.append(_amount_within(low_amount, high_amount))
    return lambda b: all(check(b) for check in checks)


def _within(
    value_of: Callable[[Bill], float | None], low: float | None, high: float | None
) -> Callable[[Bill], bool]:
    def check(item: Bill) -> bool:
        value = value_of(item)
        if value is None:
            return False
        return (low is None or value >= low) and (high is None or value <= high)

    return check


def _amount_within(low: Decimal | None, high: Decimal | None) -> Callable[[Bill], bool]:
    def check(item: Bill) -> bool:
        value = from_minor(item.amount_minor, item.currency)
        return (low is None or value >= low) and (high is None or value <= high)

    return check


def _selection_ids(item: Bill) -> set[str]:
    chosen = list(item.selections)
    for line in item.lines:
        chosen += line.selections
    for inventory in item.inventory_lines:
        chosen += inventory.selections
    return {s.ramp_id for s in chosen}


def _resolve(ctx: ApiContext, selections: list[SelectionIn]) -> list[Selection]:
    return [
        resolve_selection(ctx.state, s.field_external_id, s.field_option_external_id)
        for s in selections
    ]


def _minor(amount: Decimal, currency: str, where: str) -> int:
    try:
        return to_minor(amount, currency)
    except ValueError as exc:
        raise RampApiError.invalid(where, str(exc)) from None


def _lines(
    ctx: ApiContext,
    currency: str,
    lines: list[BillLineIn] | None,
    inventory: list[InventoryLineIn] | None,
) -> tuple[list[BillLine], list[InventoryLine]]:
    plain = [
        BillLine(
            _minor(line.amount, currency, f"line_items.{i}.amount"),
            line.memo,
            _resolve(ctx, line.accounting_field_selections),
        )
        for i, line in enumerate(lines or [])
    ]
    stock = [
        InventoryLine(
            _minor(line.unit_price, currency, f"inventory_line_items.{i}.unit_price"),
            line.unit_quantity,
            line.memo,
            _resolve(ctx, line.accounting_field_selections),
        )
        for i, line in enumerate(inventory or [])
    ]
    return plain, stock


def _contact_for(ctx: ApiContext, vendor_id: str, contact_id: str | None) -> str | None:
    supplier = ctx.state.vendors.get(vendor_id)
    if supplier is None:
        raise RampApiError.invalid("vendor_id", f"Vendor {vendor_id} not found.", status=400)
    if contact_id is None:
        return supplier.contact_ids[0] if supplier.contact_ids else None
    if contact_id not in supplier.contact_ids:
        raise RampApiError.invalid(
            "vendor_contact_id", "The vendor contact does not belong to the vendor.", status=400
        )
    return contact_id


def _entity(ctx: ApiContext, entity_id: str) -> str:
    if entity_id not in ctx.state.entities:
        raise RampApiError.invalid("entity_id", f"Entity {entity_id} not found.", status=400)
    return entity_id


async def list_bills(request: Request) -> Response:
    ctx = api_of(request)
    keep = _bill_filter(ctx, request)
    bills = ctx.state.bills
    url = base_url(request)
    page = render_page(
        request,
        [b for b in bills.values() if keep(b)],
        bills,
        lambda b: b.id,
        lambda b: render.bill(ctx.state, b, ctx.files.urls(b, url)),
    )
    return json_response(page)


async def create_bill(request: Request) -> Response:
    ctx = api_of(request)
    body = await read_json(request, BillCreateIn)
    vendor_id = str(body.vendor_id)
    contact_id = _contact_for(ctx, vendor_id, str(body.vendor_contact_id))
    lines, inventory = _lines(
        ctx, body.invoice_currency, body.line_items, body.inventory_line_items
    )
    if not lines and not inventory:
        raise RampApiError.invalid("line_items", "A bill needs at least one line item.")
    manual = body.payment_details or {}
    if body.payment_method == "PAID_MANUALLY" and not (
        manual.get("manual_payment_method") and manual.get("payment_date")
    ):
        raise RampApiError.invalid(
            "payment_details", "PAID_MANUALLY needs manual_payment_method and payment_date."
        )
    item = ctx.ops.create_bill(
        NewBill(
            vendor_id=vendor_id,
            vendor_contact_id=contact_id,
            entity_id=_entity(ctx, str(body.entity_id)),
            invoice_number=body.invoice_number,
            currency=body.invoice_currency,
            issued_at=body.issued_at,
            due_at=body.due_at,
            lines=lines,
            inventory_lines=inventory,
            selections=_resolve(ctx, body.accounting_field_selections),
            payment_method=body.payment_method,
            memo=body.memo,
            remote_id=body.remote_id,
            posting_date=body.posting_date,
        )
    )
    if body.payment_method == "PAID_MANUALLY":
        try:
            paid_on = datetime.fromisoformat(str(manual["payment_date"])).date()
        except ValueError:
            raise RampApiError.invalid("payment_details.payment_date", "Not a date.") from None
        ctx.ops.pay_bill(
            item,
            payment_date=paid_on,
            manual_payment_method=str(manual["manual_payment_method"]),
        )
    return json_response(render.bill(ctx.state, item, ctx.files.urls(item, base_url(request))), 201)


async def get_bill(request: Request) -> Response:
    ctx = api_of(request)
    item = ctx.bill(request.path_params["bill_id"])
    return json_response(render.bill(ctx.state, item, ctx.files.urls(item, base_url(request))))


async def patch_bill(request: Request) -> Response:
    ctx = api_of(request)
    item = ctx.bill(request.path_params["bill_id"])
    body = await read_json(request, BillUpdateIn)
    given = body.model_fields_set
    for name in ("vendor_id", "vendor_contact_id", "entity_id", "invoice_number"):
        if name in given and getattr(body, name) is None:
            raise RampApiError.invalid(name, "Field may not be null.")
    vendor_id = str(body.vendor_id) if body.vendor_id else item.vendor_id
    contact = str(body.vendor_contact_id) if body.vendor_contact_id else None
    if body.vendor_id or body.vendor_contact_id:
        contact = _contact_for(ctx, vendor_id, contact)
    entity_id = _entity(ctx, str(body.entity_id)) if body.entity_id else item.entity_id
    lines, inventory = _lines(ctx, item.currency, body.line_items, body.inventory_line_items)
    header = (
        _resolve(ctx, body.accounting_field_selections)
        if body.accounting_field_selections is not None
        else None
    )
    order_id = str(body.purchase_order_id) if body.purchase_order_id else None
    if order_id is not None:
        ctx.purchase_order(order_id)

    def apply(bill: Bill) -> None:
        bill.vendor_id, bill.entity_id = vendor_id, entity_id
        if contact is not None:
            bill.vendor_contact_id = contact
        if body.invoice_number is not None:
            bill.invoice_number = body.invoice_number
        if body.issued_at is not None:
            bill.issued_at = body.issued_at
        if body.due_at is not None:
            bill.due_at = body.due_at
        if body.payment_method is not None:
            bill.payment_method = body.payment_method
        for name in ("memo", "remote_id", "posting_date"):
            if name in given:
                setattr(bill, name, getattr(body, name))
        if "purchase_order_id" in given:
            bill.purchase_order_id = order_id
        if body.line_items is not None:
            bill.lines = lines
        if body.inventory_line_items is not None:
            bill.inventory_lines = inventory
        if header is not None:
            bill.selections = header

    ctx.ops.edit_bill(item, apply)
    return json_response(render.bill(ctx.state, item, ctx.files.urls(item, base_url(request))))


async def delete_bill(request: Request) -> Response:
    ctx = api_of(request)
    ctx.ops.archive_bill(ctx.bill(request.path_params["bill_id"]))
    return Response(status_code=204)


def bill_routes() -> list[Route]:
    return [
        api_route("/bills", list_bills, methods=["GET"], scope="bills:read"),
        api_route("/bills", create_bill, methods=["POST"], scope="bills:write"),
        api_route("/bills/{bill_id}", get_bill, methods=["GET"], scope="bills:read"),
        api_route("/bills/{bill_id}", patch_bill, methods=["PATCH"], scope="bills:write"),
        api_route("/bills/{bill_id}", delete_bill, methods=["DELETE"], scope="bills:write"),
    ]
