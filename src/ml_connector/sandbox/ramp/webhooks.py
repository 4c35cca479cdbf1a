"""Ramp webhook subscriptions and event publishing.

Lifecycle (Ramp's webhooks page, and client code that handles it):
1. ``POST /webhooks`` creates a subscription in ``pending_verification`` and returns its
   ``secret`` once. Ramp then POSTs ``{"type": "webhooks.verification", "challenge": ...}`` to
   the endpoint (signed like any event, but without ``X-Ramp-Webhook-ID``).
2. The owner sends the challenge back with ``POST /webhooks/{id}/verify``; the subscription
   turns ``active``. Only active subscriptions receive business events.

Events are thin: ``{"id", "type", "created_at", "business_id", "object": {"id"}}``. The raw
body is signed with HMAC-SHA256 keyed by the subscription secret, lowercase hex, in
``X-Ramp-Signature``; ``X-Ramp-Webhook-ID`` repeats the event id. Delivery, retries and
network faults belong to the shared ``WebhookDispatcher``.

Event types: by default the subscription accepts exactly the spec's (Aug 2025) enum
(reference §8.4), as the documented API does. ``newer_event_types`` (an option) also accepts the
2026 additions the reference lists, which the sandbox emits when subscribed to
(``bills.archived``, ``bills.updated``, ``bills.ready_to_sync``, ``purchase_orders.archived``,
``transactions.declined``, ``transactions.receipt_added``, ``transactions.synced``,
``vendors.updated``, …). Transactions and reimbursements emit the spec's own types
(``transactions.authorized|cleared|ready_to_sync``, ``reimbursements.ready_for_review|
ready_to_sync``) by default; see ``spend_ops.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ml_connector.sandbox.delivery import WebhookDispatcher
from ml_connector.sandbox.ramp.render import iso
from ml_connector.sandbox.ramp.state import RampState, new_id

__all__ = [
    "EVENT_TYPES",
    "NEWER_EVENT_TYPES",
    "SPEC_EVENT_TYPES",
    "Subscription",
    "WebhookHub",
    "required_read_scopes",
    "sign",
]

SPEC_EVENT_TYPES = frozenset(
    {
        "bills.approved",
        "bills.created",
        "bills.paid",
        "bills.rejected",
        "purchase_orders.created",
        "purchase_orders.updated",
        "reimbursements.ready_for_review",
        "reimbursements.ready_to_sync",
        "tests.test_event",
        "transactions.authorized",
        "transactions.cleared",
        "transactions.ready_for_review",
        "transactions.ready_to_sync",
        "webhooks.verification",
    }
)
NEWER_EVENT_TYPES = frozenset(
    {
        "bills.archived",
        "bills.ready_to_sync",
        "bills.updated",
        "purchase_orders.archived",
        "transactions.declined",
        "transactions.receipt_added",
        "transactions.synced",
        "vendors.activated",
        "vendors.approved",
        "vendors.updated",
    }
)
EVENT_TYPES = SPEC_EVENT_TYPES | NEWER_EVENT_TYPES
_READ_SCOPES = {
    "bills": "bills:read",
    "purchase_orders": "purchase_orders:read",
    "reimbursements": "reimbursements:read",
    "transactions": "transactions:read",
    "vendors": "vendors:read",
}


def required_read_scopes(event_types: list[str]) -> set[str]:
    """Read scopes a token needs to subscribe to ``event_types`` (Ramp's webhooks page)."""
    return {_READ_SCOPES[t.split(".")[0]] for t in event_types if t.split(".")[0] in _READ_SCOPES}


def sign(secret: str, body: bytes) -> str:
    """Ramp's signature: HMAC-SHA256 of the raw body, keyed by the secret, lowercase hex."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Subscription:
    id: str
    endpoint_url: str
    event_types: list[str]
    additional_headers: dict[str, str]
    created_at: float
    updated_at: float
    status: str = "pending_verification"  # -> "active" after the challenge round-trip
    secret: str = field(default="", repr=False)
    challenge: str = field(default="", repr=False)
    seq: int = 0

    def to_json(self, business_id: str, *, with_secret: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "endpoint_url": self.endpoint_url,
            "event_types": list(self.event_types),
            "status": self.status,
            "business_id": business_id,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
        if with_secret:
            out["additional_headers"] = dict(self.additional_headers)
            out["secret"] = self.secret
        return out


class WebhookHub:
    """Subscriptions of one sandbox business, and the events published to them."""

    def __init__(
        self,
        dispatcher: WebhookDispatcher,
        *,
        state: Callable[[], RampState],
        clock: Callable[[], float],
        newer_event_types: bool = False,
    ) -> None:
        self.dispatcher = dispatcher
        self._state = state
        self._clock = clock
        # Accept the 2026 event types on subscriptions too (an option; the spec has fewer).
        self.newer_event_types = newer_event_types

    @property
    def accepted_event_types(self) -> frozenset[str]:
        """The event types a subscription may name."""
        return EVENT_TYPES if self.newer_event_types else SPEC_EVENT_TYPES

    @property
    def subscriptions(self) -> dict[str, Subscription]:
        """The business's subscriptions (kept in its state)."""
        return self._state().subscriptions

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event published so far, delivered or not."""
        return self._state().events

    def _business_id(self) -> str:
        return self._state().business_id

    def subscribe(
        self, endpoint_url: str, event_types: list[str], additional_headers: dict[str, str]
    ) -> Subscription:
        """Create a pending subscription and send it the verification challenge."""
        now = self._clock()
        subscription = Subscription(
            id=new_id(),
            endpoint_url=endpoint_url,
            event_types=list(dict.fromkeys(event_types)),
            additional_headers=dict(additional_headers),
            created_at=now,
            updated_at=now,
            secret=secrets.token_urlsafe(32),
            challenge=secrets.token_urlsafe(24),
            seq=self._state().next_seq(),
        )
        self.subscriptions[subscription.id] = subscription
        body = _encode(
            {
                "type": "webhooks.verification",
                "challenge": subscription.challenge,
                "business_id": self._business_id(),
                "created_at": iso(now),
            }
        )
        headers = self._headers(subscription, body)
        self.dispatcher.enqueue(
            subscription.endpoint_url, body, headers, f"verification:{subscription.id}"
        )
        return subscription

    def verify(self, subscription: Subscription, challenge: str) -> bool:
        """Activate ``subscription`` when ``challenge`` matches the one sent to it."""
        if not hmac.compare_digest(subscription.challenge, challenge):
            return False
        subscription.status = "active"
        subscription.updated_at = self._clock()
        return True

    def publish(self, event_type: str, object_id: str) -> str:
        """Queue a thin event for every active subscription to ``event_type``; its id."""
        event_id = new_id()
        event: dict[str, Any] = {
            "id": event_id,
            "type": event_type,
            "created_at": iso(self._clock()),
            "business_id": self._business_id(),
            "object": {"id": object_id},
        }
        self.events.append(event)
        body = _encode(event)
        for subscription in self.subscriptions.values():
            if subscription.status != "active" or event_type not in subscription.event_types:
                continue
            headers = self._headers(subscription, body)
            headers["X-Ramp-Webhook-ID"] = event_id
            self.dispatcher.enqueue(subscription.endpoint_url, body, headers, event_id)
        return event_id

    @staticmethod
    def _headers(subscription: Subscription, body: bytes) -> dict[str, str]:
        headers = dict(subscription.additional_headers)
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "Ramp-Webhooks-Sandbox/1.0"
        headers["X-Ramp-Signature"] = sign(subscription.secret, body)
        return headers


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
