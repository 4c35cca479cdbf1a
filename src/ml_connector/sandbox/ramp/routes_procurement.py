"""``/developer/v1/entities`` (read-only) and ``/developer/v1/purchase-orders``.

Purchase orders: list (archived ones only with ``include_archived=true``), get (the detail
resource), create (201, ``creation_source`` ``DEVELOPER_API``, unit prices as decimals) and
``POST /purchase-orders/{id}/archive`` (204). The spec of Aug 2025 has no PATCH; the control
API edits purchase orders so that ``purchase_orders.updated`` can be exercised.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.ramp import render
from ml_connector.sandbox.ramp.api import api_of, api_route, json_response
from ml_connector.sandbox.ramp.bodies import (
    PurchaseOrderArchiveIn,
    PurchaseOrderCreateIn,
    read_json,
)
from ml_connector.sandbox.ramp.chart import resolve_selection
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import Entity, PurchaseOrder
from ml_connector.sandbox.ramp.money import to_minor
from ml_connector.sandbox.ramp.params import (
    q_bool,
    q_enum,
    q_instant,
    q_str,
    q_uuid,
    render_page,
)

__all__ = ["procurement_routes"]

_CREATION_SOURCES = frozenset({"ACCOUNTING_PROVIDER", "DEVELOPER_API", "RAMP"})
_RECEIPT_STATUSES = frozenset(
    {"FULLY_RECEIVED", "NOT_RECEIVED", "OVER_RECEIVED", "PARTIALLY_RECEIVED"}
)


async def list_entities(request: Request) -> Response:
    ctx = api_of(request)
    currency = q_str(request, "currency")
    name = q_str(request, "entity_name")
    primary = q_bool(request, "is_primary")
    entities = ctx.state.entities

    def keep(item: Entity) -> bool:
        return (
            (currency is None or item.currency == currency)
            and (name is None or item.name == name)
            and (primary is None or item.is_primary == primary)
        )

    page = render_page(
        request,
        [e for e in entities.values() if keep(e)],
        entities,
        lambda e: e.id,
        lambda e: render.entity(ctx.state, e),
    )
    return json_response(page)


async def get_entity(request: Request) -> Response:
    ctx = api_of(request)
    entity_id = request.path_params["entity_id"]
    found = ctx.state.entities.get(entity_id)
    if found is None:
        raise RampApiError.not_found("Entity", entity_id)
    return json_response(render.entity(ctx.state, found))


async def list_orders(request: Request) -> Response:
    ctx = api_of(request)
    source = q_enum(request, "creation_source", _CREATION_SOURCES)
    receipt = q_enum(request, "receipt_status", _RECEIPT_STATUSES)
    entity_id = q_uuid(request, "entity_id")
    three_way = q_bool(request, "three_way_match_enabled")
    archived = q_bool(request, "include_archived") or False
    since = q_instant(request, "from_created_at")
    until = q_instant(request, "to_created_at")
    orders = ctx.state.purchase_orders

    def keep(order: PurchaseOrder) -> bool:
        return (
            (archived or order.archived_at is None)
            and (source is None or order.creation_source == source)
            and (receipt is None or receipt == "NOT_RECEIVED")
            and (entity_id is None or order.entity_id == entity_id)
            and (three_way is None or order.three_way_match_enabled == three_way)
            and (since is None or order.created_at >= since)
            and (until is None or order.created_at <= until)
        )

    page = render_page(
        request,
        [o for o in orders.values() if keep(o)],
        orders,
        lambda o: o.id,
        lambda o: render.purchase_order(ctx.state, o, detail=False),
    )
    return json_response(page)


async def create_order(request: Request) -> Response:
    ctx = api_of(request)
    body = await read_json(request, PurchaseOrderCreateIn)
    entity_id = str(body.entity_id)
    if entity_id not in ctx.state.entities:
        raise RampApiError.invalid("entity_id", f"Entity {entity_id} not found.", status=400)
    vendor_id = str(body.vendor_id) if body.vendor_id else None
    if vendor_id is not None:
        ctx.vendor(vendor_id)
    if not body.line_items:
        raise RampApiError.invalid("line_items", "A purchase order needs a line item.")
    lines = []
    for i, line in enumerate(body.line_items):
        try:
            price = to_minor(line.unit_price, body.currency)
        except ValueError as exc:
            raise RampApiError.invalid(f"line_items.{i}.unit_price", str(exc)) from None
        chosen = [
            resolve_selection(ctx.state, s.field_external_id, s.field_option_external_id)
            for s in line.accounting_field_selections
        ]
        lines.append((price, line.unit_quantity, line.description, chosen))
    order = ctx.ops.create_purchase_order(
        entity_id=entity_id,
        currency=body.currency,
        lines=lines,
        vendor_id=vendor_id,
        number=body.purchase_order_number,
        memo=body.memo,
        promise_date=body.promise_date,
        net_payment_terms=body.net_payment_terms,
        selections=[
            resolve_selection(ctx.state, s.field_external_id, s.field_option_external_id)
            for s in body.accounting_field_selections
        ],
        creation_source="DEVELOPER_API",
        three_way_match_enabled=body.three_way_match_enabled,
    )
    return json_response(render.purchase_order(ctx.state, order, detail=False), 201)


async def get_order(request: Request) -> Response:
    ctx = api_of(request)
    order = ctx.purchase_order(request.path_params["purchase_order_id"])
    return json_response(render.purchase_order(ctx.state, order, detail=True))


async def archive_order(request: Request) -> Response:
    ctx = api_of(request)
    order = ctx.purchase_order(request.path_params["purchase_order_id"])
    body = await read_json(request, PurchaseOrderArchiveIn)
    ctx.ops.archive_purchase_order(order, body.archived_reason)
    return Response(status_code=204)


def procurement_routes() -> list[Route]:
    one = "/purchase-orders/{purchase_order_id}"
    return [
        api_route("/entities", list_entities, methods=["GET"], scope="entities:read"),
        api_route("/entities/{entity_id}", get_entity, methods=["GET"], scope="entities:read"),
        api_route("/purchase-orders", list_orders, methods=["GET"], scope="purchase_orders:read"),
        api_route(
            "/purchase-orders", create_order, methods=["POST"], scope="purchase_orders:write"
        ),
        api_route(one, get_order, methods=["GET"], scope="purchase_orders:read"),
        api_route(f"{one}/archive", archive_order, methods=["POST"], scope="purchase_orders:write"),
    ]
