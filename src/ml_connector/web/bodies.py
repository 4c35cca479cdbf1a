"""What a webhook body says: its event id, type and object, for Ramp's and Visma's shapes.

Only bodies whose signature already verified are parsed (a Ramp challenge during registration
is the one exception, see ``web/webhooks.py``). Anything unusable is a :class:`Rejected` with
the status the receiver answers; the rejection log keeps an excerpt only of authenticated,
malformed bodies.

- **Ramp**: ``{"id", "type", "object": {"id"}}``; the id may come from ``X-Ramp-Webhook-ID``
  instead, and the two must agree. The verification event carries no id: its id is derived
  from the challenge.
- **Visma**: ``{"eventId", "eventType", "entityId"}``; the id may come from
  ``x-vwd-event-id``, the type from ``entity`` and ``action``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ml_connector.runtime.webhooks import VERIFICATION_TYPE
from ml_connector.store import EventSource

__all__ = ["Parsed", "Rejected", "is_verification", "media_type", "parse_event"]

_MAX_FIELD = 200


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
    """The parts of an event the inbox keys and queues on, and the whole body."""

    event_id: str
    type: str
    object_id: str | None
    payload: dict[str, Any]


def media_type(value: str | None) -> str:
    """The media type of a ``Content-Type`` value, without parameters, in lower case."""
    return (value or "").split(";", 1)[0].strip().lower()


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Rejected(400, f"the event has no {what}", excerpt=True)
    if len(value) > _MAX_FIELD:
        raise Rejected(400, f"the event's {what} is longer than {_MAX_FIELD} characters")
    return value


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Rejected(400, "the body is not valid JSON", excerpt=True) from None
    if not isinstance(payload, dict):
        raise Rejected(400, "the body is not a JSON object", excerpt=True)
    return payload


def _parse_ramp(payload: dict[str, Any], headers: Mapping[str, str]) -> Parsed:
    event_type = _text(payload.get("type"), "type")
    if event_type == VERIFICATION_TYPE:
        challenge = _text(payload.get("challenge"), "challenge")
        digest = hashlib.sha256(challenge.encode()).hexdigest()[:32]
        return Parsed(f"verification:{digest}", event_type, None, payload)
    header_id = headers.get("x-ramp-webhook-id")
    body_id = payload.get("id")
    if header_id and body_id and header_id != body_id:
        raise Rejected(400, "the body's id and X-Ramp-Webhook-ID differ", excerpt=True)
    event_id = _text(body_id or header_id, "id")
    target = payload.get("object")
    object_id = target.get("id") if isinstance(target, dict) else None
    object_id = _text(object_id, "object id") if object_id is not None else None
    return Parsed(event_id, event_type, object_id, payload)


def _parse_visma(payload: dict[str, Any], headers: Mapping[str, str]) -> Parsed:
    event_id = _text(payload.get("eventId") or headers.get("x-vwd-event-id"), "event id")
    event_type = payload.get("eventType")
    if not event_type and payload.get("entity") and payload.get("action"):
        event_type = f"{payload['entity']}.{payload['action']}"
    event_type = _text(event_type, "event type")
    entity_id = payload.get("entityId")
    object_id = _text(str(entity_id), "entity id") if entity_id not in (None, "") else None
    return Parsed(event_id, event_type, object_id, payload)


_PARSERS = {EventSource.RAMP: _parse_ramp, EventSource.VISMA: _parse_visma}


def parse_event(source: EventSource, body: bytes, headers: Mapping[str, str]) -> Parsed:
    """The event in a verified ``body`` (``headers`` looked up by lower-case name).

    Raises Rejected (400) when the body is not a JSON object with an id and a type.
    """
    return _PARSERS[source](_json_object(body), headers)


def is_verification(body: bytes) -> bool:
    """True when ``body`` is a JSON object of Ramp's ``webhooks.verification`` type."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(payload, dict) and payload.get("type") == VERIFICATION_TYPE
