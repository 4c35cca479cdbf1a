"""What the admin API reads from a request: JSON bodies, record ids, flags, mapping edits.

Every function raises ValueError (400) with a message naming what was wrong, or
MappingTableError (422) for rule rows the mapping table refuses.
"""

from __future__ import annotations

from json import JSONDecodeError
from typing import Any

from starlette.requests import Request

from ml_connector.app import mapping_edits
from ml_connector.app.mapping_edits import MappingTableError, Problem
from ml_connector.web import params

__all__ = ["body", "flag", "limit", "mapping_edit", "record_ids", "text"]

MAX_IDS = 10_000


def limit(value: str | None) -> int:
    return params.whole_number(value, 100, low=1, high=params.MAX_LIMIT, what="limit")


async def body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (JSONDecodeError, UnicodeDecodeError):
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def record_ids(body: dict[str, Any]) -> list[int]:
    ids = body.get("record_ids")
    if (
        not isinstance(ids, list)
        or not ids
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        raise ValueError("record_ids must be a non-empty list of record ids")
    if len(ids) > MAX_IDS:
        raise ValueError(f"record_ids holds {len(ids)} ids; at most {MAX_IDS} at a time")
    return [params.check_id(i, "record id") for i in ids]


def flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def text(body: dict[str, Any], name: str) -> str:
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
            rules.append(mapping_edits.rule_from_fields(row, f"{name} {number}"))
        except MappingTableError as exc:
            problems += exc.problems
    if problems:
        raise MappingTableError(problems)
    return tuple(rules)


def mapping_edit(body: dict[str, Any], *, replace: bool) -> mapping_edits.MappingEdit:
    note = text(body, "note")
    if replace:
        return mapping_edits.MappingEdit(replace=_rules(body.get("rules"), "rule"), note=note)
    unknown = sorted(set(body) - {"set", "remove", "defaults", "note", "dry_run"})
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    remove = body.get("remove", [])
    if not isinstance(remove, list) or not all(
        isinstance(r, dict) and isinstance(r.get("row"), int) for r in remove
    ):
        raise ValueError('remove must be a list of {"row": <row number>}')
    defaults = body.get("defaults")
    allowed = {t.value for t in mapping_edits.DEFAULT_TARGETS}
    if defaults is not None and (
        not isinstance(defaults, dict)
        or set(defaults) - allowed
        or not all(isinstance(v, str) for v in defaults.values())
    ):
        raise ValueError("defaults maps account, project or vat to a Visma value")
    return mapping_edits.MappingEdit(
        set_rules=_rules(body.get("set", []), "set"),
        remove_rows=tuple(int(r["row"]) for r in remove),
        defaults=defaults,
        note=note,
    )
