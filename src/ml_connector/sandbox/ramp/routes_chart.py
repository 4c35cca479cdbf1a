"""The chart the ERP pushes to Ramp: GL accounts, accounting vendors, fields and options.

Paths: ``/developer/v1/accounting/{accounts,vendors,fields,field-options}``.

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
from ml_connector.sandbox.ramp.api import ApiContext, json_response
from ml_connector.sandbox.ramp.bodies import (
    AccountingUpdateIn,
    AccountingVendorUploadIn,
    FieldCreateIn,
    FieldUpdateIn,
    GLUploadIn,
    OptionUpdateIn,
    OptionUploadIn,
    read_json,
)
from ml_connector.sandbox.ramp.chart import new_field, new_gl_account, new_option
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import AccountingVendor, CustomField, FieldOption
from ml_connector.sandbox.ramp.params import q_bool, q_str, render_page
from ml_connector.sandbox.ramp.state import new_id

__all__ = ["chart_routes"]


class _ChartItem(Protocol):
    ramp_id: str
    remote_id: str
    is_active: bool
    seq: int


Item = TypeVar("Item", bound=_ChartItem)


def _refuse_duplicates(ids: Sequence[str], existing: set[str], what: str) -> None:
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


def _listing(
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


def _one(items: list[Item], ramp_id: str, what: str) -> Item:
    found = next((i for i in items if i.ramp_id == ramp_id), None)
    if found is None:
        raise RampApiError.not_found(what, ramp_id)
    return found


def chart_routes(ctx: ApiContext) -> list[Route]:
    def stamp() -> float:
        return ctx.clock()

    # -- GL accounts ----------------------------------------------------------------------

    async def list_accounts(request: Request) -> Response:
        ctx.connection()
        state = ctx.state
        return _listing(
            request,
            state.visible_gl_accounts(),
            state.gl_accounts,
            lambda a: render_chart.gl_account(state, a),
        )

    async def upload_accounts(request: Request) -> Response:
        connection = ctx.connection()
        body = await read_json(request, GLUploadIn)
        state = ctx.state
        existing = {a.remote_id for a in state.visible_gl_accounts()}
        _refuse_duplicates([a.id for a in body.gl_accounts], existing, "GL account")
        now = stamp()
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

    # -- accounting vendors ---------------------------------------------------------------

    async def list_vendors(request: Request) -> Response:
        ctx.connection()
        state = ctx.state
        return _listing(
            request,
            state.visible_accounting_vendors(),
            state.accounting_vendors,
            lambda v: render_chart.accounting_vendor(state, v),
        )

    async def upload_vendors(request: Request) -> Response:
        connection = ctx.connection()
        body = await read_json(request, AccountingVendorUploadIn)
        state = ctx.state
        existing = {v.remote_id for v in state.visible_accounting_vendors()}
        _refuse_duplicates([v.id for v in body.vendors], existing, "vendor")
        now = stamp()
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

    # -- GL accounts and accounting vendors share GET/PATCH/DELETE by ramp id -------------

    def by_id_routes(kind: str) -> list[Route]:
        param = "gl_account_id" if kind == "accounts" else "vendor_id"
        what = "GL account" if kind == "accounts" else "Accounting vendor"

        def find(request: Request) -> Any:
            ctx.connection()
            state = ctx.state
            items: list[Any] = (
                state.visible_gl_accounts()
                if kind == "accounts"
                else state.visible_accounting_vendors()
            )
            return _one(items, request.path_params[param], what)

        def show(item: Any) -> dict[str, Any]:
            if kind == "accounts":
                return render_chart.gl_account(ctx.state, item)
            return render_chart.accounting_vendor(ctx.state, item)

        async def get_one(request: Request) -> Response:
            return json_response(show(find(request)))

        async def patch_one(request: Request) -> Response:
            item = find(request)
            body = await read_json(request, AccountingUpdateIn)
            if body.name is not None:
                item.name = body.name
            if body.code is not None:
                item.code = body.code or None
            if body.reactivate:
                item.is_active = True
            item.updated_at = stamp()
            return json_response(show(item))

        async def delete_one(request: Request) -> Response:
            item = find(request)
            item.is_active = False
            item.updated_at = stamp()
            return Response(status_code=204)

        path = f"/accounting/{kind}/{{{param}}}"
        return [
            ctx.route(path, get_one, methods=["GET"], scope="accounting:read"),
            ctx.route(path, patch_one, methods=["PATCH"], scope="accounting:write"),
            ctx.route(path, delete_one, methods=["DELETE"], scope="accounting:write"),
        ]

    # -- custom fields --------------------------------------------------------------------

    def field_of(request: Request) -> CustomField:
        ctx.connection()
        return _one(ctx.state.visible_fields(), request.path_params["field_id"], "Field")

    async def list_fields(request: Request) -> Response:
        ctx.connection()
        state = ctx.state
        return _listing(request, state.visible_fields(), state.fields, render_chart.custom_field)

    async def create_field(request: Request) -> Response:
        connection = ctx.connection()
        body = await read_json(request, FieldCreateIn)
        state = ctx.state
        existing = next((f for f in state.visible_fields() if f.remote_id == body.id), None)
        if existing is not None:
            existing.is_active = True
            existing.updated_at = stamp()
            return json_response(render_chart.custom_field(existing), 201)
        created = new_field(
            state,
            stamp(),
            body.id,
            body.name,
            input_type=body.input_type,
            display_name=body.display_name,
            is_required_for=list(body.is_required_for),
            is_splittable=body.is_splittable,
            connection_id=connection.id,
        )
        return json_response(render_chart.custom_field(created), 201)

    async def get_field(request: Request) -> Response:
        return json_response(render_chart.custom_field(field_of(request)))

    async def patch_field(request: Request) -> Response:
        custom = field_of(request)
        body = await read_json(request, FieldUpdateIn)
        if body.name is not None:
            custom.name = body.name
        if "display_name" in body.model_fields_set:
            custom.display_name = body.display_name
        if body.is_splittable is not None:
            custom.is_splittable = body.is_splittable
        custom.updated_at = stamp()
        return json_response(render_chart.custom_field(custom))

    async def delete_field(request: Request) -> Response:
        custom = field_of(request)
        custom.is_active = False
        custom.updated_at = stamp()
        return Response(status_code=204)

    # -- field options --------------------------------------------------------------------

    def upload_field(field_id: str) -> CustomField:
        found = next((f for f in ctx.state.visible_fields() if f.ramp_id == field_id), None)
        if found is None:
            raise RampApiError.invalid("field_id", f"Field {field_id} not found.", status=400)
        return found

    def option_of(request: Request) -> FieldOption:
        ctx.connection()
        state = ctx.state
        visible = {f.ramp_id for f in state.visible_fields()}
        option_id = request.path_params["field_option_id"]
        found = state.options.get(option_id)
        if found is None or found.field_ramp_id not in visible:
            raise RampApiError.not_found("Field option", option_id)
        return found

    async def list_options(request: Request) -> Response:
        ctx.connection()
        field_id = q_str(request, "field_id")
        if field_id is None:
            raise RampApiError.invalid("field_id", "Missing data for required field.")
        custom = upload_field(field_id)
        code = q_str(request, "code")
        state = ctx.state
        return _listing(
            request,
            state.options_of(custom.ramp_id),
            state.options,
            render_chart.field_option,
            extra=lambda o: code is None or o.code == code,
        )

    async def upload_options(request: Request) -> Response:
        ctx.connection()
        body = await read_json(request, OptionUploadIn)
        custom = upload_field(str(body.field_id))
        state = ctx.state
        existing = {o.remote_id for o in state.options_of(custom.ramp_id)}
        _refuse_duplicates([o.id for o in body.options], existing, "option")
        now = stamp()
        created = [
            new_option(state, now, custom.ramp_id, o.id, o.value, code=o.code) for o in body.options
        ]
        return json_response(
            {
                "options": [render_chart.field_option(o) for o in created],
                "uploaded": [o.ramp_id for o in created],
            },
            201,
        )

    async def get_option(request: Request) -> Response:
        return json_response(render_chart.field_option(option_of(request)))

    async def patch_option(request: Request) -> Response:
        option = option_of(request)
        body = await read_json(request, OptionUpdateIn)
        if body.value is not None:
            option.value = body.value
        if body.code is not None:
            option.code = body.code or None
        if body.display_name is not None:
            option.display_name = body.display_name
        if body.visibility is not None:
            option.visibility = body.visibility
        if body.reactivate:
            option.is_active = True
        option.updated_at = stamp()
        return json_response(render_chart.field_option(option))

    async def delete_option(request: Request) -> Response:
        option = option_of(request)
        option.is_active = False
        option.updated_at = stamp()
        return Response(status_code=204)

    read, write = "accounting:read", "accounting:write"
    field_path = "/accounting/fields/{field_id}"
    option_path = "/accounting/field-options/{field_option_id}"
    return [
        ctx.route("/accounting/accounts", list_accounts, methods=["GET"], scope=read),
        ctx.route("/accounting/accounts", upload_accounts, methods=["POST"], scope=write),
        *by_id_routes("accounts"),
        ctx.route("/accounting/vendors", list_vendors, methods=["GET"], scope=read),
        ctx.route("/accounting/vendors", upload_vendors, methods=["POST"], scope=write),
        *by_id_routes("vendors"),
        ctx.route("/accounting/fields", list_fields, methods=["GET"], scope=read),
        ctx.route("/accounting/fields", create_field, methods=["POST"], scope=write),
        ctx.route(field_path, get_field, methods=["GET"], scope=read),
        ctx.route(field_path, patch_field, methods=["PATCH"], scope=write),
        ctx.route(field_path, delete_field, methods=["DELETE"], scope=write),
        ctx.route("/accounting/field-options", list_options, methods=["GET"], scope=read),
        ctx.route("/accounting/field-options", upload_options, methods=["POST"], scope=write),
        ctx.route(option_path, get_option, methods=["GET"], scope=read),
        ctx.route(option_path, patch_option, methods=["PATCH"], scope=write),
        ctx.route(option_path, delete_option, methods=["DELETE"], scope=write),
    ]
