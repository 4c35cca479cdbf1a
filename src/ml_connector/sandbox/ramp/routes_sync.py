"""The accounting connection and sync receipts: ``/developer/v1/accounting/{connection,syncs}``.

Connection (Ramp's accounting guide): one active API connection per business. ``POST``
creates it (201; 400 while another is active), ``DELETE`` disconnects it (204; 404 when there
is none), ``POST /connection/{id}/reactivate`` brings an old one back with its chart (200).
``GET /all-connections`` lists every connection; ``GET /connection`` (deprecated) returns the
active one or 404.

Syncs: ``POST /accounting/syncs`` marks objects exported (``successful_syncs``) or failed
(``failed_syncs``, kept as the business's export errors). It is idempotent on
``idempotency_key`` (a repeat answers the first ``sync_id`` and changes nothing) and
all-or-nothing (see ``Operations.record_sync``). Answers 201 ``{"sync_id": ...}``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.ramp import render_chart
from ml_connector.sandbox.ramp.api import api_of, api_route, json_response
from ml_connector.sandbox.ramp.bodies import ConnectionCreateIn, SyncIn, read_json
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import AccountingConnection
from ml_connector.sandbox.ramp.state import new_id

__all__ = ["sync_routes"]


async def all_connections(request: Request) -> Response:
    ctx = api_of(request)
    connections = sorted(ctx.state.connections.values(), key=lambda c: c.seq)
    return json_response({"connections": [render_chart.connection(c) for c in connections]})


async def current_connection(request: Request) -> Response:
    ctx = api_of(request)
    active = ctx.state.active_connection()
    if active is None:
        raise RampApiError.not_found("Accounting connection", "(active)")
    return json_response(render_chart.connection(active))


async def create_connection(request: Request) -> Response:
    ctx = api_of(request)
    body = await read_json(request, ConnectionCreateIn)
    state = ctx.state
    if state.active_connection() is not None:
        raise RampApiError(
            400,
            "An accounting connection is already active; disconnect it first.",
        )
    now = ctx.clock()
    created = AccountingConnection(
        id=new_id(),
        remote_provider_name=body.remote_provider_name,
        created_at=now,
        last_linked_at=now,
        seq=state.next_seq(),
    )
    state.connections[created.id] = created
    return json_response(render_chart.connection(created), 201)


async def delete_connection(request: Request) -> Response:
    ctx = api_of(request)
    active = ctx.state.active_connection()
    if active is None:
        raise RampApiError.not_found("Accounting connection", "(active)")
    active.is_active = False
    return Response(status_code=204)


async def reactivate(request: Request) -> Response:
    ctx = api_of(request)
    state = ctx.state
    connection_id = request.path_params["connection_id"]
    found = state.connections.get(connection_id)
    if found is None:
        raise RampApiError.not_found("Accounting connection", connection_id)
    active = state.active_connection()
    if active is not None and active.id != found.id:
        raise RampApiError(400, "Another accounting connection is active.")
    found.is_active = True
    found.last_linked_at = ctx.clock()
    return json_response(render_chart.connection(found))


async def post_sync(request: Request) -> Response:
    ctx = api_of(request)
    ctx.connection()
    body = await read_json(request, SyncIn)
    outcome = ctx.ops.record_sync(
        idempotency_key=body.idempotency_key,
        sync_type=body.sync_type,
        successful=[(str(s.id), s.reference_id, s.deep_link_url) for s in body.successful_syncs],
        failed=[(str(f.id), f.error.message) for f in body.failed_syncs],
    )
    return json_response({"sync_id": outcome.record.sync_id}, 201)


def sync_routes() -> list[Route]:
    read, write = "accounting:read", "accounting:write"
    return [
        api_route("/accounting/all-connections", all_connections, methods=["GET"], scope=read),
        api_route("/accounting/connection", current_connection, methods=["GET"], scope=read),
        api_route("/accounting/connection", create_connection, methods=["POST"], scope=write),
        api_route("/accounting/connection", delete_connection, methods=["DELETE"], scope=write),
        api_route(
            "/accounting/connection/{connection_id}/reactivate",
            reactivate,
            methods=["POST"],
            scope=write,
        ),
        api_route("/accounting/syncs", post_sync, methods=["POST"], scope=write),
    ]
