"""Line operations on a document: ``Insert``, ``Update`` and ``Delete`` addressed by line number.

Visma's write DTOs carry their lines unwrapped, each with an ``operation`` and a wrapped
``lineNumber`` (reference §3.2). The rules, shared by supplier invoices and purchase orders:
- a line without ``operation`` is refused (a common client mistake; the sandbox answers 400);
- ``Insert`` takes the given number, or the next free one; a number in use is refused;
- ``Update`` and ``Delete`` need the number of an existing line (on a create there is none).
Rows apply in order, to a list the caller may throw away if a later row fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ml_connector.sandbox.visma.responses import ApiError

__all__ = ["apply_line_operations"]


class _Numbered(Protocol):
    line_number: int


LineT = TypeVar("LineT", bound=_Numbered)


def apply_line_operations(
    lines: list[LineT],
    rows: list[dict[str, Any]],
    *,
    new_line: Callable[[int, dict[str, Any]], LineT],
    fill: Callable[[LineT, dict[str, Any], str, bool], None],
    creating: bool,
) -> None:
    """Apply ``rows`` to ``lines``; ``fill(line, row, where, inserting)`` validates and sets."""
    for index, row in enumerate(rows, start=1):
        where = f"Line {index}"
        operation = row.get("operation")
        if operation is None:
            raise ApiError.bad_request(
                f"Error: {where}: 'operation' is required (Insert, Update or Delete)."
            )
        number = row.get("lineNumber")
        existing = next((line for line in lines if line.line_number == number), None)
        if operation == "Insert":
            if existing is not None:
                raise ApiError.bad_request(f"Error: {where}: line number {number} already exists.")
            line = new_line(number or max((ln.line_number for ln in lines), default=0) + 1, row)
            fill(line, row, where, True)
            lines.append(line)
        elif existing is None or creating:
            raise ApiError.bad_request(f"Error: {where}: line number {number} was not found.")
        elif operation == "Delete":
            lines.remove(existing)
        else:
            fill(existing, row, where, False)
