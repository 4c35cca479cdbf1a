"""The chart the ERP pushes to Ramp: GL accounts, accounting vendors, fields and options.

Paths: ``/developer/v1/accounting/{accounts,vendors}`` here, and
``/developer/v1/accounting/{fields,field-options}`` in ``routes_fields.py``.

Rules (Ramp's accounting guide and spec):
- All of it belongs to the active accounting connection; without one every call is a 400.
- Batch uploads (GL accounts, accounting vendors, field options) take 1-500 items and are
  all-or-nothing: if any item's ERP ``id`` already exists (active or not), or repeats inside
  the batch, nothing is stored and the call answers 400 naming the ids. Existing items are
  changed with PATCH instead. A success answers 201 with the created objects and their
  ``ramp_id``s (``uploaded``, deprecated but still sent).
- ``POST /accounting/fields`` is idempotent on ``id``: an existing field is returned (and
  reactivated) instead of duplicated.
- DELETE is soft (``is_active`` false, 204); PATCH ``{"reactivate": true}`` restores.
- Path ids are Ramp ids (``ramp_id``); ``remote_id`` filters find an object by ERP id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.ramp import render_chart
from ml_connector.sandbox.ramp.api import api_of, api_route, json_response
from ml_connector.sandbox.ramp.bodies import (
    AccountingUpdateIn,
    AccountingVendorUploadIn,
    GLUploadIn,
    read_json,
)
from ml_connector.sandbox.ramp.chart import new_gl_account
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import AccountingVendor
from ml_connector.sandbox.ramp.params import q_bool, q_str, render_page
from ml_connector.sandbox.ramp.state import new_id

__all__ = ["chart_routes", "listing", "one_of", "refuse_duplicates"]


class _ChartItem(Protocol):
    ramp_id: str
    remote_id: str
    is_active: bool
    seq: int


Item = TypeVar("Item", bound=_ChartItem)


def refuse_duplicates(ids: Sequence[str], existing: set[str], what: str) -> None:
    """All-or-nothing upload rule: no id may exist already or repeat in the batch."""
    repeated = sorted(i for i, count in Counter(ids).items() if count > 1)
    clashes = sorted(set(ids) & existing)
    if clashes or repeated:
        problems = []
        if clashes:
            problems.append(f"already exist: {', '.join(clashes)}")
        if repeated:
            problems.append(f"repeat in the batch: {', '.join(repeated)}")
        raise RampApiError(
            400,
            f"Nothing was uploaded; {what} ids {'; '.join(problems)}. Use PATCH to update.",
            fields={"id": [f"Duplicate {what} id: {i}" for i in clashes + repeated]},
        )


def listing(
    request: Request,
    items: list[Item],
    everything: dict[str, Item],
    render_one: Callable[[Item], dict[str, Any]],
    extra: Callable[[Item], bool] = lambda _: True,
) -> Response:
    remote_id = q_str(request, "remote_id")
    active = q_bool(request, "is_active")
    q_bool(request, "is_synced")  # validated; every pushed object counts as synced

    def keep(item: Item) -> bool:
        return (
            (remote_id is None or item.remote_id == remote_id)
            and (active is None or item.is_active == active)
            and extra(item)
        )

    page = render_page(
        request, [i for i in items if keep(i)], everything, lambda i: i.ramp_id, render_one
    )
    return json_response(page)


def one_of(items: list[Item], ramp_id: str, what: str) -> Item:
    found = next((i for i in items if i.ramp_id == ramp_id), None)
    if found is None:
        raise RampApiError.not_found(what, ramp_id)
    return found


def by_id_routes(path: str) -> list[Route]:
    """GET, PATCH and DELETE of a GL account or an accounting vendor by its ramp id."""
    return [
        api_route(path, get_by_id, methods=["GET"], scope="accounting:read"),
        api_route(path, patch_by_id, methods=["PATCH"], scope="accounting:write"),
        api_route(path, delete_by_id, methods=["DELETE"], scope="accounting:write"),
    ]


async def list_accounts(request: Request) -> Response:
    ctx = api_of(request)
    ctx.connection()
    state = ctx.state
    return listing(
        request,
        state.visible_gl_accounts(),
        state.gl_accounts,
        lambda a: render_chart.gl_account(state, a),
    )


async def upload_accounts(request: Request) -> Response:
    ctx = api_of(request)
    connection = ctx.connection()
    body = await read_json(request, GLUploadIn)
    state = ctx.state
    existing = {a.remote_id for a in state.visible_gl_accounts()}
    refuse_duplicates([a.id for a in body.gl_accounts], existing, "GL account")
    now = ctx.clock()
    created = [
        new_gl_account(
            state,
            now,
            a.id,
            a.name,
            classification=a.classification,
            code=a.code,
            connection_id=connection.id,
        )
        for a in body.gl_accounts
    ]
    return json_response(
        {
            "gl_accounts": [render_chart.gl_account(state, a) for a in created],
            "uploaded": [a.ramp_id for a in created],
        },
        201,
    )


async def list_vendors(request: Request) -> Response:
    ctx = api_of(request)
    ctx.connection()
    state = ctx.state
    return listing(
        request,
        state.visible_accounting_vendors(),
        state.accounting_vendors,
        lambda v: render_chart.accounting_vendor(state, v),
    )


async def upload_vendors(request: Request) -> Response:
    ctx = api_of(request)
    connection = ctx.connection()
    body = await read_json(request, AccountingVendorUploadIn)
    state = ctx.state
    existing = {v.remote_id for v in state.visible_accounting_vendors()}
    refuse_duplicates([v.id for v in body.vendors], existing, "vendor")
    now = ctx.clock()
    created = []
    for item in body.vendors:
        vendor = AccountingVendor(
            ramp_id=new_id(),
            remote_id=item.id,
            name=item.name,
            connection_id=connection.id,
            created_at=now,
            updated_at=now,
            seq=state.next_seq(),
        )
        state.accounting_vendors[vendor.ramp_id] = vendor
        created.append(vendor)
    return json_response(
        {
            "vendors": [render_chart.accounting_vendor(state, v) for v in created],
            "uploaded": [v.ramp_id for v in created],
        },
        201,
    )


def by_id(request: Request) -> tuple[str, Any]:
    """The kind (``accounts`` or ``vendors``) the path names, and the item it points at."""
    ctx = api_of(request)
    kind = "accounts" if "gl_account_id" in request.path_params else "vendors"
    param = "gl_account_id" if kind == "accounts" else "vendor_id"
    what = "GL account" if kind == "accounts" else "Accounting vendor"
    ctx.connection()
    state = ctx.state
    items: list[Any] = (
        state.visible_gl_accounts() if kind == "accounts" else state.visible_accounting_vendors()
    )
    return kind, one_of(items, request.path_params[param], what)


def show_by_id(request: Request, kind: str, item: Any) -> dict[str, Any]:
    ctx = api_of(request)
    if kind == "accounts":
        return render_chart.gl_account(ctx.state, item)
    return render_chart.accounting_vendor(ctx.state, item)


async def get_by_id(request: Request) -> Response:
    kind, item = by_id(request)
    return json_response(show_by_id(request, kind, item))


async def patch_by_id(request: Request) -> Response:
    ctx = api_of(request)
    kind, item = by_id(request)
    body = await read_json(request, AccountingUpdateIn)
    if body.name is not None:
        item.name = body.name
    if body.code is not None:
        item.code = body.code or None
    if body.reactivate:
        item.is_active = True
    item.updated_at = ctx.clock()
    return json_response(show_by_id(request, kind, item))


async def delete_by_id(request: Request) -> Response:
    ctx = api_of(request)
    _, item = by_id(request)
    item.is_active = False
    item.updated_at = ctx.clock()
    return Response(status_code=204)


def chart_routes() -> list[Route]:
    read, write = "accounting:read", "accounting:write"
    return [
        api_route("/accounting/accounts", list_accounts, methods=["GET"], scope=read),
        api_route("/accounting/accounts", upload_accounts, methods=["POST"], scope=write),
        *by_id_routes("/accounting/accounts/{gl_account_id}"),
        api_route("/accounting/vendors", list_vendors, methods=["GET"], scope=read),
        api_route("/accounting/vendors", upload_vendors, methods=["POST"], scope=write),
        *by_id_routes("/accounting/vendors/{vendor_id}"),
    ]
