"""Ramp's ``error_v2`` error envelope, and the exception sandbox handlers raise to produce it.

Documented shape (Ramp's error-handling page, a 422)::

    {"error_v2": {"error_code": "DEVELOPER_7001", "additional_info": {"page_size": ["..."]},
                  "notes": "", "message": "Value must be between 2 and 100"},
     "error": {"page_size": ["Value must be between 2 and 100"]}}

``error`` is Ramp's legacy mirror. The sandbox fills it with the field errors when there are
some, else with ``{"message": ...}`` (a guess; clients should read ``error_v2``).

Which codes are documented and which are the sandbox's own guesses is listed on ``ErrorCode``.
The OAuth token endpoints answer differently (``{"error": "invalid_client", ...}``); see
``auth.py``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from starlette.responses import JSONResponse

__all__ = ["ErrorCode", "RampApiError", "error_body", "error_response", "fault_error_body"]


class ErrorCode(StrEnum):
    """``error_v2.error_code`` values the sandbox answers with."""

    VALIDATION = "DEVELOPER_7001"  # documented: invalid input (422 for parsing, 400 for rules)
    NO_VALID_TOKEN = "DEVELOPER_7002"  # Ramp CLI / live notes: missing or unknown token (401)
    TOKEN_EXPIRED = "DEVELOPER_7028"  # Ramp CLI / live notes: expired token (401)
    MISSING_SCOPE = "DEVELOPER_7100"  # Ramp CLI / live notes: token lacks the scope (403)
    BAD_FIELD = "DEVELOPER_7122"  # third-party notes: unknown accounting field remote id
    BAD_OPTION = "DEVELOPER_7123"  # third-party notes: unknown or inactive option remote id
    NOT_FOUND = "NOT_FOUND"  # sandbox guess: Ramp's 404 code is not documented
    RATE_LIMITED = "RATE_LIMIT_EXCEEDED"  # sandbox guess: the 429 body is not documented
    SERVER_ERROR = "INTERNAL_SERVER_ERROR"  # sandbox guess, for injected 5xx faults


class RampApiError(Exception):
    """Raised by handlers; becomes an ``error_v2`` response with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: ErrorCode = ErrorCode.VALIDATION,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.fields = fields or {}
        self.headers = headers or {}

    @classmethod
    def invalid(cls, field: str, message: str, *, status: int = 422) -> RampApiError:
        """A validation error about one field."""
        return cls(status, message, fields={field: [message]})

    @classmethod
    def not_found(cls, what: str, object_id: str) -> RampApiError:
        return cls(404, f"{what} {object_id} not found", code=ErrorCode.NOT_FOUND)


def error_body(
    message: str,
    code: ErrorCode | str,
    fields: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The ``error_v2`` envelope with its legacy ``error`` mirror."""
    info: dict[str, Any] = dict(fields or {})
    return {
        "error_v2": {
            "error_code": str(code),
            "additional_info": info,
            "notes": "",
            "message": message,
        },
        "error": info if info else {"message": message},
    }


def error_response(error: RampApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error.message, error.code, error.fields),
        status_code=error.status,
        headers=error.headers,
    )


def fault_error_body(status: int) -> tuple[bytes, dict[str, str]]:
    """``SandboxMiddleware``'s ``error_body``: injected faults answer like Ramp would."""
    if status == 429:
        code: ErrorCode = ErrorCode.RATE_LIMITED
        message = "Rate limit exceeded. Please retry later."
    elif status == 401:
        code, message = ErrorCode.NO_VALID_TOKEN, "No valid access token was provided."
    elif status == 403:
        code, message = ErrorCode.MISSING_SCOPE, "The access token lacks a required scope."
    elif status == 404:
        code, message = ErrorCode.NOT_FOUND, "Not found."
    elif status >= 500:
        code, message = ErrorCode.SERVER_ERROR, f"Internal server error (HTTP {status})."
    else:
        code, message = ErrorCode.VALIDATION, f"Request failed (HTTP {status})."
    return json.dumps(error_body(message, code)).encode(), {}
