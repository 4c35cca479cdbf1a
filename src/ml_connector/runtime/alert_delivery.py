"""Sending one alert message: a signed webhook POST, or an e-mail over SMTP.

Alert receivers are the operator's own endpoints, not vendor APIs, so this is the one place
outside ``clients/`` that speaks HTTP. The webhook body is canonical JSON; its signature is

    X-ML-Connector-Timestamp: <unix seconds>
    X-ML-Connector-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

so a receiver can check both origin and freshness (:func:`verify_signature`). Payloads never
carry secrets; error messages are scrubbed before they are stored or logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryError",
    "SmtpServer",
    "canonical_body",
    "send_email",
    "send_webhook",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-ML-Connector-Signature"
TIMESTAMP_HEADER = "X-ML-Connector-Timestamp"


class DeliveryError(Exception):
    """A message could not be delivered this time (the outbox retries it)."""


def canonical_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes posted: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float,
    tolerance_s: float = 300.0,
) -> bool:
    """True when ``signature`` matches and the timestamp is within ``tolerance_s`` of ``now``."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)


async def send_webhook(
    url: str,
    payload: Mapping[str, Any],
    *,
    secret: str | None,
    timestamp: int,
    timeout_s: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """POST the payload; returns the HTTP status. Raises DeliveryError unless it is 2xx."""
    body = canonical_body(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ml-connector-alerts",
        TIMESTAMP_HEADER: str(timestamp),
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    try:
        async with httpx.AsyncClient(transport=transport, timeout=timeout_s) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"webhook answered HTTP {response.status_code}")
    return response.status_code


@dataclass(frozen=True)
class SmtpServer:
    """Where alert mail goes out (from settings; the password from the vault)."""

    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        return f"SmtpServer(host={self.host!r}, port={self.port}, sender={self.sender!r})"


def _subject(payload: Mapping[str, Any]) -> str:
    kind = str(payload.get("kind", "alert")).upper()
    return f"[ml-connector] {kind}: {payload.get('connection')} ({payload.get('cause')})"


def _text(payload: Mapping[str, Any]) -> str:
    lines = [str(payload.get("summary", "")), ""]
    lines += [f"{key}: {value}" for key, value in sorted(payload.items()) if key != "summary"]
    return "\n".join(lines) + "\n"


def _send_blocking(server: SmtpServer, message: EmailMessage, timeout_s: float) -> None:
    with smtplib.SMTP(server.host, server.port, timeout=timeout_s) as smtp:
        if server.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if server.username:
            smtp.login(server.username, server.password or "")
        smtp.send_message(message)


async def send_email(
    server: SmtpServer, to: str, payload: Mapping[str, Any], *, timeout_s: float
) -> None:
    """Send the alert as a plain-text mail (in a thread: smtplib blocks)."""
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = to
    message["Subject"] = _subject(payload)
    message.set_content(_text(payload))
    try:
        await asyncio.to_thread(_send_blocking, server, message, timeout_s)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP delivery failed: {type(exc).__name__}") from exc
