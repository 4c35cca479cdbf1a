"""What a webhook body says: its event id, type, object and signed time, for Ramp and Visma.

Only bodies whose signature already verified are parsed (a Ramp challenge during registration
is the one exception, see ``web/webhooks.py``). Everything that keys or dates an event comes
from the signed bytes: both vendors sign the body only, so no header is trusted for it.

- **Ramp**: ``{"id", "type", "created_at", "object": {"id"}}`` (reference §8.3). The event id is
  the body's ``id``; ``X-Ramp-Webhook-ID`` is not covered by the signature and is ignored. A
  body without an id is keyed on the sha256 of its bytes. ``created_at`` is the signed time the
  receiver checks against its tolerance window. The verification event's id is derived from
  its challenge. A body that is not a JSON object with a ``type`` is refused (400): Ramp
  documents its envelope.
- **Visma**: the body is not documented (reference §10.1), so a signed notification is only a
  hint to poll and is never refused for its shape. Its id is the body's ``eventId`` when there
  is one, else the sha256 of the signed bytes (``x-vwd-event-id`` is not signed); its type is
  ``eventType``, else ``entity.action``, ``entity``, or ``notification``; its object is
  ``entityId`` or the last segment of ``resourceUri``; its signed time is ``timestamp`` when
  that parses. A body that is not a JSON object is kept as text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ml_connector.runtime.webhooks import NOTIFICATION_TYPE, VERIFICATION_TYPE, EventSource

__all__ = [
    "NOTIFICATION_TYPE",
    "Parsed",
    "Rejected",
    "body_key",
    "is_verification",
    "media_type",
    "parse_event",
]

_MAX_FIELD = 200
_MAX_TEXT = 2000  # how much of a Visma body that is not JSON is kept


class Rejected(Exception):
    """A request that fails a step: answered with ``status`` and logged as a rejection.

    ``excerpt`` keeps a short excerpt of the body; only authenticated, malformed bodies get one.
    """

    def __init__(self, status: int, reason: str, *, excerpt: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.excerpt = excerpt


@dataclass(frozen=True, slots=True)
class Parsed:
    """The parts of an event the inbox keys and queues on, the whole body, and the time the
    vendor signed into it (None when the body carries none)."""

    event_id: str
    type: str
    object_id: str | None
    payload: dict[str, Any]
    signed_at: datetime | None = None


def media_type(value: str | None) -> str:
    """The media type of a ``Content-Type`` value, without parameters, in lower case."""
    return (value or "").split(";", 1)[0].strip().lower()


def body_key(body: bytes) -> str:
    """The event id of a signed body that names none: a digest of the signed bytes."""
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Rejected(400, f"the event has no {what}", excerpt=True)
    if len(value) > _MAX_FIELD:
        raise Rejected(400, f"the event's {what} is longer than {_MAX_FIELD} characters")
    return value


def _short(value: Any) -> str | None:
    """``value`` as a usable key (a string or number of 1-200 characters), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if 0 < len(text) <= _MAX_FIELD else None


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset; naive means UTC), or None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Rejected(400, "the body is not valid JSON", excerpt=True) from None
    if not isinstance(payload, dict):
        raise Rejected(400, "the body is not a JSON object", excerpt=True)
    return payload


def _parse_ramp(body: bytes) -> Parsed:
    payload = _json_object(body)
    event_type = _text(payload.get("type"), "type")
    signed_at = _instant(payload.get("created_at"))
    if event_type == VERIFICATION_TYPE:
        challenge = _text(payload.get("challenge"), "challenge")
        digest = hashlib.sha256(challenge.encode()).hexdigest()[:32]
        return Parsed(f"verification:{digest}", event_type, None, payload, signed_at)
    body_id = payload.get("id")
    event_id = _text(body_id, "id") if body_id not in (None, "") else body_key(body)
    target = payload.get("object")
    object_id = target.get("id") if isinstance(target, dict) else None
    object_id = _text(object_id, "object id") if object_id is not None else None
    return Parsed(event_id, event_type, object_id, payload, signed_at)


def _visma_payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"unparsed": body[:_MAX_TEXT].decode("utf-8", errors="replace")}
    return payload if isinstance(payload, dict) else {"unparsed": payload}


def _visma_type(payload: Mapping[str, Any]) -> str:
    entity, action = _short(payload.get("entity")), _short(payload.get("action"))
    for candidate in (
        _short(payload.get("eventType")),
        f"{entity}.{action}" if entity and action else None,
        entity,
    ):
        if candidate is not None and len(candidate) <= _MAX_FIELD:
            return candidate
    return NOTIFICATION_TYPE


def _visma_object(payload: Mapping[str, Any]) -> str | None:
    found = _short(payload.get("entityId"))
    if found is not None:
        return found
    uri = payload.get("resourceUri")
    if isinstance(uri, str):
        return _short(urlsplit(uri).path.rstrip("/").rsplit("/", 1)[-1])
    return None


def _parse_visma(body: bytes) -> Parsed:
    payload = _visma_payload(body)
    event_id = _short(payload.get("eventId")) or body_key(body)
    signed_at = _instant(payload.get("timestamp"))
    return Parsed(event_id, _visma_type(payload), _visma_object(payload), payload, signed_at)


def parse_event(source: EventSource, body: bytes, headers: Mapping[str, str]) -> Parsed:
    """The event in a verified ``body``. ``headers`` are not read: none of them is signed.

    Raises Rejected (400) for a Ramp body that is not a JSON object with a type; a Visma body
    always parses.
    """
    if EventSource(source) is EventSource.RAMP:
        return _parse_ramp(body)
    return _parse_visma(body)


def is_verification(body: bytes) -> bool:
    """True when ``body`` is a JSON object of Ramp's ``webhooks.verification`` type."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(payload, dict) and payload.get("type") == VERIFICATION_TYPE
