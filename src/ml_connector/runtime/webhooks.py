"""Webhooks behind the receivers: secrets, what each event type becomes, and registration.

**Secrets.** A connection's webhook secrets live in its vault-encrypted credentials, under
``ramp_webhook_secrets`` and ``visma_webhook_secrets``: each a JSON list of
``{"secret", "subscription_id", "added_at"}``, so several can be active at once (two Ramp
subscriptions during a move, or an old and a new Visma secret during a rotation).

**Dispositions.** ``dispose(source, type)`` is the pure decision of what an inbox event becomes:

| source | event types                          | becomes                                   |
|--------|--------------------------------------|-------------------------------------------|
| ramp   | ``bills.*`` (created, approved, paid,| a queued ``bill`` record; processed       |
|        | rejected; 2026: ready_to_sync,       | (the flow reads the bill afresh, so each  |
|        | updated, archived)                   | type leads to the same right work)        |
| ramp   | ``webhooks.verification``            | received, until ``register`` answers it   |
| ramp   | ``purchase_orders.*`` (created,      | a queued ``purchase_order`` record;       |
|        | updated; 2026: archived)             | processed                                 |
| visma  | Supplier, Account, Segment,          | processed: a hint to poll (chart          |
|        | Dimension, Project, and a body that  | alignment reads them from the inbox, and  |
|        | names no type (``notification``)     | every such hint, even a repeated one,     |
|        |                                      | asks for a delta poll: ``runtime.chart``) |
| visma  | APInvoice, PurchaseOrder             | received, for the flows that consume them |
| either | anything else                        | ignored (stored, never acted on)          |

``new_event`` turns a verified event and its disposition into what the receivers hand to the
store's group commit (``Store.ingest_events``: stored, queued and settled in one transaction).
``apply_event`` carries a disposition out for an event already stored; ``sweep_events``
re-applies it to events left ``received`` (stored by ``insert_event``, or by an older version).
Queueing is idempotent (one record per object), so applying twice is harmless.

**Registration.** ``register_ramp`` creates the subscription, stores its secret, and completes
Ramp's challenge: Ramp posts ``{"type": "webhooks.verification", "challenge": …}`` to the
endpoint, possibly before the create call has even answered (so before the secret is stored).
While a registration is in progress the connection's settings carry a short verification
window, during which the receiver accepts a verification event whose signature it cannot check
yet; that is safe because the challenge only proves anything when Ramp itself accepts it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import structlog
from pydantic import SecretStr

from ml_connector.audit import AuditKind
from ml_connector.clients import RampClient
from ml_connector.clients.ramp_models import WebhookSubscription
from ml_connector.errors import ConfigurationError, FatalVendorError, NotFound
from ml_connector.runtime.chart import HINT_CURSOR, is_chart_event
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import (
    Connection,
    EventSource,
    EventStatus,
    InboxEvent,
    Store,
    SyncRecord,
)
from ml_connector.store.inbox import NewEvent

__all__ = [
    "DEFAULT_RAMP_EVENT_TYPES",
    "NEWER_RAMP_EVENT_TYPES",
    "NOTIFICATION_TYPE",
    "SECRET_KEYS",
    "Applied",
    "Disposition",
    "Registration",
    "WebhookSecret",
    "add_webhook_secret",
    "apply_event",
    "dispose",
    "endpoint_url",
    "event_summary",
    "find_inbox_event",
    "list_ramp_webhooks",
    "new_event",
    "read_secrets",
    "register_ramp",
    "register_visma",
    "remove_webhook_secrets",
    "sweep_events",
    "unregister_ramp",
    "verification_window_open",
]

log = structlog.get_logger(__name__)

SECRET_KEYS: Mapping[EventSource, str] = {
    EventSource.RAMP: "ramp_webhook_secrets",
    EventSource.VISMA: "visma_webhook_secrets",
}
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
VERIFICATION_TYPE = "webhooks.verification"
NOTIFICATION_TYPE = "notification"  # a Visma notification whose body names no type
_WINDOW_KEY = "ramp_verification_until"
_VISMA_CHART_ENTITIES = frozenset({"Supplier", "Account", "Segment", "Dimension", "Project"})
_VISMA_WAITING_ENTITIES = frozenset({"APInvoice", "PurchaseOrder"})


# --- secrets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookSecret:
    """One active signing secret; ``subscription_id`` ties a Ramp secret to its subscription."""

    secret: str = field(repr=False)
    subscription_id: str | None = None
    added_at: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {
            "secret": self.secret,
            "subscription_id": self.subscription_id,
            "added_at": self.added_at,
        }


def read_secrets(credentials: Mapping[str, str], source: EventSource) -> list[WebhookSecret]:
    """The active secrets of ``source`` in decrypted credentials (none when unset).

    Plain strings in the list are accepted too, for secrets an operator wrote by hand.
    """
    raw = credentials.get(SECRET_KEYS[EventSource(source)])
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigurationError(
            f"the stored {SECRET_KEYS[source]} are not a JSON list; set them again"
        ) from None
    secrets: list[WebhookSecret] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str) and item:
            secrets.append(WebhookSecret(item))
        elif isinstance(item, dict) and isinstance(item.get("secret"), str) and item["secret"]:
            secrets.append(
                WebhookSecret(item["secret"], item.get("subscription_id"), item.get("added_at"))
            )
    return secrets


async def _update_secrets(
    runtime: Runtime,
    connection_id: int,
    source: EventSource,
    change: Callable[[list[WebhookSecret]], list[WebhookSecret]],
) -> list[WebhookSecret]:
    """Apply ``change`` to the stored secrets of ``source``; returns the secrets now stored."""
    # Read afresh: the caller's Connection may predate other credential changes.
    connection = await runtime.store.get_connection(connection_id)
    creds = runtime.credentials(connection)
    current = read_secrets(creds, source)
    secrets = change(current)
    if secrets == current:
        return current
    key = SECRET_KEYS[source]
    if secrets:
        creds[key] = json.dumps([s.as_json() for s in secrets])
    else:
        creds.pop(key, None)
    runtime.redactor.add(s.secret for s in secrets)
    await runtime.store.update_connection_credentials(connection.id, runtime.vault.encrypt(creds))
    return secrets


async def add_webhook_secret(
    runtime: Runtime,
    connection: Connection,
    source: EventSource,
    secret: str,
    *,
    subscription_id: str | None = None,
    replace: bool = False,
    now: datetime | None = None,
) -> list[WebhookSecret]:
    """Add an active secret (``replace`` drops the others); returns the secrets now active."""
    if not secret:
        raise ConfigurationError("a webhook secret cannot be empty")
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    added = WebhookSecret(secret, subscription_id, stamp)

    def change(current: list[WebhookSecret]) -> list[WebhookSecret]:
        kept = [] if replace else [s for s in current if s.secret != secret]
        return [*kept, added]

    return await _update_secrets(runtime, connection.id, source, change)


async def remove_webhook_secrets(
    runtime: Runtime, connection: Connection, source: EventSource, *, subscription_id: str
) -> int:
    """Drop the secrets of one subscription; returns how many were dropped."""
    dropped = 0

    def change(current: list[WebhookSecret]) -> list[WebhookSecret]:
        nonlocal dropped
        kept = [s for s in current if s.subscription_id != subscription_id]
        dropped = len(current) - len(kept)
        return kept

    await _update_secrets(runtime, connection.id, source, change)
    return dropped


def verification_window_open(connection: Connection, now: datetime) -> bool:
    """True while a ``register_ramp`` of this connection waits for Ramp's challenge."""
    until = connection.settings.webhooks.ramp_verification_until
    if not isinstance(until, str):
        return False
    try:
        return now < datetime.fromisoformat(until)
    except ValueError:
        return False


async def _set_window(store: Store, connection_id: int, until: datetime | None) -> None:
    connection = await store.get_connection(connection_id)
    settings = connection.settings.as_stored()
    hooks = connection.settings.webhooks.model_dump(exclude_unset=True)
    if until is None:
        hooks.pop(_WINDOW_KEY, None)
    else:
        hooks[_WINDOW_KEY] = until.isoformat()
    settings["webhooks"] = hooks
    await store.update_connection_settings(connection_id, settings)


# --- what events become ---------------------------------------------------------------------


@dataclass(frozen=True)
class Disposition:
    """What an event becomes: work for ``object_type`` (when set), and its inbox status."""

    status: EventStatus
    object_type: str | None = None


def _visma_hint(event_type: str) -> bool:
    """True for a Visma notification that asks for a chart poll (see the table above)."""
    return event_type == NOTIFICATION_TYPE or is_chart_event(event_type)


def dispose(source: EventSource, event_type: str) -> Disposition:
    """The disposition of an event type (the table in the module docstring)."""
    if EventSource(source) is EventSource.RAMP:
        family = event_type.split(".", 1)[0]
        if family == "bills":
            return Disposition(EventStatus.PROCESSED, "bill")
        if family == "purchase_orders":
            return Disposition(EventStatus.PROCESSED, "purchase_order")
        if event_type == VERIFICATION_TYPE:
            return Disposition(EventStatus.RECEIVED)
        return Disposition(EventStatus.IGNORED)
    entity = event_type.split(".", 1)[0]
    if entity in _VISMA_CHART_ENTITIES or event_type == NOTIFICATION_TYPE:
        return Disposition(EventStatus.PROCESSED)
    if entity in _VISMA_WAITING_ENTITIES:
        return Disposition(EventStatus.RECEIVED)
    return Disposition(EventStatus.IGNORED)


def new_event(
    connection_id: int,
    source: EventSource,
    event_id: str,
    event_type: str,
    object_id: str | None,
    payload: dict[str, Any],
    *,
    signed_time: bool = True,
) -> NewEvent:
    """A verified event, settled as its disposition says (what ``apply_event`` would do).

    ``signed_time`` False (nothing signed dates the event) has the inbox check the event
    against the keys of pruned events, so an old replay is not taken for new. A Visma hint to
    poll stamps the chart's hint cursor, repeated or not. Raises StoreError when an id or type
    is empty or longer than the inbox keeps.
    """
    disposition = dispose(source, event_type)
    status, object_type = disposition.status, disposition.object_type
    if object_type is not None and object_id is None:
        status, object_type = EventStatus.IGNORED, None  # nothing to fetch; kept for the record
    hint = HINT_CURSOR if source is EventSource.VISMA and _visma_hint(event_type) else None
    return NewEvent(
        connection_id,
        source,
        event_id,
        event_type,
        object_id,
        payload,
        status,
        object_type,
        check_seen=not signed_time,
        poll_hint=hint,
    )


@dataclass(frozen=True)
class Applied:
    """What ``apply_event`` did: the event's status afterwards, and the record it queued."""

    status: EventStatus
    record: SyncRecord | None = None


async def apply_event(store: Store, event: InboxEvent) -> Applied:
    """Carry out the event's disposition: queue its work, note it in the audit trail, settle it.

    Bill and purchase-order events re-queue a record that already finished (``replay``),
    because the object may have changed; the flow then finds nothing to do when it has not.
    """
    disposition = dispose(event.source, event.type)
    record = None
    status = disposition.status
    if disposition.object_type is not None:
        if event.object_id is None:
            status = EventStatus.IGNORED  # nothing to fetch; kept for the record
        else:
            record = await store.upsert_record(
                event.connection_id,
                disposition.object_type,
                event.object_id,
                reason=f"webhook {event.type}",
                replay=True,
            )
            await store.append_audit(
                event.connection_id,
                record.id,
                AuditKind.EVENT_RECEIVED,
                {
                    "source": str(event.source),
                    "event_id": event.event_id,
                    "type": event.type,
                    "inbox_id": event.id,
                },
            )
    if status is not EventStatus.RECEIVED and event.status is EventStatus.RECEIVED:
        await store.mark_event(event.id, status)
    return Applied(status, record)


async def sweep_events(
    store: Store, *, older_than_s: float, now: datetime | None = None, batch: int = 200
) -> int:
    """Apply the events left ``received`` for longer than ``older_than_s`` that should not be.

    Events waiting on purpose (verification challenges) are left alone.
    Returns how many events were applied.
    """
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=older_than_s)
    applied, after = 0, 0
    while True:
        events = await store.list_events(
            status=EventStatus.RECEIVED,
            received_before=cutoff,
            after_id=after,
            limit=batch,
            oldest_first=True,
        )
        for event in events:
            if dispose(event.source, event.type).status is not EventStatus.RECEIVED:
                await apply_event(store, event)
                applied += 1
        if len(events) < batch:
            return applied
        after = events[-1].id


# --- registration ------------------------------------------------------------------------------


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
    connection = await runtime.store.get_connection(name)
    url = endpoint_url(public_url, EventSource.RAMP, connection.name)
    started = datetime.now(UTC)
    await _set_window(runtime.store, connection.id, started + timedelta(seconds=timeout_s))
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
        await _set_window(runtime.store, connection.id, None)
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


async def list_ramp_webhooks(runtime: Runtime, name: str) -> list[dict[str, Any]]:
    """The connection's Ramp subscriptions, each saying whether its secret is stored here."""
    connection = await runtime.store.get_connection(name)
    stored = {
        s.subscription_id for s in read_secrets(runtime.credentials(connection), EventSource.RAMP)
    }
    ramp, visma = runtime.clients(connection)
    async with ramp, visma:
        subscriptions = await ramp.list_webhooks()
    return [
        {
            "id": s.id,
            "endpoint_url": s.endpoint_url,
            "status": s.status,
            "event_types": list(s.event_types),
            "secret_stored": s.id in stored,
        }
        for s in subscriptions
    ]


async def unregister_ramp(runtime: Runtime, name: str, subscription_id: str) -> int:
    """Delete the Ramp subscription and drop its secret; returns how many secrets were dropped.

    A subscription Ramp no longer knows (deleted in its dashboard) only has its secret dropped.
    """
    connection = await runtime.store.get_connection(name)
    ramp, visma = runtime.clients(connection)
    async with ramp, visma:
        with contextlib.suppress(NotFound):
            await ramp.delete_webhook(subscription_id)
    return await remove_webhook_secrets(
        runtime, connection, EventSource.RAMP, subscription_id=subscription_id
    )


async def register_visma(
    runtime: Runtime, name: str, public_url: str, events: Sequence[str]
) -> list[tuple[str, str]]:
    """Register the receiver for legacy Visma events (``supplier_changed`` …).

    Uses ``POST /resources/v1/subscription``, which Visma removed on 30.04.2025; where it is
    gone, subscribe in the Developer Portal and run ``webhooks set-visma-secret`` instead.
    Returns (event, subscription id) pairs.
    """
    connection = await runtime.store.get_connection(name)
    url = endpoint_url(public_url, EventSource.VISMA, connection.name)
    if not events:
        raise ConfigurationError("give at least one --event (e.g. supplier_changed)")
    ramp, visma = runtime.clients(connection)
    created = []
    async with ramp, visma:
        for event in events:
            created.append((event, await visma.create_subscription(event, url)))
    return created


# --- reading the inbox --------------------------------------------------------------------------


async def find_inbox_event(runtime: Runtime, name: str, ident: str) -> InboxEvent:
    """One of the connection's events, by inbox id (digits) or by the vendor's event id."""
    connection = await runtime.store.get_connection(name)
    if ident.isdigit():
        event = await runtime.store.get_event(int(ident))
        if event.connection_id == connection.id:
            return event
    else:
        for source in EventSource:
            found = await runtime.store.find_event(connection.id, source, ident)
            if found is not None:
                return found
    raise ConfigurationError(f"connection {connection.name!r} has no event {ident!r}")


def event_summary(event: InboxEvent, *, payload: bool = False) -> dict[str, Any]:
    """An inbox event as plain JSON-able data (the payload only when asked for)."""
    out: dict[str, Any] = {
        "id": event.id,
        "source": str(event.source),
        "event_id": event.event_id,
        "type": event.type,
        "object_id": event.object_id,
        "status": str(event.status),
        "received_at": event.received_at.isoformat(),
        "processed_at": event.processed_at.isoformat() if event.processed_at else None,
    }
    if payload:
        out["payload"] = event.payload
    return out
