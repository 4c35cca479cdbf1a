"""The admin API's OpenAPI 3.1 document, written by hand next to the routes it describes.

Served unauthenticated at ``GET /api/v1/openapi.json``. Every route of ``web/api.py`` is here
with its parameters, request body, success schema and error answers; the contract test
(``tests/contract/test_admin_api_schemathesis.py``) fuzzes the API against this document and
checks the answers conform to it. The component schemas are in ``web/openapi_schemas.py``.
"""

from __future__ import annotations

from typing import Any

from ml_connector.app.principal import Role
from ml_connector.app.records import SyncStatus
from ml_connector.app.status import OBJECT_TYPES
from ml_connector.mapping.table import Target
from ml_connector.web.openapi_schemas import (
    BOOL,
    RULE_KEY,
    SCHEMAS,
    STR,
    obj,
    ref,
    seq,
)
from ml_connector.web.params import MAX_ID, MAX_LIMIT, MAX_OFFSET, MAX_TEXT

__all__ = ["OPENAPI"]


_ERROR_TEXT = {
    "400": "Invalid input, or a paging, filter or id parameter out of range (the message says "
    "which and what is allowed)",
    "401": "Not authenticated: no valid API token or session",
    "403": "Not allowed: the role does not permit it, or the session's CSRF token is missing",
    "404": "Unknown, or outside the caller's connection scope (the same answer on purpose)",
    "409": "Refused by the connector's state or configuration",
    "422": "The mapping table is invalid; every problem names its row",
    "502": "Ramp or Visma failed to answer while the action ran",
}


def _errors(*codes: str) -> dict[str, Any]:
    out = {}
    for code in ("400", "401", "403", "404", *codes):
        schema = ref("ValidationError") if code == "422" else ref("Error")
        out[code] = {
            "description": _ERROR_TEXT[code],
            "content": {"application/json": {"schema": schema}},
        }
    return out


def _op(
    summary: str,
    schema: dict[str, Any],
    *codes: str,
    body: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    ok = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    operation: dict[str, Any] = {"summary": summary, "responses": {"200": ok, **_errors(*codes)}}
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return {**operation, **extra}


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
_RECORD_ID = {"name": "record_id", "in": "path", "required": True, "schema": _ID}
_KEY = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
_FIELD = {
    "name": "field",
    "in": "path",
    "required": True,
    "description": "The Ramp field's ERP id, as bills show it",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
_USER_ID = {"name": "user_id", "in": "path", "required": True, "schema": _ID}
_LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}
_OFFSET = {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}
_FILTER_TEXT = {"type": "string", "maxLength": MAX_TEXT}
_DAY = {
    "type": "string",
    "maxLength": 40,
    "description": "YYYY-MM-DD or an ISO 8601 date-time (naive means UTC), 1900 to 9998",
}

_IDS = {"type": "array", "minItems": 1, "maxItems": 10_000, "items": _ID}
_ROLE = {"type": "string", "enum": [r.value for r in Role]}
_C = "/api/v1/connections/{name}"

PATHS: dict[str, Any] = {
    "/api/v1/me": {"get": _op("The caller", ref("Me"))},
    "/api/v1/connections": {
        "get": _op("Connections in the caller's scope, with health", seq(ref("Connection")))
    },
    _C: {"parameters": [_NAME], "get": _op("A connection's health and counts", ref("Connection"))},
    f"{_C}/credentials": {
        "parameters": [_NAME],
        "put": _op(
            "Replace credential fields (admin only; values are write-only and never returned)",
            obj(["credentials_set"], credentials_set=seq(STR)),
            "409",
            body={"type": "object", "minProperties": 1, "additionalProperties": STR},
        ),
    },
    f"{_C}/records": {
        "parameters": [_NAME],
        "get": _op(
            "Records, most recently changed first, filtered and paged",
            seq(ref("Record")),
            parameters=[
                _q("type", {"type": "string", "enum": list(OBJECT_TYPES)}),
                _q("state", {"type": "string", "enum": [s.value for s in SyncStatus]}),
                _q("since", _DAY, "changed at or after (a date or a date-time)"),
                _q("until", _DAY, "changed before (a bare date includes that day); after since"),
                _q("q", _FILTER_TEXT, "part of a Ramp id, invoice number or Visma reference"),
                _q("vendor", _FILTER_TEXT, "a Visma supplier number or a Ramp vendor id"),
                _q("limit", _LIMIT),
                _q("offset", _OFFSET),
            ],
        ),
    },
    f"{_C}/records/{{record_id}}": {
        "parameters": [_NAME, _RECORD_ID],
        "get": _op(
            "A record: both sides' ids and links, the problem in finance language, the "
            "timeline and the last payload",
            ref("RecordDetail"),
        ),
    },
    f"{_C}/events": {
        "parameters": [_NAME],
        "get": _op("Newest webhook events", seq(ref("Event")), parameters=[_q("limit", _LIMIT)]),
    },
    f"{_C}/exceptions": {
        "parameters": [_NAME],
        "get": _op("needs_attention records grouped by cause", seq(ref("ExceptionGroup"))),
    },
    f"{_C}/exceptions/{{key}}/retry": {
        "parameters": [_NAME, _KEY],
        "post": _op(
            "Queue every record of one exception group again (operator or admin)",
            seq(ref("Record")),
            "409",
        ),
    },
    f"{_C}/retry": {
        "parameters": [_NAME],
        "post": _op(
            "Queue records again for the worker (operator or admin)",
            seq(ref("Record")),
            "409",
            body=obj(["record_ids"], record_ids=_IDS),
        ),
    },
    f"{_C}/replay": {
        "parameters": [_NAME],
        "post": _op(
            "Replay records now; a dry run (the default) only shows the payload diff "
            "(operator or admin)",
            seq(ref("ReplayItem")),
            "409",
            "502",
            body=obj(["record_ids"], record_ids=_IDS, dry_run={"type": "boolean", "default": True}),
        ),
    },
    f"{_C}/exclude": {
        "parameters": [_NAME],
        "post": _op(
            "Mark records resolved or exclude them from sync, with a required reason "
            "(operator or admin)",
            seq(ref("Record")),
            "409",
            body=obj(
                ["record_ids", "reason"],
                record_ids=_IDS,
                reason={"type": "string", "minLength": 1},
                resolved={"type": "boolean", "default": False},
            ),
        ),
    },
    f"{_C}/mappings": {
        "parameters": [_NAME],
        "get": _op("The mapping table, its defaults and the unmapped values", ref("Mappings")),
        "put": _op(
            "Replace the whole table; validated against Visma before it is saved "
            "(operator or admin)",
            ref("MappingSaved"),
            "409",
            "422",
            "502",
            body=obj(
                ["rules"],
                rules=seq(ref("MappingRule")),
                note=STR,
                dry_run={"type": "boolean", "default": False},
            ),
        ),
        "patch": _op(
            "Set rules, remove rows and change defaults; validated against Visma before it is "
            "saved (operator or admin)",
            ref("MappingSaved"),
            "409",
            "422",
            "502",
            body=obj(
                None,
                set=seq(ref("MappingRule")),
                remove=seq(RULE_KEY),
                defaults={
                    "type": "object",
                    "properties": {
                        t.value: STR for t in (Target.ACCOUNT, Target.PROJECT, Target.VAT)
                    },
                    "additionalProperties": False,
                },
                note=STR,
                dry_run={"type": "boolean", "default": False},
            ),
        ),
    },
    f"{_C}/fields": {
        "parameters": [_NAME],
        "get": _op(
            "Each Ramp accounting field: the types bills show, its binding to a Visma target "
            "and how that was decided",
            ref("FieldBindings"),
        ),
    },
    f"{_C}/fields/{{field}}": {
        "parameters": [_NAME, _FIELD],
        "put": _op(
            "Bind a Ramp field to a Visma target (operator or admin); a new version of the "
            "bindings, audited with the user. A segment must exist in Visma",
            ref("FieldBound"),
            "409",
            "502",
            body=obj(
                ["to"],
                to={
                    "type": "string",
                    "minLength": 1,
                    "description": "segment:N, project, task, vat, account or ignore",
                },
                note=STR,
                values={"type": "string", "enum": ["id", "code"]},
            ),
        ),
    },
    f"{_C}/chart": {
        "parameters": [_NAME],
        "get": _op("Chart alignment status and the last push", ref("ChartStatus")),
    },
    f"{_C}/chart/status": {
        "parameters": [_NAME],
        "get": _op("Chart alignment status and the last push", ref("ChartStatus")),
    },
    f"{_C}/chart/pending": {
        "parameters": [_NAME],
        "get": _op(
            "What a push would change in Ramp now (a dry run: reads both vendors)",
            seq(ref("ChartChange")),
            "409",
            "502",
        ),
    },
    f"{_C}/chart/push": {
        "parameters": [_NAME],
        "post": _op(
            "Push the chart to Ramp now (operator or admin)", ref("ChartPush"), "409", "502"
        ),
    },
    "/api/v1/users": {
        "get": _op("Users (admin only)", seq(ref("User"))),
        "post": _op(
            "Add a user (admin only); no connections means every connection",
            ref("User"),
            "409",
            body=obj(
                ["email", "password", "role"],
                email={"type": "string", "format": "email"},
                password={"type": "string", "minLength": 10},
                role=_ROLE,
                connections=seq(STR),
            ),
        ),
    },
    "/api/v1/users/{user_id}": {
        "parameters": [_USER_ID],
        "patch": _op(
            "Change a user's role, connections (null or empty: all) or disabled flag "
            "(admin only); disabling revokes the user's API tokens",
            ref("User"),
            "409",
            body=obj(
                None,
                role=_ROLE,
                connections={"type": ["array", "null"], "items": STR},
                disabled=BOOL,
            ),
        ),
    },
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "ml-connector admin API",
        "version": "1",
        "description": (
            "Authenticate with an API token (`Authorization: Bearer mlc_…`, from `ml-connector "
            "users token EMAIL`) or the dashboard's session cookie. Calls that change something "
            "and use the session cookie must also send the session's CSRF token in "
            "`X-CSRF-Token`. Viewers may read; operators and admins act; only admins change "
            "credentials and users. A connection outside the caller's scope answers 404."
        ),
    },
    "components": {
        "securitySchemes": {
            "token": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "mlc_session"},
        },
        "schemas": SCHEMAS,
    },
    "security": [{"token": []}, {"session": []}],
    "paths": PATHS,
}
