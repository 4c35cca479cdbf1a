"""How the Visma sandbox answers: JSON encoding, error bodies, ETags and timestamps.

Error bodies follow what integrators see from Visma.net ERP (reference §6):

- business and validation errors: ``{"message": "VismaId: <uuid>. <text>"}``;
- company/licence problems: the IPPException body with ``ExceptionFaultCode`` 12002 or 12027;
- 429 from the API gateway: ``{"statusCode": 429, "message": "Rate limit is exceeded. ..."}``
  (Azure API Management's default body; the real one is undocumented, so this is a guess).

Money leaves the sandbox as JSON numbers written from ``Decimal`` (never through ``float``), so
``1250.10`` is sent as exactly ``1250.10``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.responses import Response

__all__ = [
    "ApiError",
    "dumps",
    "etag_header",
    "etag_matches",
    "format_datetime",
    "ipp_exception",
    "json_response",
    "timestamp_of",
    "visma_message",
]


class ApiError(Exception):
    """Raised by handlers to answer with ``status`` and a JSON ``body`` (None: empty body)."""

    def __init__(
        self,
        status: int,
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    @classmethod
    def bad_request(cls, text: str) -> ApiError:
        """400 with Visma's ``{"message": "VismaId: …"}`` body."""
        return cls(400, visma_message(text))

    @classmethod
    def not_found(cls, text: str) -> ApiError:
        """404 with a message body (the real body is undocumented; this shape is a guess)."""
        return cls(404, visma_message(text))

    def response(self) -> Response:
        if self.body is None:
            return Response(status_code=self.status, headers=self.headers)
        return json_response(self.body, status=self.status, headers=self.headers)


def visma_message(text: str) -> dict[str, str]:
    """The body of a Visma business error: a fresh correlation id, then the text."""
    return {"message": f"VismaId: {uuid.uuid4()}. {text}"}


def ipp_exception(fault_code: str, message: str) -> dict[str, str]:
    """The body of a Visma IPPException (company or licence problems)."""
    return {
        "ExceptionType": "IPPException",
        "ExceptionMessage": message,
        "ExceptionFaultCode": fault_code,
        "ExceptionMessageID": f"{fault_code}_{uuid.uuid4()}",
        "ExceptionDetails": "",
    }


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, Decimal):
        # Fixed-point text keeps the exact value and avoids exponents such as 1E+2.
        out.append(format(value, "f"))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        # Only control-API figures (seconds, rates) are floats; money never is.
        out.append(json.dumps(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, datetime):
        out.append(json.dumps(format_datetime(value)))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
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


def dumps(value: Any) -> bytes:
    """Encode ``value`` as JSON; ``Decimal`` becomes an exact JSON number."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode()


def json_response(
    body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        content=dumps(body),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=dict(headers or {}),
    )


def format_datetime(value: datetime) -> str:
    """Visma's read format: ISO 8601 with milliseconds and no UTC offset."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds")


def timestamp_of(version: int) -> str:
    """The ``timeStamp`` of a row version: base64 of an 8-byte big-endian counter."""
    return base64.b64encode(version.to_bytes(8, "big")).decode()


def etag_header(version: int) -> str:
    """The ETag header value: the quoted ``timeStamp``."""
    return f'"{timestamp_of(version)}"'


def etag_matches(if_match: str | None, version: int) -> bool:
    """True when an If-Match header is absent, ``*``, or names this version (quoted or not)."""
    if if_match is None or not if_match.strip():
        return True
    current = timestamp_of(version)
    for candidate in if_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag == current:
            return True
    return False
