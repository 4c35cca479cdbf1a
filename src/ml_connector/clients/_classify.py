"""One mapping from a vendor's answer (or its silence) to our error tree, and the retry decision.

- ``classify(response)``: 429 → RateLimited; 5xx → RetriableVendorError, or AmbiguousOutcome for
  writes; 401/403 → AuthenticationError/PermissionDenied with what to fix; 404 → NotFound;
  412 → PreconditionFailed; other 4xx → ValidationRejected with the vendor's message verbatim and
  the field when it can be told.
- ``transport_error``: timeouts and broken connections. A write that may have reached the vendor
  becomes AmbiguousOutcome; a connection never made does not.
- ``retry_delay``: the pure in-call retry decision that stamina consults.

It reads every error shape Ramp and Visma are known to send: Ramp ``error_v2`` (with the legacy
``error`` mirror and ``fields_validation``), OAuth ``{"error", "error_description"}``, Visma
``{"message"}``/``{"Message"}``, Visma IPPException faults, and plain text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, TypedDict

import httpx

from ml_connector.errors import (
    AmbiguousOutcome,
    AuthenticationError,
    FatalVendorError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    RetriableVendorError,
    ValidationRejected,
    VendorError,
)

__all__ = [
    "SAFE_METHODS",
    "ErrorContext",
    "classify",
    "parse_retry_after",
    "retry_delay",
    "transport_error",
    "validation_in_server_error",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A field name as Visma writes it in a message: "... the field County: ..." or "field 'x'".
_FIELD_IN_MESSAGE = re.compile(r"\b(?i:field)\s+(?:'([^']+)'|([A-Z][\w.]*))")
_TEXT_LIMIT = 2000


@dataclass(frozen=True)
class ErrorContext:
    """Identifiers safe to name in an error message (never secrets)."""

    company_id: str | None = None
    tenant_id: str | None = None


# What the user must fix, per system, when credentials or scopes are refused.
_HINTS: dict[tuple[str, str], str] = {
    ("Ramp", "auth"): "Check the Ramp client id and secret of this connection.",
    ("Visma", "auth"): "Check the Visma client id and secret of this connection.",
    ("Ramp", "scope"): (
        "Add the missing scope to the app in Ramp (Developer settings) and reconnect."
    ),
    ("Visma", "scope"): (
        "Give the application the vismanet_erp_service_api read/create/update/delete scopes in "
        "the Visma Developer Portal, have the customer approve it again in the Visma App Store, "
        "and make sure the integration user has the ERP role 'API User'."
    ),
}


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _body_of(response: httpx.Response) -> Any:
    """The decoded JSON error body, else its text (vendors also answer in plain text or HTML)."""
    try:
        return json.loads(response.content, parse_float=Decimal) if response.content else None
    except ValueError:
        return response.text[:_TEXT_LIMIT].strip()


def _lookup(data: Any, key: str) -> Any:
    """A key of a JSON object, matched case-insensitively (Visma sends message and Message)."""
    if not isinstance(data, dict):
        return None
    for name, value in data.items():
        if isinstance(name, str) and name.lower() == key.lower():
            return value
    return None


class _Where(TypedDict):
    """The keyword arguments every VendorError takes about the failed call."""

    status: int | None
    method: str
    path: str
    vendor_message: str


@dataclass(frozen=True)
class _VendorText:
    message: str = ""
    code: str = ""
    field: str | None = None


def _vendor_text(body: Any) -> _VendorText:
    """The vendor's own words from any of the error shapes Ramp and Visma are known to send."""
    if isinstance(body, str):
        return _VendorText(message=body)
    if not isinstance(body, dict):
        return _VendorText()
    v2 = body.get("error_v2")
    if isinstance(v2, dict):  # Ramp
        info = v2.get("additional_info") or v2.get("fields_validation") or body.get("error")
        field = next(iter(info), None) if isinstance(info, dict) and info else None
        message = str(v2.get("message") or "")
        if not message and isinstance(info, dict) and field is not None:
            detail = info[field]
            message = f"{field}: {detail[0] if isinstance(detail, list) and detail else detail}"
        return _VendorText(message, str(v2.get("error_code") or ""), field)
    if isinstance(body.get("error"), str):  # OAuth token endpoint
        description = str(body.get("error_description") or "")
        return _VendorText(description or body["error"], body["error"])
    if _lookup(body, "ExceptionType") is not None:  # Visma IPPException
        fault = str(_lookup(body, "ExceptionFaultCode") or "")
        return _VendorText(str(_lookup(body, "ExceptionMessage") or ""), fault)
    message = str(_lookup(body, "message") or "")
    code = str(body.get("ramp_error_code") or "")
    match = _FIELD_IN_MESSAGE.search(message)
    return _VendorText(message, code, (match.group(1) or match.group(2)) if match else None)


def classify(
    response: httpx.Response,
    *,
    system: str,
    context: ErrorContext | None = None,
    scrub: Iterable[str] = (),
    idempotent: bool | None = None,
) -> VendorError | None:
    """Our error for a vendor answer, or None for a success (2xx).

    429 → RateLimited; 5xx → RetriableVendorError, or AmbiguousOutcome for writes (anything but
    GET/HEAD/OPTIONS, unless the caller says the request is ``idempotent``);
    401 → AuthenticationError; 403 → PermissionDenied; 404 → NotFound; 412 → PreconditionFailed;
    other 4xx → ValidationRejected with the vendor's message and field.
    OAuth errors and Visma company faults (IPPException 12002/12027) become AuthenticationError
    or PermissionDenied with a hint that says what to fix. Any text in ``scrub`` (our secrets) is
    masked should a vendor ever echo it.
    """
    status = response.status_code
    if 200 <= status < 300:
        return None
    context = context or ErrorContext()
    request = response.request
    text = _vendor_text(_body_of(response))
    for secret in (s for s in scrub if s):
        text = _VendorText(text.message.replace(secret, "***"), text.code, text.field)
    said = _Where(
        status=status, method=request.method, path=request.url.path, vendor_message=text.message
    )
    verbatim = f": {text.message}" if text.message else ""
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 429:
        return RateLimited(system, f"rate limited{verbatim}", retry_after=retry_after, **said)
    if status >= 500 or status == 408:
        if request.method.upper() in SAFE_METHODS if idempotent is None else idempotent:
            return RetriableVendorError(
                system, f"server error{verbatim}", retry_after=retry_after, **said
            )
        return AmbiguousOutcome(
            system,
            f"server error on a write; it may have been applied, look it up first{verbatim}",
            validation=validation_in_server_error(system, text.message),
            **said,
        )
    credential = _credential_error(system, status, text, context, said)
    if credential is not None:
        return credential
    if status == 404:
        return NotFound(system, f"not found{verbatim}", **said)
    if status == 412:
        return PreconditionFailed(
            system, f"the object changed since it was read; re-read and re-apply{verbatim}", **said
        )
    if 400 <= status < 500:
        return ValidationRejected(
            system, text.message or f"rejected with HTTP {status}", field=text.field, **said
        )
    return FatalVendorError(system, f"unexpected HTTP {status}{verbatim}", **said)


# What servers and gateways say in a 5xx that carries no validation: ASP.NET Web API's default
# body, Azure API Management's, and the plain reason phrases.
_GENERIC_SERVER_TEXTS = frozenset(
    {
        "an error has occurred.",
        "an error has occurred",
        "internal server error",
        "bad gateway",
        "service unavailable",
        "gateway timeout",
        "backend service unavailable",
    }
)


def validation_in_server_error(system: str, message: str) -> str | None:
    """Visma's validation text in a 5xx answer, or None when the 5xx says nothing specific.

    Visma answers some business refusals with 500 and its usual ``{"message": "VismaId: …"}``
    body (reference §6: "typically 400; also 500"). Generic server and gateway texts, HTML
    pages and empty bodies carry no validation.
    """
    text = message.strip()
    if system != "Visma" or not text or text.startswith("<"):
        return None
    if text.lower() in _GENERIC_SERVER_TEXTS:
        return None
    return text


def _credential_error(
    system: str, status: int, text: _VendorText, context: ErrorContext, said: _Where
) -> VendorError | None:
    """AuthenticationError or PermissionDenied, with the fix, when credentials are the problem."""
    code = text.code.lower()
    suffix = f" (vendor said: {text.message})" if text.message else ""
    if code == "invalid_client":
        message = f"{system} rejected the client id or secret (invalid_client)."
        return AuthenticationError(system, f"{message} {_HINTS[(system, 'auth')]}", **said)
    if code == "invalid_tenant":
        return AuthenticationError(
            system,
            f"{system} rejected tenant id {context.tenant_id} (invalid_tenant). Check the tenant "
            "id, that the customer approved the application in the Visma App Store, and that "
            "the integration user has the ERP role 'API User'.",
            **said,
        )
    if code in {"12002", "12027"}:
        return AuthenticationError(
            system,
            f"{system} refused company id {context.company_id} (fault {text.code}). Check the "
            "company id, and that the tenant id belongs to that company and is licensed for it."
            f"{suffix}",
            **said,
        )
    if code in {"invalid_scope", "unauthorized_client"}:
        return PermissionDenied(
            system,
            f"{system} refused the requested scopes or grant ({code}). "
            f"{_HINTS[(system, 'scope')]}{suffix}",
            **said,
        )
    if status == 401:
        message = f"{system} rejected the credentials or access token (HTTP 401)."
        hint = _HINTS.get((system, "auth"), "")
        return AuthenticationError(system, f"{message} {hint}{suffix}".strip(), **said)
    if status == 403:
        hint = _HINTS.get((system, "scope"), "")
        return PermissionDenied(
            system,
            f"{system} denied this call: the access token lacks a required scope or right"
            f"{' (' + text.code + ')' if text.code else ''}. {hint}{suffix}".strip(),
            **said,
        )
    return None


def transport_error(
    exc: BaseException, *, system: str, method: str, path: str, idempotent: bool
) -> VendorError:
    """Our error for a send that got no answer: a timeout or a broken connection.

    A connection never established (connect error or pool timeout) cannot have reached the
    vendor: plain RetriableVendorError. Anything later is ambiguous for a write.
    """
    where = _Where(status=None, method=method, path=path, vendor_message="")
    kind = "timed out" if isinstance(exc, TimeoutError | httpx.TimeoutException) else "failed"
    detail = f"request {kind} ({type(exc).__name__})"
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if idempotent or never_sent:
        return RetriableVendorError(system, detail, **where)
    return AmbiguousOutcome(
        system, f"{detail} on a write; it may have been applied, look it up first", **where
    )


def retry_delay(exc: Exception, *, idempotent: bool, max_retry_after_s: float) -> bool | float:
    """The in-call retry decision: False (give up), True (back off) or seconds to wait.

    A 429 was not processed, so it is retried for any request, waiting Retry-After when given,
    unless the vendor asks for more than ``max_retry_after_s`` (then the caller schedules it).
    Other retriable errors are retried only for idempotent requests. AmbiguousOutcome never is:
    the caller must look the object up first.
    A failure to get a token is never retried by the call that needed it: the token request
    already spent its own retries, and nesting the two would multiply them.
    """
    if getattr(exc, "while_authenticating", False):
        return False
    if isinstance(exc, RateLimited):
        if exc.retry_after is None:
            return True
        return exc.retry_after if exc.retry_after <= max_retry_after_s else False
    if isinstance(exc, AmbiguousOutcome) or not isinstance(exc, RetriableVendorError):
        return False
    if not idempotent:
        return False
    if exc.retry_after is not None:
        return exc.retry_after if exc.retry_after <= max_retry_after_s else False
    return True
