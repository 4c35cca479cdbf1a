"""Webhook signing secrets and Ramp's verification window: what the receivers check.

A connection's webhook secrets live in its vault-encrypted credentials, under
``ramp_webhook_secrets`` and ``visma_webhook_secrets``: each a JSON list of
``{"secret", "subscription_id", "added_at"}``, so several can be active at once (two Ramp
subscriptions during a move, or an old and a new Visma secret during a rotation). Plain
strings in the list are accepted too, for secrets an operator wrote by hand.

While a Ramp registration is in progress (``app/webhooks.py``) the connection's settings carry
a short verification window, during which the receiver accepts a verification event whose
signature it cannot check yet; that is safe because the challenge only proves anything when
Ramp itself accepts it back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ml_connector.errors import ConfigurationError
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection, EventSource, Store

__all__ = [
    "SECRET_KEYS",
    "WebhookSecret",
    "add_webhook_secret",
    "read_secrets",
    "remove_webhook_secrets",
    "set_verification_window",
    "verification_window_open",
]

SECRET_KEYS: Mapping[EventSource, str] = {
    EventSource.RAMP: "ramp_webhook_secrets",
    EventSource.VISMA: "visma_webhook_secrets",
}
_WINDOW_KEY = "ramp_verification_until"


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


async def set_verification_window(store: Store, connection_id: int, until: datetime | None) -> None:
    """Open (until ``until``) or close (None) the connection's verification window."""
    connection = await store.get_connection(connection_id)
    settings = connection.settings.as_stored()
    hooks = connection.settings.webhooks.model_dump(exclude_unset=True)
    if until is None:
        hooks.pop(_WINDOW_KEY, None)
    else:
        hooks[_WINDOW_KEY] = until.isoformat()
    settings["webhooks"] = hooks
    await store.update_connection_settings(connection_id, settings)
