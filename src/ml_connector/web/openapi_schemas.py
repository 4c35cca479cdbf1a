"""The schemas of the admin API's OpenAPI document (``components.schemas``), and the helpers
both halves of the document use to write JSON Schema briefly.
"""

from __future__ import annotations

from typing import Any

from ml_connector.app.principal import Role
from ml_connector.app.records import SyncStatus
from ml_connector.mapping.table import Target

__all__ = [
    "ANY_OBJ",
    "BOOL",
    "COUNTS",
    "INT",
    "RULE_KEY",
    "SCHEMAS",
    "STR",
    "TIME",
    "nullable",
    "obj",
    "ref",
    "seq",
]


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required is not None:
        schema["required"] = required
    return schema


def nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def seq(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
ANY_OBJ = {"type": "object"}
COUNTS = {"type": "object", "additionalProperties": INT}

RULE = obj(
    ["source", "value", "target", "visma_value"],
    source={"type": "string", "minLength": 1},
    value={"type": "string", "minLength": 1},
    target={"type": "string", "enum": [t.value for t in Target]},
    visma_value={"type": "string", "minLength": 1},
    segment={"type": "integer", "minimum": 1},
    priority=INT,
    fallback=BOOL,
)
RULE_KEY = obj(["row"], row={"type": "integer", "minimum": 1})
BINDING = obj(
    ["field", "target", "binding", "decided_by", "evidence", "types", "via"],
    field=STR,
    target=nullable("string"),
    binding=STR,
    decided_by=STR,
    evidence=STR,
    ramp_id=STR,
    name=STR,
    types=seq(STR),
    via={"type": "string", "enum": ["id", "code"]},
    author=STR,
    decided_at=STR,
)

SCHEMAS: dict[str, Any] = {
    "Error": obj(["error"], error=STR),
    "ValidationError": obj(
        ["error", "problems"],
        error=STR,
        problems=seq(obj(["where", "message"], where=STR, message=STR)),
    ),
    "Me": obj(["email", "role", "via"], email=STR, role=STR, via=STR),
    "Connection": obj(
        ["id", "name", "status", "credentials", "credentials_set", "counts", "rate_limit"],
        id=INT,
        name=STR,
        status={"type": "string", "enum": ["active", "paused"]},
        health_message=STR,
        credentials={"type": "string", "enum": ["ok", "incomplete", "rejected", "failing"]},
        ramp_base_url=STR,
        visma_base_url=STR,
        credentials_set=seq(STR),
        settings=ANY_OBJ,
        counts=COUNTS,
        oldest_pending_at=nullable("string"),
        oldest_pending_age_s=nullable("integer"),
        last_success_at=nullable("string"),
        rate_limit=obj(
            ["source", "systems"],
            source={"type": "string", "enum": ["live", "store"]},
            systems={"type": "object", "additionalProperties": ANY_OBJ},
            last_429_at=nullable("string"),
        ),
    ),
    "Record": obj(
        ["id", "object_type", "ramp_id", "status", "attempts", "updated_at", "created_at"],
        id=INT,
        object_type=STR,
        ramp_id=STR,
        status={"type": "string", "enum": [s.value for s in SyncStatus]},
        attempts=INT,
        visma_ref=nullable("string"),
        error=nullable("string"),
        hint=nullable("string"),
        error_code=nullable("string"),
        next_at=nullable("string"),
        updated_at=STR,
        created_at=STR,
        invoice_number=nullable("string"),
        supplier=nullable("string"),
    ),
    "RecordDetail": {
        "allOf": [
            ref("Record"),
            obj(
                ["connection", "ramp_url", "timeline", "attempt_history"],
                connection=STR,
                ramp_url=STR,
                visma_url=nullable("string"),
                problem={
                    "oneOf": [
                        {"type": "null"},
                        obj(
                            ["message", "fix"],
                            message=STR,
                            fix=STR,
                            vendor_text=STR,
                            vendor_reference=STR,
                        ),
                    ]
                },
                last_payload={},
                attempt_history=seq(ANY_OBJ),
                timeline=seq(
                    obj(["seq", "at", "kind", "data"], seq=INT, at=STR, kind=STR, data={})
                ),
                ramp_write_back=obj(
                    ["status"],
                    status={
                        "type": "string",
                        "enum": ["told", "waiting", "refused", "not queued", "not applicable"],
                    },
                    sync_type=STR,
                    sync_id=nullable("string"),
                    told_at=nullable("string"),
                    queued_at=nullable("string"),
                    attempts=INT,
                    next_try_at=nullable("string"),
                    last_error=nullable("string"),
                    error=nullable("string"),
                    history=seq(ANY_OBJ),
                ),
            ),
        ]
    },
    "ExceptionGroup": obj(
        ["key", "title", "error_code", "count", "record_ids", "ramp_ids"],
        key=STR,
        title=STR,
        error_code=STR,
        message=STR,
        hint=STR,
        explanation=STR,
        fix=STR,
        count=INT,
        record_ids=seq(INT),
        ramp_ids=seq(STR),
    ),
    "ReplayItem": obj(
        ["record_id", "ramp_id", "status_before", "status_after"],
        record_id=INT,
        ramp_id=STR,
        status_before=STR,
        status_after=STR,
        diff=STR,
        error=STR,
    ),
    "MappingRule": RULE,
    "Mappings": obj(
        ["version", "document", "rules", "defaults", "unmapped"],
        version=nullable("integer"),
        author=nullable("string"),
        note=nullable("string"),
        saved_at=nullable("string"),
        document=ANY_OBJ,
        rules=seq(ANY_OBJ),
        defaults={"type": "object", "additionalProperties": STR},
        unmapped=ANY_OBJ,
        visma_values=ANY_OBJ,
    ),
    "MappingSaved": obj(
        ["saved", "version", "rules"], saved=BOOL, version=nullable("integer"), rules=INT
    ),
    "FieldBinding": BINDING,
    "FieldBindings": obj(
        ["version", "fields"],
        version=nullable("integer"),
        saved_at=nullable("string"),
        author=nullable("string"),
        targets_help=STR,
        fields=seq(
            {
                "allOf": [
                    BINDING,
                    obj(["stored", "mapping_rows"], stored=BOOL, mapping_rows=INT),
                ]
            }
        ),
    ),
    "FieldBound": obj(["saved", "version", "field"], saved=BOOL, version=INT, field=BINDING),
    "ChartStatus": obj(
        ["counts", "failures", "cursors", "last_push"],
        counts={"type": "object", "additionalProperties": COUNTS},
        failures=seq(ANY_OBJ),
        cursors={"type": "object", "additionalProperties": STR},
        last_push={"type": ["object", "null"]},
    ),
    "ChartChange": obj(["action", "kind", "visma_id"], action=STR, kind=STR, visma_id=STR),
    "ChartPush": obj(
        ["ok", "applied", "adopted", "failures"],
        ok=BOOL,
        applied=COUNTS,
        adopted=INT,
        failures=seq(ANY_OBJ),
    ),
    "Event": obj(
        ["id", "source", "event_id", "type", "status", "received_at"],
        id=INT,
        source=STR,
        event_id=STR,
        type=STR,
        object_id=nullable("string"),
        status=STR,
        received_at=STR,
    ),
    "User": obj(
        ["id", "email", "role", "connections", "disabled", "api_tokens", "created_at"],
        id=INT,
        email=STR,
        role={"type": "string", "enum": [r.value for r in Role]},
        connections={"type": ["array", "null"], "items": STR},
        disabled=BOOL,
        api_tokens=INT,
        created_at=STR,
    ),
}
