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
from json import JSONDecodeError
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.errors import ConnectorError, VendorError
from ml_connector.mapping.table import MappingTableError, Problem
from ml_connector.runtime.wiring import Runtime
from ml_connector.web import actions, config_ops, params, user_ops
from ml_connector.web import operations as ops
from ml_connector.web.auth import CSRF_HEADER, Auth, Principal
from ml_connector.web.openapi import OPENAPI

__all__ = ["OPENAPI", "api_routes"]

Handler = Callable[[Request, Principal], Awaitable[Any]]
_MAX_IDS = 10_000


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _limit(value: str | None) -> int:
    return params.whole_number(value, 100, low=1, high=params.MAX_LIMIT, what="limit")


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (JSONDecodeError, UnicodeDecodeError):
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _ids(body: dict[str, Any]) -> list[int]:
    ids = body.get("record_ids")
    if (
        not isinstance(ids, list)
        or not ids
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        raise ValueError("record_ids must be a non-empty list of record ids")
    if len(ids) > _MAX_IDS:
        raise ValueError(f"record_ids holds {len(ids)} ids; at most {_MAX_IDS} at a time")
    return [params.check_id(i, "record id") for i in ids]


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    return value


def _rules(rows: Any, name: str) -> tuple[Any, ...]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{name} must be a list of rule objects")
    problems: list[Problem] = []
    rules = []
    for number, row in enumerate(rows, start=1):
        try:
            rules.append(config_ops.rule_from_fields(row, f"{name} {number}"))
        except MappingTableError as exc:
            problems += exc.problems
    if problems:
        raise MappingTableError(problems)
    return tuple(rules)


def _mapping_edit(body: dict[str, Any], *, replace: bool) -> config_ops.MappingEdit:
    note = _text(body, "note")
    if replace:
        return config_ops.MappingEdit(replace=_rules(body.get("rules"), "rule"), note=note)
    unknown = sorted(set(body) - {"set", "remove", "defaults", "note", "dry_run"})
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    remove = body.get("remove", [])
    if not isinstance(remove, list) or not all(
        isinstance(r, dict) and isinstance(r.get("row"), int) for r in remove
    ):
        raise ValueError('remove must be a list of {"row": <row number>}')
    defaults = body.get("defaults")
    allowed = {t.value for t in config_ops.DEFAULT_TARGETS}
    if defaults is not None and (
        not isinstance(defaults, dict)
        or set(defaults) - allowed
        or not all(isinstance(v, str) for v in defaults.values())
    ):
        raise ValueError("defaults maps account, project or vat to a Visma value")
    return config_ops.MappingEdit(
        set_rules=_rules(body.get("set", []), "set"),
        remove_rows=tuple(int(r["row"]) for r in remove),
        defaults=defaults,
        note=note,
    )


def api_routes(runtime: Runtime, auth: Auth) -> list[Route]:
    """The ``/api/v1`` routes over ``runtime``, authenticated by ``auth``."""
    rt = runtime

    def guarded(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            principal = await auth.principal(request)
            if principal is None:
                return _error(401, "authentication required")
            unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
            if unsafe and not principal.csrf_ok(request.headers.get(CSRF_HEADER)):
                return _error(403, "missing or wrong CSRF token")
            try:
                result = await handler(request, principal)
            except ops.NotFound as exc:
                return _error(404, str(exc))
            except ops.Forbidden as exc:
                return _error(403, str(exc))
            except MappingTableError as exc:
                text = rt.redactor.scrub_text(str(exc))
                return _error(422, text, problems=config_ops.problems_of(exc))
            except ValueError as exc:
                return _error(400, rt.redactor.scrub_text(str(exc)))
            except VendorError as exc:
                return _error(502, rt.redactor.scrub_text(str(exc)))
            except ConnectorError as exc:
                return _error(409, rt.redactor.scrub_text(str(exc)))
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    async def conn(request: Request, principal: Principal) -> Any:
        return await ops.visible_connection(rt, principal, request.path_params["name"])

    async def me(request: Request, p: Principal) -> Any:
        return {"email": p.user.email, "role": p.user.role.value, "via": p.via}

    async def list_connections(request: Request, p: Principal) -> Any:
        return await ops.connection_overviews(rt, p)

    async def get_connection(request: Request, p: Principal) -> Any:
        return await ops.connection_overview(rt, await conn(request, p))

    async def put_credentials(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        body = await _body(request)
        return {"credentials_set": await ops.replace_credentials(rt, p, connection, body)}

    async def list_records(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        q = request.query_params
        since, until = params.time_range(q.get("since"), q.get("until"))
        flt = ops.RecordFilter(
            object_type=params.object_type(q.get("type")),
            state=params.state(q.get("state")),
            since=since,
            until=until,
            query=params.text(q.get("q"), "q"),
            vendor=params.text(q.get("vendor"), "vendor"),
            limit=_limit(q.get("limit")),
            offset=params.whole_number(
                q.get("offset"), 0, low=0, high=params.MAX_OFFSET, what="offset"
            ),
        )
        return await ops.search_records(rt, connection, flt)

    async def get_record(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        record_id = params.check_id(int(request.path_params["record_id"]), "record id")
        return await ops.record_detail(rt, connection, record_id)

    async def list_events(request: Request, p: Principal) -> Any:
        limit = _limit(request.query_params.get("limit"))
        return await ops.events(rt, await conn(request, p), limit=limit)

    async def list_exceptions(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        return [g.as_dict() for g in await actions.exception_groups(rt, connection)]

    async def retry_group(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        return await actions.retry_group(rt, p, connection, request.path_params["key"])

    async def post_retry(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        return await actions.retry(rt, p, connection, _ids(await _body(request)))

    async def post_replay(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        body = await _body(request)
        dry_run = _flag(body, "dry_run", True)
        return await actions.replay(rt, p, connection, _ids(body), dry_run=dry_run)

    async def post_exclude(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        body = await _body(request)
        resolved = _flag(body, "resolved", False)
        reason = _text(body, "reason")
        return await actions.exclude(rt, p, connection, _ids(body), reason, resolved=resolved)

    async def get_mappings(request: Request, p: Principal) -> Any:
        return await config_ops.mappings_view(rt, await conn(request, p))

    async def edit_mappings(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        if not p.can_act:
            raise ops.Forbidden("a viewer cannot change mappings")
        body = await _body(request)
        edit = _mapping_edit(body, replace=request.method == "PUT")
        dry_run = _flag(body, "dry_run", False)
        return await config_ops.edit_mappings(rt, p, connection, edit, dry_run=dry_run)

    async def get_fields(request: Request, p: Principal) -> Any:
        return await config_ops.fields_view(rt, await conn(request, p))

    async def bind_field(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        if not p.can_act:
            raise ops.Forbidden("a viewer cannot change field bindings")
        body = await _body(request)
        unknown = sorted(set(body) - {"to", "note", "values"})
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        values = body.get("values")
        if values is not None and values not in ("id", "code"):
            raise ValueError("values must be id or code")
        return await config_ops.bind_field(
            rt,
            p,
            connection,
            request.path_params["field"],
            _text(body, "to"),
            note=_text(body, "note"),
            via=values,
        )

    async def get_chart(request: Request, p: Principal) -> Any:
        return await config_ops.chart_view(rt, await conn(request, p))

    async def chart_pending(request: Request, p: Principal) -> Any:
        return await config_ops.chart_pending(rt, await conn(request, p))

    async def chart_push(request: Request, p: Principal) -> Any:
        return await config_ops.chart_push(rt, p, await conn(request, p))

    async def list_users(request: Request, p: Principal) -> Any:
        return await user_ops.list_users(rt, p)

    async def add_user(request: Request, p: Principal) -> Any:
        if not p.can_admin:
            raise ops.Forbidden("only an admin may manage users")
        body = await _body(request)
        names = body.get("connections", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError("connections must be a list of connection names")
        return await user_ops.add_user(
            rt,
            p,
            email=_text(body, "email"),
            password=_text(body, "password"),
            role=_text(body, "role"),
            connections=names,
        )

    async def change_user(request: Request, p: Principal) -> Any:
        if not p.can_admin:
            raise ops.Forbidden("only an admin may manage users")
        body = await _body(request)
        user_id = params.check_id(int(request.path_params["user_id"]), "user id")
        return await user_ops.change_user(rt, p, user_id, body)

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def unknown(request: Request) -> Response:
        return _error(404, "no such API route")

    c = "/api/v1/connections/{name}"
    return [
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/api/v1/me", guarded(me), methods=["GET"]),
        Route("/api/v1/connections", guarded(list_connections), methods=["GET"]),
        Route(c, guarded(get_connection), methods=["GET"]),
        Route(f"{c}/credentials", guarded(put_credentials), methods=["PUT"]),
        Route(f"{c}/records", guarded(list_records), methods=["GET"]),
        Route(c + "/records/{record_id:int}", guarded(get_record), methods=["GET"]),
        Route(f"{c}/events", guarded(list_events), methods=["GET"]),
        Route(f"{c}/exceptions", guarded(list_exceptions), methods=["GET"]),
        Route(c + "/exceptions/{key}/retry", guarded(retry_group), methods=["POST"]),
        Route(f"{c}/retry", guarded(post_retry), methods=["POST"]),
        Route(f"{c}/replay", guarded(post_replay), methods=["POST"]),
        Route(f"{c}/exclude", guarded(post_exclude), methods=["POST"]),
        Route(f"{c}/mappings", guarded(get_mappings), methods=["GET"]),
        Route(f"{c}/mappings", guarded(edit_mappings), methods=["PUT", "PATCH"]),
        Route(f"{c}/fields", guarded(get_fields), methods=["GET"]),
        Route(c + "/fields/{field}", guarded(bind_field), methods=["PUT"]),
        Route(f"{c}/chart", guarded(get_chart), methods=["GET"]),
        Route(f"{c}/chart/status", guarded(get_chart), methods=["GET"]),
        Route(f"{c}/chart/pending", guarded(chart_pending), methods=["GET"]),
        Route(f"{c}/chart/push", guarded(chart_push), methods=["POST"]),
        Route("/api/v1/users", guarded(list_users), methods=["GET"]),
        Route("/api/v1/users", guarded(add_user), methods=["POST"]),
        Route("/api/v1/users/{user_id:int}", guarded(change_user), methods=["PATCH"]),
        Route("/api/v1/{rest:path}", unknown),
    ]
