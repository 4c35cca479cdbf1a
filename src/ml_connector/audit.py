"""Audit vocabulary and redaction: what goes into a record's timeline, and what never does.

Every timeline entry and every log line passes through ``Redactor.scrub`` before it is written, so
no code path can forget it. Two rules apply:

1. Values under secret-looking keys (``client_secret``, ``access_token``, ``authorization``,
   ``password``, ``secret``, ``api_key`` …) become ``"[redacted]"``.
2. Any known secret value (each connection's client secrets and webhook secrets, registered at
   start-up) is replaced wherever it appears inside a string, even in a vendor's error text.

The hash chain that makes the timeline tamper-evident lives in the store (``store.audit``); this
module only decides content.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

__all__ = ["REDACTED", "AuditKind", "Redactor", "is_secret_key"]

REDACTED = "[redacted]"

_SECRET_KEY = re.compile(
    r"(secret|password|passwd|token|authorization|api[_-]?key|private[_-]?key|master[_-]?key"
    r"|signature|cookie|credential)",
    re.IGNORECASE,
)
# Keys that contain a secret-looking word but are safe, public identifiers.
_SAFE_KEYS = frozenset({"token_type", "idempotency_key", "expires_in", "token_url"})
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


class AuditKind(StrEnum):
    """The kinds of entries in a record's timeline."""

    EVENT_RECEIVED = "event_received"  # a webhook or poll told us about the object
    DECISION = "decision"  # what the flow decided to do, and why
    MAPPED_PAYLOAD = "mapped_payload"  # the exact document we intend to write
    API_CALL = "api_call"  # one vendor call: method, path, status, duration, redacted bodies
    RESULT = "result"  # the outcome: ids on both sides, or the error
    USER_ACTION = "user_action"  # a person replayed, excluded or edited something


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True when a mapping key names something that must never be stored or shown.

    Cached: payloads repeat the same few hundred keys, and every audit entry and log line asks.
    """
    lowered = key.lower()
    return lowered not in _SAFE_KEYS and bool(_SECRET_KEY.search(lowered))


class Redactor:
    """Scrubs secrets out of arbitrary JSON-like data and strings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._longest_first: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register secret values; very short values are ignored to avoid scrubbing noise."""
        self._secrets.update(s for s in secrets if s and len(s) >= 6)
        # Longest first, so a secret containing another is replaced whole.
        self._longest_first = tuple(sorted(self._secrets, key=len, reverse=True))

    def scrub_text(self, text: str) -> str:
        for secret in self._longest_first:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _BEARER.sub(_mask_credential, text)

    def scrub(self, value: Any) -> Any:
        """Return a copy of ``value`` with secrets removed (dicts, lists, tuples, strings)."""
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, Mapping):
            return {
                str(k): REDACTED if is_secret_key(str(k)) else self.scrub(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value


def _mask_credential(match: re.Match[str]) -> str:
    return f"{match.group(1)} {REDACTED}"
