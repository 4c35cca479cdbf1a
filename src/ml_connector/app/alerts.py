"""A connection's alerts as admin actions: where they go, what is firing, a test message.

The webhook URL is kept in the vault with the signing secret and the SMTP password; only its
masked form (scheme, host and port) is stored in plaintext and shown. Secrets are shown only as
set or unset. What fires, when, and how messages are sent is the engine's
(``runtime/alerts.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ml_connector.app.principal import Actor, Permission
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.alert_delivery import DeliveryError
from ml_connector.runtime.alerts import alert_channels, send_alert, target_of, target_secrets
from ml_connector.runtime.sealing import WEBHOOK_URL_KEY, masked_url
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection

__all__ = [
    "AlertGroupView",
    "AlertMessageView",
    "AlertsView",
    "TestResult",
    "configure",
    "describe",
    "send_test",
]


@dataclass(frozen=True)
class AlertGroupView:
    """One (connection, cause) group: firing or resolved, how often, since when."""

    cause: str
    state: str
    occurrences: int
    unsent: int
    opened_at: str
    resolved_at: str | None
    summary: str


@dataclass(frozen=True)
class AlertMessageView:
    """One outbox message on one channel, and how its sending went."""

    id: int
    channel: str
    kind: Any
    cause: Any
    state: str
    attempts: int
    last_error: str | None
    sent_at: str | None


@dataclass(frozen=True)
class AlertsView:
    """A connection's alert target (secrets only as set/unset), groups and recent messages."""

    connection: str
    webhook_url: str | None  # masked: scheme, host and port only
    webhook_secret_set: bool
    email_to: str | None
    smtp: str | None
    smtp_password_set: bool
    group_window_s: float
    groups: list[AlertGroupView]
    deliveries: list[AlertMessageView]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TestResult:
    """How a test message went on one channel."""

    __test__ = False  # not a pytest class

    channel: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _connection(actor: Actor, rt: Runtime, name: str, action: str) -> Connection:
    actor.require(Permission.ADMIN, action)
    connection = await rt.store.get_connection(name)
    actor.require_on(Permission.ADMIN, connection.id, action)
    return connection


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError("the alert webhook URL must be an http(s) URL")
    return url


async def configure(
    actor: Actor,
    rt: Runtime,
    name: str,
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    email_to: str | None = None,
    smtp_password: str | None = None,
    clear: bool = False,
) -> AlertsView:
    """Set where a connection's alerts go; what is not given is kept (unless ``clear``)."""
    connection = await _connection(actor, rt, name, "set the alert target")
    current = None if clear else await target_of(rt, connection.id)
    secrets = target_secrets(rt, current)
    if webhook_secret is not None:
        secrets["webhook_secret"] = webhook_secret
    if smtp_password is not None:
        secrets["smtp_password"] = smtp_password
    if webhook_url:
        secrets[WEBHOOK_URL_KEY] = _check_url(webhook_url)
        rt.redactor.add([webhook_url])
    url = secrets.get(WEBHOOK_URL_KEY)
    if url and not secrets.get("webhook_secret"):
        raise ConfigurationError(
            "a webhook needs a signing secret: pass --secret-from-env with a variable holding it"
        )
    email = email_to if email_to is not None else (current.email_to if current else None)
    await rt.store.set_alert_target(
        connection.id,
        webhook_hint=masked_url(url),
        email_to=email or None,
        secrets_ciphertext=rt.vault.encrypt(secrets) if secrets else None,
    )
    return await describe(actor, rt, name)


async def describe(actor: Actor, rt: Runtime, name: str) -> AlertsView:
    """A connection's alert target (secrets only as set/unset), groups and recent messages."""
    connection = await _connection(actor, rt, name, "show alerts")
    target = await target_of(rt, connection.id)
    secrets = target_secrets(rt, target)
    groups = await rt.store.list_alert_groups(connection.id)
    deliveries = await rt.store.list_alert_deliveries(connection.id, limit=20)
    settings = rt.settings
    return AlertsView(
        connection=connection.name,
        webhook_url=target.webhook_hint if target else None,
        webhook_secret_set="webhook_secret" in secrets,
        email_to=target.email_to if target else None,
        smtp=f"{settings.smtp_host}:{settings.smtp_port}" if settings.smtp_host else None,
        smtp_password_set="smtp_password" in secrets,
        group_window_s=settings.alert_group_window_s,
        groups=[
            AlertGroupView(
                cause=g.cause,
                state=g.state,
                occurrences=g.occurrences,
                unsent=g.unsent,
                opened_at=g.opened_at.isoformat(),
                resolved_at=g.resolved_at.isoformat() if g.resolved_at else None,
                summary=g.summary,
            )
            for g in groups
        ],
        deliveries=[
            AlertMessageView(
                id=d.id,
                channel=d.channel,
                kind=d.payload.get("kind"),
                cause=d.payload.get("cause"),
                state=d.state,
                attempts=d.attempts,
                last_error=d.last_error,
                sent_at=d.sent_at.isoformat() if d.sent_at else None,
            )
            for d in deliveries
        ],
    )


async def send_test(actor: Actor, rt: Runtime, name: str, *, now: datetime) -> list[TestResult]:
    """Send a test message on every configured channel now; one result per channel."""
    connection = await _connection(actor, rt, name, "send a test alert")
    target = await target_of(rt, connection.id)
    channels = alert_channels(rt, target)
    if not channels:
        raise ConfigurationError(
            f"connection {name!r} has no alert channel: use `alerts set` (e-mail also needs "
            "ML_CONNECTOR_SMTP_HOST)"
        )
    payload = {
        "source": "ml-connector",
        "kind": "test",
        "status": "test",
        "connection": connection.name,
        "cause": "test",
        "summary": f"Test alert for {connection.name}: delivery works.",
        "sent_at": now.isoformat(),
    }
    results = []
    for channel in channels:
        try:
            await send_alert(rt, target, channel, payload)
            results.append(TestResult(channel, True, "delivered"))
        except DeliveryError as exc:
            results.append(TestResult(channel, False, rt.redactor.scrub_text(str(exc))))
    return results
