"""The chart's custom fields and their options, as the ERP pushes them to Ramp:
``/developer/v1/accounting/{fields,field-options}`` (the rules are in ``routes_chart.py``).

``POST /accounting/fields`` is idempotent on ``id``; option uploads are all-or-nothing, 1-500
items; DELETE is soft and PATCH ``{"reactivate": true}`` restores.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.ramp import render_chart
from ml_connector.sandbox.ramp.api import api_of, api_route, json_response
from ml_connector.sandbox.ramp.bodies import (
    FieldCreateIn,
    FieldUpdateIn,
    OptionUpdateIn,
    OptionUploadIn,
    read_json,
)
from ml_connector.sandbox.ramp.chart import new_field, new_option
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import CustomField, FieldOption
from ml_connector.sandbox.ramp.params import q_str
from ml_connector.sandbox.ramp.routes_chart import listing, one_of, refuse_duplicates

__all__ = ["field_routes"]


def field_of(request: Request) -> CustomField:
    ctx = api_of(request)
    ctx.connection()
    return one_of(ctx.state.visible_fields(), request.path_params["field_id"], "Field")


async def list_fields(request: Request) -> Response:
    ctx = api_of(request)
    ctx.connection()
    state = ctx.state
    return listing(request, state.visible_fields(), state.fields, render_chart.custom_field)


async def create_field(request: Request) -> Response:
    ctx = api_of(request)
    connection = ctx.connection()
    body = await read_json(request, FieldCreateIn)
    state = ctx.state
    existing = next((f for f in state.visible_fields() if f.remote_id == body.id), None)
    if existing is not None:
        existing.is_active = True
        existing.updated_at = ctx.clock()
        return json_response(render_chart.custom_field(existing), 201)
    created = new_field(
        state,
        ctx.clock(),
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
    ctx = api_of(request)
    custom = field_of(request)
    body = await read_json(request, FieldUpdateIn)
    if body.name is not None:
        custom.name = body.name
    if "display_name" in body.model_fields_set:
        custom.display_name = body.display_name
    if body.is_splittable is not None:
        custom.is_splittable = body.is_splittable
    custom.updated_at = ctx.clock()
    return json_response(render_chart.custom_field(custom))


async def delete_field(request: Request) -> Response:
    ctx = api_of(request)
    custom = field_of(request)
    custom.is_active = False
    custom.updated_at = ctx.clock()
    return Response(status_code=204)


def upload_field(request: Request, field_id: str) -> CustomField:
    ctx = api_of(request)
    found = next((f for f in ctx.state.visible_fields() if f.ramp_id == field_id), None)
    if found is None:
        raise RampApiError.invalid("field_id", f"Field {field_id} not found.", status=400)
    return found


def option_of(request: Request) -> FieldOption:
    ctx = api_of(request)
    ctx.connection()
    state = ctx.state
    visible = {f.ramp_id for f in state.visible_fields()}
    option_id = request.path_params["field_option_id"]
    found = state.options.get(option_id)
    if found is None or found.field_ramp_id not in visible:
        raise RampApiError.not_found("Field option", option_id)
    return found


async def list_options(request: Request) -> Response:
    ctx = api_of(request)
    ctx.connection()
    field_id = q_str(request, "field_id")
    if field_id is None:
        raise RampApiError.invalid("field_id", "Missing data for required field.")
    custom = upload_field(request, field_id)
    code = q_str(request, "code")
    state = ctx.state
    return listing(
        request,
        state.options_of(custom.ramp_id),
        state.options,
        render_chart.field_option,
        extra=lambda o: code is None or o.code == code,
    )


async def upload_options(request: Request) -> Response:
    ctx = api_of(request)
    ctx.connection()
    body = await read_json(request, OptionUploadIn)
    custom = upload_field(request, str(body.field_id))
    state = ctx.state
    existing = {o.remote_id for o in state.options_of(custom.ramp_id)}
    refuse_duplicates([o.id for o in body.options], existing, "option")
    now = ctx.clock()
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
    ctx = api_of(request)
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
    option.updated_at = ctx.clock()
    return json_response(render_chart.field_option(option))


async def delete_option(request: Request) -> Response:
    ctx = api_of(request)
    option = option_of(request)
    option.is_active = False
    option.updated_at = ctx.clock()
    return Response(status_code=204)


def field_routes() -> list[Route]:
    read, write = "accounting:read", "accounting:write"
    field_path = "/accounting/fields/{field_id}"
    option_path = "/accounting/field-options/{field_option_id}"
    return [
        api_route("/accounting/fields", list_fields, methods=["GET"], scope=read),
        api_route("/accounting/fields", create_field, methods=["POST"], scope=write),
        api_route(field_path, get_field, methods=["GET"], scope=read),
        api_route(field_path, patch_field, methods=["PATCH"], scope=write),
        api_route(field_path, delete_field, methods=["DELETE"], scope=write),
        api_route("/accounting/field-options", list_options, methods=["GET"], scope=read),
        api_route("/accounting/field-options", upload_options, methods=["POST"], scope=write),
        api_route(option_path, get_option, methods=["GET"], scope=read),
        api_route(option_path, patch_option, methods=["PATCH"], scope=write),
        api_route(option_path, delete_option, methods=["DELETE"], scope=write),
    ]
