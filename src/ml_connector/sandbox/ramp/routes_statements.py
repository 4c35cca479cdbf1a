"""``/developer/v1/transfers`` and ``/developer/v1/statements`` (read-only; ramp-api.md §5.12).

- ``GET /transfers`` filters ``sync_status`` (superseding ``has_no_sync_commits``), ``status``,
  ``entity_id``, ``statement_id`` (transfers the statement holds), ``from_date``/``to_date``
  (when the transfer was made); ``GET /transfers/{id}``.
- ``GET /statements`` filters on ``end_date``: ``from_date`` (default the epoch) and
  ``to_date`` (default now); ``GET /statements/{id}`` with a fresh pre-signed
  ``statement_url`` on the file host.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.ramp import render_spend
from ml_connector.sandbox.ramp.api import api_of, api_route, base_url, json_response
from ml_connector.sandbox.ramp.params import q_enum, q_instant, q_uuid, render_page
from ml_connector.sandbox.ramp.routes_bills import midnight
from ml_connector.sandbox.ramp.routes_spend import sync_checks
from ml_connector.sandbox.ramp.spend_model import TRANSFER_STATUSES, Statement, Transfer

__all__ = ["statement_routes"]


async def list_transfers(request: Request) -> Response:
    ctx = api_of(request)
    checks = sync_checks(request)
    status = q_enum(request, "status", TRANSFER_STATUSES)
    entity_id = q_uuid(request, "entity_id")
    statement_id = q_uuid(request, "statement_id")
    since, until = q_instant(request, "from_date"), q_instant(request, "to_date")

    def keep(item: Transfer) -> bool:
        return (
            all(check(item) for check in checks)
            and (status is None or item.status == status)
            and (entity_id is None or item.entity_id == entity_id)
            and (statement_id is None or item.statement_id == statement_id)
            and (since is None or item.created_at >= since)
            and (until is None or item.created_at <= until)
        )

    items = ctx.state.transfers
    page = render_page(
        request,
        [t for t in items.values() if keep(t)],
        items,
        lambda t: t.id,
        render_spend.transfer,
    )
    return json_response(page)


async def get_transfer(request: Request) -> Response:
    ctx = api_of(request)
    item = ctx.find("Transfer", ctx.state.transfers, request.path_params["id"])
    return json_response(render_spend.transfer(item))


async def list_statements(request: Request) -> Response:
    ctx = api_of(request)
    since = q_instant(request, "from_date") or 0.0
    until = q_instant(request, "to_date")
    until = ctx.clock() if until is None else until

    def keep(item: Statement) -> bool:
        return since <= midnight(item.end) <= until

    items, url = ctx.state.statements, base_url(request)
    page = render_page(
        request,
        [s for s in items.values() if keep(s)],
        items,
        lambda s: s.id,
        lambda s: render_spend.statement(ctx.state, s, ctx.files.url(s.id, "statement", url)),
    )
    return json_response(page)


async def get_statement(request: Request) -> Response:
    ctx = api_of(request)
    item = ctx.find("Statement", ctx.state.statements, request.path_params["id"])
    link = ctx.files.url(item.id, "statement", base_url(request))
    return json_response(render_spend.statement(ctx.state, item, link))


def statement_routes() -> list[Route]:
    return [
        api_route("/transfers", list_transfers, methods=["GET"], scope="transfers:read"),
        api_route("/transfers/{id}", get_transfer, methods=["GET"], scope="transfers:read"),
        api_route("/statements", list_statements, methods=["GET"], scope="statements:read"),
        api_route("/statements/{id}", get_statement, methods=["GET"], scope="statements:read"),
    ]
