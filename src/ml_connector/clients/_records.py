"""What the audit trail sees of each vendor call: ``CallRecord``, and ``redact`` to keep
secrets (client secrets, tokens, passwords) out of it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["REDACTED", "SECRET_KEYS", "CallRecord", "redact", "sent_body", "summary"]

REDACTED = "***"
# Keys whose values never leave this module in a CallRecord, whatever the endpoint.
SECRET_KEYS = frozenset(
    {"client_secret", "secret", "access_token", "refresh_token", "token", "password"}
)
_TEXT_LIMIT = 2000


@dataclass(frozen=True)
class CallRecord:
    """One vendor call as the audit trail sees it; bodies are already redacted."""

    system: str
    method: str
    path: str
    status: int | None
    duration_ms: float
    request_body: Any
    response_body: Any
    error: str | None


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of ``value`` with secret-named keys masked and any known secret text scrubbed."""
    known = [s for s in secrets if s]
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str) and key.lower() in SECRET_KEYS
            else redact(item, known)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, known) for item in value]
    if isinstance(value, str):
        for secret in known:
            value = value.replace(secret, REDACTED)
        return value
    return value


def sent_body(
    json_body: Any,
    form: Mapping[str, str] | None,
    files: Mapping[str, tuple[str, bytes, str]] | None,
) -> Any:
    if json_body is not None:
        return json_body
    if form is not None:
        return dict(form)
    if files is not None:
        return {
            name: {"filename": f[0], "bytes": len(f[1]), "content_type": f[2]}
            for name, f in files.items()
        }
    return None


def summary(response: httpx.Response) -> Any:
    """What a record shows of a body that is not JSON: short text, or only its size."""
    if not response.content:
        return None
    kind = response.headers.get("content-type", "")
    if kind.startswith("text/"):
        return response.text[:_TEXT_LIMIT]
    return f"<{len(response.content)} bytes>"
