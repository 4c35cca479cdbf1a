"""The admin REST API under ``/api/v1``: JSON in and out, for API tokens and the dashboard.

Authentication is a Bearer API token or the dashboard's session cookie; without either every
route answers 401. Unsafe methods called with the session cookie also need the session's CSRF
token in ``X-CSRF-Token``. A viewer gets 403 on actions; a connection outside the caller's
scope is 404, like one that does not exist. Errors are ``{"error": message}``; a refused
mapping edit adds ``problems``. Statuses: 400 invalid input, 409 refused by the connector's
state, 422 invalid mapping table, 502 a vendor failed while the action ran. Paging, filters
and ids out of range are 400 with a message (``web/params.py``), never a server error.

The OpenAPI document (``GET /api/v1/openapi.json``, unauthenticated) is ``web/openapi.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.app import bindings, chart, connections, mapping_edits, queue, records
from ml_connector.app.connections import Connection
from ml_connector.app.mapping_edits import MappingTableError
from ml_connector.app.principal import Actor, Forbidden, NotFound, Permission
from ml_connector.errors import ConnectorError, VendorError
from ml_connector.runtime.wiring import Runtime
from ml_connector.web import api_input, params, user_ops
from ml_connector.web.auth import CSRF_HEADER, Auth, Principal
from ml_connector.web.openapi import OPENAPI
from ml_connector.web.operations import actor_of

__all__ = ["OPENAPI", "api_routes"]


@dataclass(frozen=True)
class Call:
    """One authenticated API request: the runtime, the request and who makes it."""

    rt: Runtime
    request: Request
    principal: Principal

    @property
    def actor(self) -> Actor:
        return actor_of(self.principal)

    async def connection(self) -> Connection:
        """The ``{name}`` connection, if the caller may see it (NotFound otherwise)."""
        name = self.request.path_params["name"]
        return await connections.visible_connection(self.actor, self.rt, name)

    async def body(self) -> dict[str, Any]:
        return await api_input.body(self.request)


Handler = Callable[[Call], Awaitable[Any]]


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


async def _answer(rt: Runtime, handler: Handler, request: Request, principal: Principal) -> Any:
    """The handler's result, or the error answer its exception stands for."""
    try:
        return await handler(Call(rt, request, principal))
    except NotFound as exc:
        return _error(404, str(exc))
    except Forbidden as exc:
        return _error(403, str(exc))
    except MappingTableError as exc:
        text = rt.redactor.scrub_text(str(exc))
        return _error(422, text, problems=mapping_edits.problems_of(exc))
    except ValueError as exc:
        return _error(400, rt.redactor.scrub_text(str(exc)))
    except VendorError as exc:
        return _error(502, rt.redactor.scrub_text(str(exc)))
    except ConnectorError as exc:
        return _error(409, rt.redactor.scrub_text(str(exc)))


def _endpoint(
    rt: Runtime, auth: Auth, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of ``handler``: authenticate, check CSRF, answer in JSON."""

    async def endpoint(request: Request) -> Response:
        principal = await auth.principal(request)
        if principal is None:
            return _error(401, "authentication required")
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
        if unsafe and not principal.csrf_ok(request.headers.get(CSRF_HEADER)):
            return _error(403, "missing or wrong CSRF token")
        result = await _answer(rt, handler, request, principal)
        return result if isinstance(result, Response) else JSONResponse(result)

    return endpoint


async def me(call: Call) -> Any:
    p = call.principal
    return {"email": p.user.email, "role": p.user.role.value, "via": p.via}


async def list_connections(call: Call) -> Any:
    return [c.as_dict() for c in await connections.connection_overviews(call.actor, call.rt)]


async def get_connection(call: Call) -> Any:
    overview = await connections.connection_overview(call.actor, call.rt, await call.connection())
    return overview.as_dict()


async def put_credentials(call: Call) -> Any:
    connection = await call.connection()
    body = await call.body()
    fields = await connections.replace_credentials(call.actor, call.rt, connection, body)
    return {"credentials_set": fields}


async def list_records(call: Call) -> Any:
    connection = await call.connection()
    q = call.request.query_params
    since, until = params.time_range(q.get("since"), q.get("until"))
    flt = records.RecordFilter(
        object_type=params.object_type(q.get("type")),
        state=params.state(q.get("state")),
        since=since,
        until=until,
        query=params.text(q.get("q"), "q"),
        vendor=params.text(q.get("vendor"), "vendor"),
        limit=api_input.limit(q.get("limit")),
        offset=params.whole_number(
            q.get("offset"), 0, low=0, high=params.MAX_OFFSET, what="offset"
        ),
    )
    rows = await records.search_records(call.actor, call.rt, connection, flt)
    return [row.as_dict() for row in rows]


async def get_record(call: Call) -> Any:
    connection = await call.connection()
    record_id = params.check_id(int(call.request.path_params["record_id"]), "record id")
    detail = await records.record_detail(call.actor, call.rt, connection, record_id)
    return detail.as_dict()


async def list_events(call: Call) -> Any:
    limit = api_input.limit(call.request.query_params.get("limit"))
    found = await records.events(call.actor, call.rt, await call.connection(), limit=limit)
    return [event.as_dict() for event in found]


async def list_exceptions(call: Call) -> Any:
    groups = await queue.exception_groups(call.actor, call.rt, await call.connection())
    return [g.as_dict() for g in groups]


async def retry_group(call: Call) -> Any:
    connection = await call.connection()
    key = call.request.path_params["key"]
    done = await queue.retry_group(call.actor, call.rt, connection, key)
    return [summary.as_dict() for summary in done]


async def post_retry(call: Call) -> Any:
    connection = await call.connection()
    done = await queue.retry(
        call.actor, call.rt, connection, api_input.record_ids(await call.body())
    )
    return [summary.as_dict() for summary in done]


async def post_replay(call: Call) -> Any:
    connection = await call.connection()
    body = await call.body()
    dry_run = api_input.flag(body, "dry_run", True)
    items = await queue.replay_records(
        call.actor, call.rt, connection, api_input.record_ids(body), dry_run=dry_run
    )
    return [item.as_dict() for item in items]


async def post_exclude(call: Call) -> Any:
    connection = await call.connection()
    body = await call.body()
    resolved = api_input.flag(body, "resolved", False)
    reason = api_input.text(body, "reason")
    done = await queue.exclude(
        call.actor, call.rt, connection, api_input.record_ids(body), reason, resolved=resolved
    )
    return [summary.as_dict() for summary in done]


async def get_mappings(call: Call) -> Any:
    view = await mapping_edits.mappings_view(call.actor, call.rt, await call.connection())
    return view.as_dict()


async def edit_mappings(call: Call) -> Any:
    connection = await call.connection()
    if not call.actor.may(Permission.ACT):
        raise Forbidden("a viewer cannot change mappings")
    body = await call.body()
    edit = api_input.mapping_edit(body, replace=call.request.method == "PUT")
    dry_run = api_input.flag(body, "dry_run", False)
    result = await mapping_edits.edit_mappings(
        call.actor, call.rt, connection, edit, dry_run=dry_run
    )
    return result.as_dict()


async def get_fields(call: Call) -> Any:
    return (await bindings.fields_view(call.actor, call.rt, await call.connection())).as_dict()


async def bind_field(call: Call) -> Any:
    connection = await call.connection()
    if not call.actor.may(Permission.ACT):
        raise Forbidden("a viewer cannot change field bindings")
    body = await call.body()
    unknown = sorted(set(body) - {"to", "note", "values"})
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    values = body.get("values")
    if values is not None and values not in ("id", "code"):
        raise ValueError("values must be id or code")
    bound = await bindings.bind_field_view(
        call.actor,
        call.rt,
        connection,
        call.request.path_params["field"],
        api_input.text(body, "to"),
        note=api_input.text(body, "note"),
        via=values,
    )
    return bound.as_dict()


async def get_chart(call: Call) -> Any:
    return (await chart.chart_view(call.actor, call.rt, await call.connection())).as_dict()


async def chart_pending(call: Call) -> Any:
    pending = await chart.chart_pending(call.actor, call.rt, await call.connection())
    return [change.as_dict() for change in pending]


async def chart_push(call: Call) -> Any:
    return (await chart.chart_push(call.actor, call.rt, await call.connection())).as_dict()


async def list_users(call: Call) -> Any:
    return await user_ops.list_users(call.rt, call.principal)


async def add_user(call: Call) -> Any:
    if not call.principal.can_admin:
        raise Forbidden("only an admin may manage users")
    body = await call.body()
    names = body.get("connections", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError("connections must be a list of connection names")
    return await user_ops.add_user(
        call.rt,
        call.principal,
        email=api_input.text(body, "email"),
        password=api_input.text(body, "password"),
        role=api_input.text(body, "role"),
        connections=names,
    )


async def change_user(call: Call) -> Any:
    if not call.principal.can_admin:
        raise Forbidden("only an admin may manage users")
    body = await call.body()
    user_id = params.check_id(int(call.request.path_params["user_id"]), "user id")
    return await user_ops.change_user(call.rt, call.principal, user_id, body)


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


async def unknown_route(request: Request) -> Response:
    return _error(404, "no such API route")


_C = "/api/v1/connections/{name}"
_ROUTES: tuple[tuple[str, Handler, tuple[str, ...]], ...] = (
    ("/api/v1/me", me, ("GET",)),
    ("/api/v1/connections", list_connections, ("GET",)),
    (_C, get_connection, ("GET",)),
    (f"{_C}/credentials", put_credentials, ("PUT",)),
    (f"{_C}/records", list_records, ("GET",)),
    (_C + "/records/{record_id:int}", get_record, ("GET",)),
    (f"{_C}/events", list_events, ("GET",)),
    (f"{_C}/exceptions", list_exceptions, ("GET",)),
    (_C + "/exceptions/{key}/retry", retry_group, ("POST",)),
    (f"{_C}/retry", post_retry, ("POST",)),
    (f"{_C}/replay", post_replay, ("POST",)),
    (f"{_C}/exclude", post_exclude, ("POST",)),
    (f"{_C}/mappings", get_mappings, ("GET",)),
    (f"{_C}/mappings", edit_mappings, ("PUT", "PATCH")),
    (f"{_C}/fields", get_fields, ("GET",)),
    (_C + "/fields/{field}", bind_field, ("PUT",)),
    (f"{_C}/chart", get_chart, ("GET",)),
    (f"{_C}/chart/status", get_chart, ("GET",)),
    (f"{_C}/chart/pending", chart_pending, ("GET",)),
    (f"{_C}/chart/push", chart_push, ("POST",)),
    ("/api/v1/users", list_users, ("GET",)),
    ("/api/v1/users", add_user, ("POST",)),
    ("/api/v1/users/{user_id:int}", change_user, ("PATCH",)),
)


def api_routes(runtime: Runtime, auth: Auth) -> list[Route]:
    """The ``/api/v1`` routes over ``runtime``, authenticated by ``auth``."""
    return [
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        *(
            Route(path, _endpoint(runtime, auth, handler), methods=list(methods))
            for path, handler, methods in _ROUTES
        ),
        Route("/api/v1/{rest:path}", unknown_route),
    ]
