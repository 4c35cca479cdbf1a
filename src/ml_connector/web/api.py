"""The admin REST API under ``/api/v1``: JSON in and out, for API tokens and the dashboard.

Authentication is a Bearer API token or the dashboard's session cookie; without either every
route answers 401. Unsafe methods called with the session cookie also need the session's CSRF
token in ``X-CSRF-Token``. A viewer gets 403 on actions; a connection outside the caller's
scope is 404, like one that does not exist. Errors are ``{"error": message}``.

The OpenAPI document (``GET /api/v1/openapi.json``, unauthenticated) is written by hand below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from json import JSONDecodeError
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.errors import ConnectorError
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import SyncStatus
from ml_connector.web import operations as ops
from ml_connector.web.auth import CSRF_HEADER, Auth, Principal

__all__ = ["OPENAPI", "api_routes"]

Handler = Callable[[Request, Principal], Awaitable[Any]]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _int(value: str | None, default: int, *, low: int = 0, high: int = 1000) -> int:
    if value is None or value == "":
        return default
    return max(low, min(high, int(value)))


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
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids) or not ids:
        raise ValueError("record_ids must be a non-empty list of record ids")
    return ids


def api_routes(runtime: Runtime, auth: Auth) -> list[Route]:
    """The ``/api/v1`` routes over ``runtime``, authenticated by ``auth``."""

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
            except ValueError as exc:
                return _error(400, str(exc))
            except ConnectorError as exc:
                return _error(409, runtime.redactor.scrub_text(str(exc)))
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    async def conn(request: Request, principal: Principal) -> Any:
        return await ops.visible_connection(runtime, principal, request.path_params["name"])

    async def me(request: Request, p: Principal) -> Any:
        return {"email": p.user.email, "role": p.user.role.value, "via": p.via}

    async def list_connections(request: Request, p: Principal) -> Any:
        return [
            await ops.connection_overview(runtime, c)
            for c in await ops.visible_connections(runtime, p)
        ]

    async def get_connection(request: Request, p: Principal) -> Any:
        return await ops.connection_overview(runtime, await conn(request, p))

    async def put_credentials(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        body = await _body(request)
        fields = await ops.replace_credentials(runtime, p, connection, body)
        return {"credentials_set": fields}

    async def list_records(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        q = request.query_params
        state = q.get("state")
        flt = ops.RecordFilter(
            object_type=q.get("type") or None,
            state=SyncStatus(state) if state else None,
            since=ops.parse_time(q.get("since")),
            until=ops.parse_time(q.get("until")),
            query=q.get("q", ""),
            limit=_int(q.get("limit"), 100, low=1),
            offset=_int(q.get("offset"), 0, high=1_000_000),
        )
        return await ops.search_records(runtime, connection, flt)

    async def get_record(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        return await ops.record_detail(runtime, connection, int(request.path_params["record_id"]))

    async def list_exceptions(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        return [g.as_dict() for g in await ops.exception_groups(runtime, connection)]

    async def post_replay(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        body = await _body(request)
        dry_run = body.get("dry_run", True)
        if not isinstance(dry_run, bool):
            raise ValueError("dry_run must be true or false")
        return await ops.replay(runtime, p, connection, _ids(body), dry_run=dry_run)

    async def post_exclude(request: Request, p: Principal) -> Any:
        connection = await conn(request, p)
        body = await _body(request)
        return await ops.exclude(runtime, p, connection, _ids(body), str(body.get("reason", "")))

    async def get_mappings(request: Request, p: Principal) -> Any:
        return await ops.mappings(runtime, await conn(request, p))

    async def get_chart(request: Request, p: Principal) -> Any:
        return await ops.chart(runtime, await conn(request, p))

    async def list_events(request: Request, p: Principal) -> Any:
        limit = _int(request.query_params.get("limit"), 100, low=1)
        return await ops.events(runtime, await conn(request, p), limit=limit)

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    base = "/api/v1/connections/{name}"
    return [
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/api/v1/me", guarded(me), methods=["GET"]),
        Route("/api/v1/connections", guarded(list_connections), methods=["GET"]),
        Route(base, guarded(get_connection), methods=["GET"]),
        Route(f"{base}/credentials", guarded(put_credentials), methods=["PUT"]),
        Route(f"{base}/records", guarded(list_records), methods=["GET"]),
        Route(base + "/records/{record_id:int}", guarded(get_record), methods=["GET"]),
        Route(f"{base}/exceptions", guarded(list_exceptions), methods=["GET"]),
        Route(f"{base}/replay", guarded(post_replay), methods=["POST"]),
        Route(f"{base}/exclude", guarded(post_exclude), methods=["POST"]),
        Route(f"{base}/mappings", guarded(get_mappings), methods=["GET"]),
        Route(f"{base}/chart", guarded(get_chart), methods=["GET"]),
        Route(f"{base}/events", guarded(list_events), methods=["GET"]),
    ]


# --- the OpenAPI document ---------------------------------------------------------------------

_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_ERR = {"$ref": "#/components/schemas/Error"}
_ERRORS = {
    code: {"description": text, "content": {"application/json": {"schema": _ERR}}}
    for code, text in (
        ("400", "Invalid input"),
        ("401", "Not authenticated"),
        ("403", "Not allowed (role or CSRF)"),
        ("404", "Unknown, or outside the caller's scope"),
    )
}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _op(summary: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {**_ok(schema), **_ERRORS}, **extra}


_ANY_LIST = {"type": "array", "items": {"type": "object"}}
_IDS_BODY = {
    "type": "object",
    "required": ["record_ids"],
    "properties": {
        "record_ids": {"type": "array", "minItems": 1, "items": {"type": "integer"}},
        "dry_run": {"type": "boolean", "default": True},
        "reason": {"type": "string"},
    },
}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _q(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "ml-connector admin API", "version": "1"},
    "components": {
        "securitySchemes": {
            "token": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "mlc_session"},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            }
        },
    },
    "security": [{"token": []}, {"session": []}],
    "paths": {
        "/api/v1/me": {"get": _op("The caller", {"type": "object"})},
        "/api/v1/connections": {"get": _op("Connections in scope", _ANY_LIST)},
        "/api/v1/connections/{name}": {
            "parameters": [_NAME],
            "get": _op("A connection's health and counts", {"type": "object"}),
        },
        "/api/v1/connections/{name}/credentials": {
            "parameters": [_NAME],
            "put": _op(
                "Replace credential fields (admin; write-only)",
                {"type": "object"},
                requestBody=_json_body(
                    {"type": "object", "additionalProperties": {"type": "string"}}
                ),
            ),
        },
        "/api/v1/connections/{name}/records": {
            "parameters": [_NAME],
            "get": _op(
                "Records, filtered",
                _ANY_LIST,
                parameters=[
                    _q("type", {"type": "string"}),
                    _q("state", {"type": "string", "enum": [s.value for s in SyncStatus]}),
                    _q("since", {"type": "string", "format": "date-time"}),
                    _q("until", {"type": "string", "format": "date-time"}),
                    _q("q", {"type": "string"}),
                    _q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    _q("offset", {"type": "integer", "minimum": 0}),
                ],
            ),
        },
        "/api/v1/connections/{name}/records/{record_id}": {
            "parameters": [
                _NAME,
                {
                    "name": "record_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer"},
                },
            ],
            "get": _op("A record with its timeline", {"type": "object"}),
        },
        "/api/v1/connections/{name}/exceptions": {
            "parameters": [_NAME],
            "get": _op("needs_attention records grouped by cause", _ANY_LIST),
        },
        "/api/v1/connections/{name}/replay": {
            "parameters": [_NAME],
            "post": _op(
                "Replay records (dry run by default)", _ANY_LIST, requestBody=_json_body(_IDS_BODY)
            ),
        },
        "/api/v1/connections/{name}/exclude": {
            "parameters": [_NAME],
            "post": _op(
                "Exclude records with a reason", _ANY_LIST, requestBody=_json_body(_IDS_BODY)
            ),
        },
        "/api/v1/connections/{name}/mappings": {
            "parameters": [_NAME],
            "get": _op("The current mapping table", {"type": "object"}),
        },
        "/api/v1/connections/{name}/chart": {
            "parameters": [_NAME],
            "get": _op("Chart alignment status", {"type": "object"}),
        },
        "/api/v1/connections/{name}/events": {
            "parameters": [_NAME],
            "get": _op(
                "Newest webhook events",
                _ANY_LIST,
                parameters=[_q("limit", {"type": "integer", "minimum": 1, "maximum": 1000})],
            ),
        },
    },
}
