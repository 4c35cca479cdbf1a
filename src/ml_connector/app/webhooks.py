"""Webhook registration with Ramp and Visma, and their signing secrets, as admin actions.

``register_ramp`` creates the subscription, stores its secret, and completes Ramp's challenge:
Ramp posts ``{"type": "webhooks.verification", "challenge": …}`` to the endpoint, possibly
before the create call has even answered (so before the secret is stored). While a
registration is in progress the connection's settings carry a short verification window
(``runtime/webhook_secrets.py``), during which the receiver accepts a verification event whose
signature it cannot check yet; that is safe because the challenge only proves anything when
Ramp itself accepts it back.

``set_visma_secret`` stores the signing secret of a subscription made in Visma's Developer
Portal; ``register_visma`` uses Visma's legacy subscription API where it still exists.
What the receivers do with events is the engine's (``runtime/webhooks.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import structlog
from pydantic import SecretStr

from ml_connector.app.principal import Actor, Permission
from ml_connector.clients import RampClient
from ml_connector.clients.ramp_models import WebhookSubscription
from ml_connector.errors import ConfigurationError, FatalVendorError, NotFound
from ml_connector.runtime.webhook_secrets import (
    add_webhook_secret,
    read_secrets,
    remove_webhook_secrets,
    set_verification_window,
)
from ml_connector.runtime.webhooks import VERIFICATION_TYPE
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection, EventSource, EventStatus, Store

__all__ = [
    "DEFAULT_RAMP_EVENT_TYPES",
    "NEWER_RAMP_EVENT_TYPES",
    "Registration",
    "Subscription",
    "endpoint_url",
    "list_ramp_webhooks",
    "register_ramp",
    "register_visma",
    "set_visma_secret",
    "unregister_ramp",
]

log = structlog.get_logger(__name__)

# The bill and purchase-order events in the spec's subscription enum (Aug 2025, reference §8.4).
DEFAULT_RAMP_EVENT_TYPES = (
    "bills.created",
    "bills.approved",
    "bills.paid",
    "bills.rejected",
    "purchase_orders.created",
    "purchase_orders.updated",
)
# Ramp's 2026 documentation adds these; registration asks for them too and, when Ramp refuses
# an event type it does not know, subscribes to the spec's list alone.
NEWER_RAMP_EVENT_TYPES = (
    "bills.ready_to_sync",
    "bills.updated",
    "bills.archived",
    "purchase_orders.archived",
    "vendors.updated",
)


@dataclass(frozen=True)
class Subscription:
    """A Ramp webhook subscription, and whether its signing secret is stored here."""

    id: str
    endpoint_url: str
    status: str
    event_types: list[str]
    secret_stored: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _connection(actor: Actor, runtime: Runtime, name: str, action: str) -> Connection:
    """The named connection, once the actor may administer it."""
    actor.require(Permission.ADMIN, action)
    connection = await runtime.store.get_connection(name)
    actor.require_on(Permission.ADMIN, connection.id, action)
    return connection


def endpoint_url(public_url: str, source: EventSource, connection_name: str) -> str:
    """The receiver URL a vendor must call: ``{public_url}/webhooks/{source}/{name}``."""
    if not public_url.startswith(("http://", "https://")):
        raise ConfigurationError(f"--public-url must be an http(s) URL, not {public_url!r}")
    name = quote(connection_name, safe="")
    return f"{public_url.rstrip('/')}/webhooks/{EventSource(source).value}/{name}"


@dataclass(frozen=True)
class Registration:
    """The outcome of ``register_ramp``."""

    subscription_id: str
    endpoint_url: str
    event_types: tuple[str, ...]
    verified: bool
    detail: str


async def _subscribe(
    ramp: RampClient, url: str, event_types: Sequence[str] | None
) -> tuple[WebhookSubscription, SecretStr, tuple[str, ...]]:
    """Create the subscription: for ``event_types`` as given, or (None) for the spec's list plus
    the newer types, falling back to the spec's list when Ramp refuses an unknown type."""
    if event_types is not None:
        subscription, secret = await ramp.create_webhook(url, list(event_types))
        return subscription, secret, tuple(event_types)
    preferred = (*DEFAULT_RAMP_EVENT_TYPES, *NEWER_RAMP_EVENT_TYPES)
    try:
        subscription, secret = await ramp.create_webhook(url, list(preferred))
        return subscription, secret, preferred
    except FatalVendorError as exc:
        if exc.status not in (400, 422):
            raise
        log.info(
            "ramp refused the newer event types; subscribing to the spec's list", error=str(exc)
        )
    subscription, secret = await ramp.create_webhook(url, list(DEFAULT_RAMP_EVENT_TYPES))
    return subscription, secret, DEFAULT_RAMP_EVENT_TYPES


async def register_ramp(
    actor: Actor,
    runtime: Runtime,
    name: str,
    public_url: str,
    *,
    event_types: Sequence[str] | None = None,
    timeout_s: float = 60.0,
    poll_s: float = 0.2,
) -> Registration:
    """Subscribe the connection's receiver at Ramp, store the secret, complete verification.

    ``event_types`` None asks for what Ramp accepts of the spec's bill and purchase-order types
    plus the newer ones (``NEWER_RAMP_EVENT_TYPES``); the result names the types subscribed.
    ``serve`` must be reachable at ``public_url`` (from Ramp's side) for the challenge to
    arrive. On timeout the subscription stays ``pending_verification`` and ``verified`` is
    false.
    """
    connection = await _connection(actor, runtime, name, "register a Ramp webhook")
    url = endpoint_url(public_url, EventSource.RAMP, connection.name)
    started = datetime.now(UTC)
    await set_verification_window(
        runtime.store, connection.id, started + timedelta(seconds=timeout_s)
    )
    ramp, visma = runtime.clients(connection)
    try:
        async with ramp, visma:
            subscription, secret, subscribed = await _subscribe(ramp, url, event_types)
            await add_webhook_secret(
                runtime,
                connection,
                EventSource.RAMP,
                secret.get_secret_value(),
                subscription_id=subscription.id,
            )
            verified = await _answer_challenge(
                runtime.store, ramp, connection.id, subscription.id, started, timeout_s, poll_s
            )
    finally:
        await set_verification_window(runtime.store, connection.id, None)
    detail = (
        "verified: Ramp now delivers events"
        if verified
        else f"no verification challenge arrived within {timeout_s:g} s: check that {url} "
        "reaches `ml-connector serve`, then unregister and register again"
    )
    return Registration(subscription.id, url, subscribed, verified, detail)


async def _answer_challenge(
    store: Store,
    ramp: RampClient,
    connection_id: int,
    subscription_id: str,
    started: datetime,
    timeout_s: float,
    poll_s: float,
) -> bool:
    """Send back challenges from the inbox (newest first) until Ramp accepts one."""
    deadline = time.monotonic() + timeout_s
    tried: set[int] = set()
    # A minute of slack: the receiver may run on a host whose clock is a little behind.
    since = started - timedelta(minutes=1)
    while True:
        events = await store.list_events(
            connection_id,
            source=EventSource.RAMP,
            event_type=VERIFICATION_TYPE,
            status=EventStatus.RECEIVED,
            received_since=since,
        )
        for event in events:
            challenge = event.payload.get("challenge")
            if event.id in tried or not isinstance(challenge, str):
                continue
            tried.add(event.id)
            try:
                accepted = await ramp.verify_webhook(subscription_id, challenge)
            except FatalVendorError:  # another subscription's challenge
                continue
            if accepted:
                await store.mark_event(event.id, EventStatus.PROCESSED)
                return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll_s)


async def list_ramp_webhooks(actor: Actor, runtime: Runtime, name: str) -> list[Subscription]:
    """The connection's Ramp subscriptions, each saying whether its secret is stored here."""
    connection = await _connection(actor, runtime, name, "list Ramp webhooks")
    stored = {
        s.subscription_id for s in read_secrets(runtime.credentials(connection), EventSource.RAMP)
    }
    ramp, visma = runtime.clients(connection)
    async with ramp, visma:
        subscriptions = await ramp.list_webhooks()
    return [
        Subscription(s.id, s.endpoint_url, s.status, list(s.event_types), s.id in stored)
        for s in subscriptions
    ]


async def unregister_ramp(actor: Actor, runtime: Runtime, name: str, subscription_id: str) -> int:
    """Delete the Ramp subscription and drop its secret; returns how many secrets were dropped.

    A subscription Ramp no longer knows (deleted in its dashboard) only has its secret dropped.
    """
    connection = await _connection(actor, runtime, name, "unregister a Ramp webhook")
    ramp, visma = runtime.clients(connection)
    async with ramp, visma:
        with contextlib.suppress(NotFound):
            await ramp.delete_webhook(subscription_id)
    return await remove_webhook_secrets(
        runtime, connection, EventSource.RAMP, subscription_id=subscription_id
    )


async def register_visma(
    actor: Actor, runtime: Runtime, name: str, public_url: str, events: Sequence[str]
) -> list[tuple[str, str]]:
    """Register the receiver for legacy Visma events (``supplier_changed`` …).

    Uses ``POST /resources/v1/subscription``, which Visma removed on 30.04.2025; where it is
    gone, subscribe in the Developer Portal and run ``webhooks set-visma-secret`` instead.
    Returns (event, subscription id) pairs.
    """
    connection = await _connection(actor, runtime, name, "register a Visma webhook")
    url = endpoint_url(public_url, EventSource.VISMA, connection.name)
    if not events:
        raise ConfigurationError("give at least one --event (e.g. supplier_changed)")
    ramp, visma = runtime.clients(connection)
    created = []
    async with ramp, visma:
        for event in events:
            created.append((event, await visma.create_subscription(event, url)))
    return created


async def set_visma_secret(
    actor: Actor, runtime: Runtime, name: str, secret: str, *, replace: bool = False
) -> int:
    """Store the signing secret of the connection's Visma subscription (``replace`` drops the
    secrets set before; by default they stay, for a rotation window). How many are active."""
    connection = await _connection(actor, runtime, name, "set a Visma webhook secret")
    active = await add_webhook_secret(
        runtime, connection, EventSource.VISMA, secret, replace=replace
    )
    return len(active)
