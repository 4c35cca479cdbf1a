"""Operator alerts: one message when something breaks, one when it recovers, no storms.

A group is (connection, cause). Causes:

- ``health``: the connection is paused (its credentials were rejected, or a person paused it).
  It recovers when the connection is active again.
- ``attention:<error code>``: records of the connection reached ``needs_attention`` (after
  their final retry, or at once for errors no retry can fix), grouped by error code. It
  recovers when no record of the connection needs attention for that code any more.

Every pass of the schedule loop (:func:`evaluate`) snapshots the store and :func:`plan` decides,
purely: a group that starts firing sends ``firing``; more occurrences while it fires are
counted, and reported in one ``repeat`` message at most once per ``alert_group_window_s``; when
it clears, ``resolved`` is sent once. Messages go into the outbox, one row per channel (signed
webhook, and e-mail when SMTP is configured), and :func:`deliver_due` sends them with
exponential backoff, from the schedule loop, never from the worker.

Setting a connection's alert target, showing it and sending a test message are an admin's
actions, in ``app/alerts.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

import structlog

from ml_connector.audit import Redactor
from ml_connector.runtime.alert_delivery import (
    DeliveryError,
    SmtpServer,
    send_email,
    send_webhook,
)
from ml_connector.runtime.sealing import WEBHOOK_URL_KEY
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import ConnectionStatus, Store
from ml_connector.store.alert_outbox import AlertDelivery
from ml_connector.store.alerts import (
    AlertGroup,
    AlertPlan,
    AlertSnapshot,
    AlertTarget,
    OutboxMessage,
)

__all__ = [
    "HEALTH",
    "AlertPolicy",
    "Observation",
    "alert_channels",
    "deliver_due",
    "evaluate",
    "plan",
    "send_alert",
    "step",
    "target_of",
    "target_secrets",
]

log = structlog.get_logger(__name__)

HEALTH = "health"
_ATTENTION = "attention:"


@dataclass(frozen=True)
class AlertPolicy:
    """How alerts are grouped and which channels exist."""

    window: timedelta
    email_enabled: bool = False


@dataclass(frozen=True)
class Observation:
    """What a pass sees of one cause now: how many are current, and what to say about it."""

    count: int  # current occurrences (records needing attention); 0: only still outstanding
    summary: str
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)
    condition: bool = False  # a state (health), not a number of occurrences


def step(
    group: AlertGroup | None,
    seen: Observation | None,
    *,
    connection_id: int,
    cause: str,
    now: datetime,
    window: timedelta,
) -> tuple[AlertGroup | None, str | None]:
    """The group after this pass, and the message kind to send (``firing``, ``repeat``,
    ``resolved``) or None. Pure: the whole grouping policy is here."""
    firing = group is not None and group.state == "firing"
    if seen is None:
        if group is None or not firing:
            return group, None
        resolved = dataclasses.replace(
            group, state="resolved", resolved_at=now, observed=0, unsent=0, last_sent_at=now
        )
        return resolved, "resolved"
    current = 1 if seen.condition else seen.count
    if (group is None or not firing) and current == 0:
        return group, None  # replayed records still waiting: nothing has failed anew
    if group is None or not firing:
        opened = AlertGroup(
            connection_id=connection_id,
            cause=cause,
            state="firing",
            summary=seen.summary,
            occurrences=current,
            unsent=0,
            observed=current,
            opened_at=now,
            last_seen_at=now,
            last_sent_at=now,
            resolved_at=None,
            id=group.id if group is not None else None,
        )
        return opened, "firing"
    new = 0 if seen.condition else max(0, seen.count - group.observed)
    updated = dataclasses.replace(
        group,
        summary=seen.summary if current else group.summary,
        occurrences=group.occurrences + new,
        unsent=group.unsent + new,
        observed=current,
        last_seen_at=now if new else group.last_seen_at,
    )
    last_sent = updated.last_sent_at or updated.opened_at
    if updated.unsent and now - last_sent >= window:
        return dataclasses.replace(updated, unsent=0, last_sent_at=now), "repeat"
    return updated, None


def _observations(snapshot: AlertSnapshot, connection_id: int) -> dict[str, Observation]:
    found: dict[str, Observation] = {}
    name, status, health = snapshot.connections[connection_id]
    if status == ConnectionStatus.PAUSED:
        found[HEALTH] = Observation(
            1, f"Connection {name} is paused: {health or 'no reason given'}", condition=True
        )
    for (cid, code), group in snapshot.attention.items():
        if cid != connection_id:
            continue
        code = code or "unknown"
        if group.count == 0:
            found[_ATTENTION + code] = Observation(
                0, f"{group.outstanding} replayed record(s) on {name} wait to run again ({code})"
            )
            continue
        plural = "record needs" if group.count == 1 else "records need"
        found[_ATTENTION + code] = Observation(
            group.count,
            f"{group.count} {plural} attention on {name} ({code}): {group.error}",
            {"object_type": group.object_type, "object_id": group.object_id},
        )
    return found


def _payload(
    name: str, group: AlertGroup, kind: str, seen: Observation | None, since: int
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "source": "ml-connector",
        "kind": kind,
        "status": "resolved" if kind == "resolved" else "firing",
        "connection": name,
        "cause": group.cause,
        "summary": group.summary if kind != "resolved" else f"Resolved: {group.summary}",
        "occurrences": group.occurrences,
        "opened_at": group.opened_at.isoformat(),
        "resolved_at": group.resolved_at.isoformat() if group.resolved_at else None,
    }
    if kind == "repeat":
        payload["since_last_message"] = since
    if seen is not None and seen.detail:
        payload["example"] = dict(seen.detail)
    return payload


def _channels(target: AlertTarget | None, policy: AlertPolicy) -> list[str]:
    if target is None:
        return []
    channels = ["webhook"] if target.webhook_hint else []
    if target.email_to and policy.email_enabled:
        channels.append("email")
    return channels


def plan(
    snapshot: AlertSnapshot, *, now: datetime, policy: AlertPolicy, redactor: Redactor
) -> AlertPlan:
    """Decide every group's next state and the messages to queue (pure)."""
    result = AlertPlan()
    for cid in sorted(snapshot.connections):
        name = snapshot.connections[cid][0]
        seen_now = _observations(snapshot, cid)
        causes = set(seen_now) | {cause for (gcid, cause) in snapshot.groups if gcid == cid}
        for cause in sorted(causes):
            before = snapshot.groups.get((cid, cause))
            seen = seen_now.get(cause)
            after, kind = step(
                before, seen, connection_id=cid, cause=cause, now=now, window=policy.window
            )
            if after is None or after == before:
                continue
            after = dataclasses.replace(after, summary=redactor.scrub_text(after.summary))
            result.groups.append(after)
            if kind is None:
                continue
            since = after.occurrences - before.occurrences + before.unsent if before else 0
            payload = redactor.scrub(_payload(name, after, kind, seen, since))
            for channel in _channels(snapshot.targets.get(cid), policy):
                result.messages.append(OutboxMessage(cid, cause, channel, payload))
    return result


def _policy(rt: Runtime) -> AlertPolicy:
    settings = rt.settings
    return AlertPolicy(
        timedelta(seconds=settings.alert_group_window_s), email_enabled=bool(settings.smtp_host)
    )


_last_pass: WeakKeyDictionary[Store, float] = WeakKeyDictionary()


async def evaluate(rt: Runtime, *, now: datetime, force: bool = False) -> AlertPlan:
    """One alert pass: update the groups and queue their messages (atomically).

    Runs at most every ``alert_eval_interval_s`` per store unless ``force``d.
    """
    started = time.monotonic()
    last = _last_pass.get(rt.store)
    if not force and last is not None and started - last < rt.settings.alert_eval_interval_s:
        return AlertPlan()
    _last_pass[rt.store] = started
    policy = _policy(rt)
    decided = await rt.store.run_alert_pass(
        lambda snapshot: plan(snapshot, now=now, policy=policy, redactor=rt.redactor), now=now
    )
    for message in decided.messages:
        log.info(
            "alert queued",
            connection=message.payload.get("connection"),
            cause=message.cause,
            kind=message.payload.get("kind"),
            channel=message.channel,
        )
    return decided


def target_secrets(rt: Runtime, target: AlertTarget | None) -> dict[str, str]:
    """The target's decrypted secrets (webhook URL and secret, SMTP password), redacted."""
    if target is None or target.secrets_ciphertext is None:
        return {}
    secrets = rt.vault.decrypt(target.secrets_ciphertext)
    rt.redactor.add(secrets.values())
    return secrets


def _smtp(rt: Runtime, secrets: dict[str, str]) -> SmtpServer | None:
    settings = rt.settings
    if not settings.smtp_host:
        return None
    return SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=secrets.get("smtp_password"),
    )


async def send_alert(rt: Runtime, target: AlertTarget | None, channel: str, payload: Any) -> None:
    """Send one message on one channel; raises DeliveryError (scrubbed) when it fails."""
    if target is None:
        raise DeliveryError("no alert target is configured")
    secrets = target_secrets(rt, target)
    timeout = rt.settings.alert_timeout_s
    if channel == "webhook":
        url = secrets.get(WEBHOOK_URL_KEY)
        if not url:
            raise DeliveryError("no webhook URL is configured")
        await send_webhook(
            url,
            payload,
            secret=secrets.get("webhook_secret"),
            timestamp=int(time.time()),
            timeout_s=timeout,
        )
        return
    server = _smtp(rt, secrets)
    if server is None or not target.email_to:
        raise DeliveryError("e-mail is not configured (smtp_host and an address are needed)")
    await send_email(server, target.email_to, payload, timeout_s=timeout)


async def _deliver_one(rt: Runtime, delivery: AlertDelivery, now: datetime) -> None:
    target = await rt.store.get_alert_target(delivery.connection_id)
    try:
        await send_alert(rt, target, delivery.channel, delivery.payload)
    except DeliveryError as exc:
        error = rt.redactor.scrub_text(str(exc))
        retry_at = None
        if delivery.attempts < rt.settings.alert_max_attempts:
            delay = min(rt.settings.alert_retry_base_s * 2 ** (delivery.attempts - 1), 3600.0)
            retry_at = now + timedelta(seconds=delay)
        await rt.store.finish_alert_delivery(delivery.id, error=error, retry_at=retry_at, now=now)
        log.warning(
            "alert delivery failed",
            channel=delivery.channel,
            attempts=delivery.attempts,
            gave_up=retry_at is None,
            error=error,
        )
        return
    await rt.store.finish_alert_delivery(delivery.id, error=None, now=now)


async def deliver_due(rt: Runtime, *, now: datetime, limit: int = 20) -> int:
    """Send the outbox messages that are due (concurrently); returns how many were tried."""
    lease = rt.settings.alert_timeout_s * 3
    due = await rt.store.claim_alert_deliveries(lease_s=lease, limit=limit, now=now)
    await asyncio.gather(*(_deliver_one(rt, d, now) for d in due))
    return len(due)


async def target_of(rt: Runtime, connection_id: int) -> AlertTarget | None:
    """Where the connection's alerts go (None: nowhere yet)."""
    return await rt.store.get_alert_target(connection_id)


def alert_channels(rt: Runtime, target: AlertTarget | None) -> list[str]:
    """The channels an alert to ``target`` goes out on (e-mail only when SMTP is set up)."""
    return _channels(target, _policy(rt))
