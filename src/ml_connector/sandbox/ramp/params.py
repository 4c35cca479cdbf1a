"""Query-string parsing and keyset pagination, the way Ramp's list endpoints behave.

Pagination (Ramp's pagination page): ``page_size`` is 2-100 (default 20); anything else is a
422 ``DEVELOPER_7001``. ``start`` is the id of the last object of the previous page. The answer
is ``{"data": [...], "page": {"next": <full URL or null>}}``; ``next`` repeats the request's
own URL and filters with ``start`` set to the last id, and is null on the last page.

Objects are listed in creation order (the sandbox's guess; Ramp does not document its order),
and ``start`` is resolved against every object of the resource, so a page boundary object that
stops matching the filters between two calls does not break the walk.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from starlette.requests import Request

from ml_connector.sandbox.ramp.errors import RampApiError

__all__ = [
    "Page",
    "parse_instant",
    "q_bool",
    "q_decimal",
    "q_enum",
    "q_instant",
    "q_str",
    "q_uuid",
    "read_page",
    "render_page",
]

DEFAULT_PAGE_SIZE = 20
MIN_PAGE_SIZE = 2
MAX_PAGE_SIZE = 100
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


class _Sequenced(Protocol):
    @property
    def seq(self) -> int: ...


T = TypeVar("T", bound=_Sequenced)


@dataclass(frozen=True)
class Page:
    """What the caller asked for: how many, and after which object."""

    size: int
    start: str | None


def read_page(request: Request) -> Page:
    """``page_size`` and ``start`` from the query; 422 DEVELOPER_7001 when out of range."""
    raw = request.query_params.get("page_size")
    size = DEFAULT_PAGE_SIZE
    if raw is not None:
        try:
            size = int(raw)
        except ValueError:
            raise RampApiError.invalid("page_size", "Not a valid integer.") from None
        if not MIN_PAGE_SIZE <= size <= MAX_PAGE_SIZE:
            raise RampApiError.invalid(
                "page_size", f"Value must be between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}"
            )
    return Page(size=size, start=request.query_params.get("start") or None)


def render_page(
    request: Request,
    matching: Sequence[T],
    everything: Mapping[str, T],
    id_of: Callable[[T], str],
    render: Callable[[T], dict[str, Any]],
    *,
    order: Callable[[T], Any] | None = None,
    descending: bool = False,
) -> dict[str, Any]:
    """One page of ``matching`` (already filtered) as Ramp's paginated envelope.

    ``everything`` maps every id of the resource to its object, to resolve ``start``.
    ``order`` sorts by another key than creation (ties keep creation order), ``descending``
    reverses it; ``start`` then means "after this object in that order".
    """
    page = read_page(request)

    def key(item: T) -> tuple[Any, int]:
        return (order(item) if order is not None else 0, item.seq)

    ordered = sorted(matching, key=key, reverse=descending)
    if page.start is not None:
        anchor = everything.get(page.start)
        if anchor is None:
            raise RampApiError.invalid("start", f"Unknown start id: {page.start}")
        bound = key(anchor)
        ordered = [
            item for item in ordered if (key(item) < bound if descending else key(item) > bound)
        ]
    chunk = ordered[: page.size]
    more = len(ordered) > page.size
    next_url = (
        str(request.url.include_query_params(start=id_of(chunk[-1]))) if more and chunk else None
    )
    return {"data": [render(item) for item in chunk], "page": {"next": next_url}}


def q_str(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value not in (None, "") else None


def q_bool(request: Request, name: str) -> bool | None:
    value = q_str(request, name)
    if value is None:
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise RampApiError.invalid(name, "Not a valid boolean.")


def q_enum(request: Request, name: str, allowed: frozenset[str] | set[str]) -> str | None:
    value = q_str(request, name)
    if value is not None and value not in allowed:
        raise RampApiError.invalid(name, f"Must be one of: {', '.join(sorted(allowed))}.")
    return value


def q_uuid(request: Request, name: str) -> str | None:
    value = q_str(request, name)
    if value is None:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise RampApiError.invalid(name, "Not a valid UUID.") from None


def q_decimal(request: Request, name: str) -> Decimal | None:
    value = q_str(request, name)
    if value is None:
        return None
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise RampApiError.invalid(name, "Not a valid decimal.") from None
    if not parsed.is_finite():
        raise RampApiError.invalid(name, "Not a valid decimal.")
    return parsed


def q_instant(request: Request, name: str) -> float | None:
    """An ISO-8601 date-time (or date) filter as POSIX seconds; UTC when no offset is given."""
    value = q_str(request, name)
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError:
        raise RampApiError.invalid(name, "Not a valid datetime.") from None


def parse_instant(value: str) -> float:
    """Parse ISO-8601 (``Z`` suffix, offset, naive, or a bare date) to POSIX seconds."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)  # a bare date parses as midnight
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
