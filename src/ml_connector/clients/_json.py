"""Exact JSON for the vendor clients: ``Decimal`` out as a number literal, numbers back as
``Decimal``; floats are refused on the way out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

__all__ = ["decode_json", "encode_json"]


def encode_json(value: Any) -> bytes:
    """Serialise ``value`` to JSON bytes; ``Decimal`` becomes an exact number literal.

    Floats are refused: money and quantities travel as ``Decimal`` or ``int`` only. Dates and
    date-times become ISO-8601 strings, enums their value.
    """
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts).encode()


def _encode(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append({None: "null", True: "true", False: "false"}[value])
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as a JSON number")
        out.append(format(value, "f"))
    elif isinstance(value, Enum):
        _encode(value.value, out)
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        raise TypeError("floats are not encoded: use Decimal or int")
    elif isinstance(value, date):  # datetime is a date too
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, not {type(key).__name__}")
            out.append(("," if index else "") + json.dumps(key, ensure_ascii=False) + ":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def decode_json(content: bytes) -> Any:
    """Parse JSON bytes with every non-integer number as ``Decimal``; empty content is None."""
    if not content.strip():
        return None
    return json.loads(content, parse_float=Decimal, parse_constant=_no_constants)
