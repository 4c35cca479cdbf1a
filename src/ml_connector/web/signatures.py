"""Webhook signatures: HMAC-SHA256 over the raw request body, compared in constant time.

- **Ramp** signs with the subscription's secret and sends the lowercase hex digest in
  ``X-Ramp-Signature`` (older documentation: ``X-Ramp-Webhook-Signature``; both are read).
- **Visma**'s webhook dispatcher signs with the secret from the Developer Portal and sends the
  base64 digest in ``x-vwd-signature-v1``.

Both are checked over the exact bytes received, before anything parses them. A connection may
have several active secrets at once (during a rotation, or with two subscriptions); a request
passes when any of its signatures matches any of them. Every failure raises the one
:class:`~ml_connector.errors.WebhookVerificationError`, whose message names what was wrong but
never a secret or a signature value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence

from ml_connector.errors import WebhookVerificationError

__all__ = [
    "RAMP_SIGNATURE_HEADERS",
    "VISMA_SIGNATURE_HEADER",
    "ramp_signature",
    "verify_ramp",
    "verify_visma",
    "visma_signature",
]

RAMP_SIGNATURE_HEADERS = ("x-ramp-signature", "x-ramp-webhook-signature")
VISMA_SIGNATURE_HEADER = "x-vwd-signature-v1"

Decoder = Callable[[str], bytes]


def _digest(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()


def ramp_signature(secret: str, body: bytes) -> str:
    """The value Ramp puts in ``X-Ramp-Signature`` for ``body``: lowercase hex."""
    return _digest(secret, body).hex()


def visma_signature(secret: str, body: bytes) -> str:
    """The value Visma puts in ``x-vwd-signature-v1`` for ``body``: base64."""
    return base64.b64encode(_digest(secret, body)).decode("ascii")


def _from_hex(value: str) -> bytes:
    return bytes.fromhex(value)


def _from_base64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _given(headers: Mapping[str, str], names: Iterable[str], decode: Decoder) -> list[bytes]:
    """The decodable signatures among ``names``; a value that does not decode never matches."""
    lowered = {key.lower(): value for key, value in headers.items()}
    found: list[bytes] = []
    present = False
    for name in names:
        value = lowered.get(name)
        if value is None:
            continue
        present = True
        try:
            found.append(decode(value.strip()))
        except (ValueError, binascii.Error):
            continue
    if not present:
        raise WebhookVerificationError(f"missing signature header ({', '.join(names)})")
    return found


def _verify(body: bytes, given: list[bytes], secrets: Sequence[str]) -> None:
    if not secrets:
        raise WebhookVerificationError("no webhook secret is configured for this connection")
    matched = False
    # Every pair is compared, so the time taken does not depend on where a match is.
    for secret in secrets:
        expected = _digest(secret, body)
        for signature in given:
            matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise WebhookVerificationError("signature does not match any active webhook secret")


def verify_ramp(body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> None:
    """Check a Ramp delivery; raises WebhookVerificationError unless a signature matches."""
    _verify(body, _given(headers, RAMP_SIGNATURE_HEADERS, _from_hex), secrets)


def verify_visma(body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> None:
    """Check a Visma delivery; raises WebhookVerificationError unless the signature matches."""
    _verify(body, _given(headers, (VISMA_SIGNATURE_HEADER,), _from_base64), secrets)
