"""List endpoints: paging, ``metadata`` on every record, and the date-time condition filters.

- ``pageNumber`` (1-based) and ``pageSize``; a page size above the endpoint's maximum is capped
  silently; a page past the end is ``[]``; without paging parameters the first page of
  ``maxPageSize`` records is returned (reference §4).
- Every record of a list carries ``"metadata": {"totalCount": …, "maxPageSize": …}`` (the
  company's ``page_metadata`` option may leave out ``maxPageSize``, or ``metadata`` entirely).
- ``<field>`` + ``<field>Condition`` (``>``, ``>=``, ``<``, ``<=``) filter on a date-time. The two
  are "mutually inclusive": one without the other is refused with 400. Values are the formats
  Visma lists (``yyyy-MM-dd``, ``yyyy-MM-dd HH:mm:ss[.FFF]``, ``yyyy-MM-ddTHH:mm:ss[.FFF]``); a
  UTC designator or offset is refused, as Visma rejects those characters.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from ml_connector.sandbox.visma.responses import ApiError

__all__ = [
    "PAGE_METADATA",
    "Paging",
    "Query",
    "date_condition",
    "paginate",
    "parse_bool",
    "select",
    "with_metadata",
]

T = TypeVar("T")

# What ``metadata`` a list record carries: "full", "total_only" (no maxPageSize) or "none".
# The dispatcher sets it from the company's behaviour around each handler.
PAGE_METADATA: ContextVar[str] = ContextVar("page_metadata", default="full")

_CONDITIONS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}:\d{2}(\.\d{1,7})?)?$")


class Query:
    """Query parameters, looked up case-insensitively (as ASP.NET binds them)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for key, value in items:
            self._values.setdefault(key.lower(), value)

    def get(self, name: str) -> str | None:
        value = self._values.get(name.lower())
        return value if value is None or value.strip() else None


@dataclass(frozen=True)
class Paging:
    number: int
    size: int
    max_size: int


def _positive_int(query: Query, name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError.bad_request(
            f"The request is invalid. The value '{raw}' is not valid for {name}."
        ) from None
    if value < 1:
        raise ApiError.bad_request(f"{name} must be 1 or greater.")
    return value


def paginate(records: Sequence[T], query: Query, max_page_size: int) -> tuple[list[T], Paging]:
    """The requested page of ``records`` and the paging actually applied."""
    number = _positive_int(query, "pageNumber") or 1
    size = min(_positive_int(query, "pageSize") or max_page_size, max_page_size)
    start = (number - 1) * size
    return list(records[start : start + size]), Paging(number, size, max_page_size)


def with_metadata(
    dtos: Iterable[dict[str, Any]], total: int, max_page_size: int
) -> list[dict[str, Any]]:
    """Attach ``metadata`` to each record, as Visma repeats it on every item of a list.

    ``PAGE_METADATA`` may leave out ``maxPageSize`` ("total_only") or the whole object ("none").
    """
    mode = PAGE_METADATA.get()
    if mode == "none":
        return list(dtos)
    meta: dict[str, int] = {"totalCount": total}
    if mode == "full":
        meta["maxPageSize"] = max_page_size
    return [{**dto, "metadata": dict(meta)} for dto in dtos]


def date_condition(query: Query, name: str) -> Callable[[datetime | None], bool] | None:
    """A predicate for ``name`` + ``nameCondition``, or None when the filter is absent."""
    raw = query.get(name)
    condition = query.get(f"{name}Condition")
    if raw is None and condition is None:
        return None
    if raw is None or condition is None:
        raise ApiError.bad_request(
            f"{name} and {name}Condition must be given together (mutually inclusive)."
        )
    compare = _CONDITIONS.get(condition.strip())
    if compare is None:
        raise ApiError.bad_request(
            f"'{condition}' is not a valid {name}Condition; use >, >=, < or <=."
        )
    text = raw.strip()
    if not _DATE_FORMAT.match(text):
        raise ApiError.bad_request(
            f"'{raw}' is not a valid value for {name}; use yyyy-MM-dd or yyyy-MM-ddTHH:mm:ss.FFF."
        )
    bound = datetime.fromisoformat(text.replace(" ", "T")[:23])

    def matches(value: datetime | None) -> bool:
        return value is not None and bool(compare(value, bound))

    return matches


def parse_bool(query: Query, name: str) -> bool | None:
    """A boolean filter (``true``/``false``), None when absent; anything else is a 400."""
    raw = query.get(name)
    if raw is None:
        return None
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise ApiError.bad_request(
        f"The request is invalid. The value '{raw}' is not valid for {name}."
    )


def select(records: Iterable[T], *checks: Callable[[T], bool] | None) -> list[T]:
    """The records passing every check; None checks (absent filters) are skipped."""
    active = [check for check in checks if check is not None]
    return [record for record in records if all(check(record) for check in active)]
