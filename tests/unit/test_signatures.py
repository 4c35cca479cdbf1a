"""Webhook signature checks: Ramp hex and Visma base64 HMAC-SHA256 over the raw bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from ml_connector.errors import WebhookVerificationError
from ml_connector.sandbox.ramp.webhooks import sign as ramp_sandbox_sign
from ml_connector.sandbox.visma.webhooks import sign as visma_sandbox_sign
from ml_connector.web.signatures import (
    ramp_signature,
    verify_ramp,
    verify_visma,
    visma_signature,
)

BODY = b'{"id":"evt_1","type":"bills.approved","object":{"id":"b1"}}'
SECRET = "whsec_current_0123456789"
OLD_SECRET = "whsec_previous_987654321"


def test_ramp_signature_is_lowercase_hex_hmac_sha256() -> None:
    """Ramp's value is the lowercase hex HMAC-SHA256 of the body, as the sandbox computes it."""
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert ramp_signature(SECRET, BODY) == expected == ramp_sandbox_sign(SECRET, BODY)


def test_visma_signature_is_base64_hmac_sha256() -> None:
    """Visma's value is the base64 HMAC-SHA256 of the body, as the sandbox computes it."""
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    assert visma_signature(SECRET, BODY) == expected == visma_sandbox_sign(BODY, SECRET)


@pytest.mark.parametrize("header", ["X-Ramp-Signature", "X-Ramp-Webhook-Signature"])
def test_ramp_accepts_either_header(header: str) -> None:
    """Both documented header names carry a valid signature."""
    verify_ramp(BODY, {header: ramp_signature(SECRET, BODY)}, [SECRET])


def test_ramp_accepts_uppercase_hex() -> None:
    """Hex case does not matter: the digests are compared, not the strings."""
    verify_ramp(BODY, {"x-ramp-signature": ramp_signature(SECRET, BODY).upper()}, [SECRET])


def test_any_active_secret_verifies_during_rotation() -> None:
    """With two active secrets, a signature made with either one passes."""
    for secret in (SECRET, OLD_SECRET):
        verify_ramp(BODY, {"x-ramp-signature": ramp_signature(secret, BODY)}, [OLD_SECRET, SECRET])
        verify_visma(
            BODY, {"x-vwd-signature-v1": visma_signature(secret, BODY)}, [SECRET, OLD_SECRET]
        )


@pytest.mark.parametrize(
    ("headers", "secrets", "message"),
    [
        ({}, [SECRET], "missing signature header"),
        ({"x-ramp-signature": ramp_signature(OLD_SECRET, BODY)}, [SECRET], "does not match"),
        ({"x-ramp-signature": ramp_signature(SECRET, BODY + b" ")}, [SECRET], "does not match"),
        ({"x-ramp-signature": "not-hex"}, [SECRET], "does not match"),
        ({"x-ramp-signature": ""}, [SECRET], "does not match"),
        ({"x-ramp-signature": ramp_signature(SECRET, BODY)}, [], "no webhook secret"),
        ({"x-vwd-signature-v1": visma_signature(SECRET, BODY)}, [SECRET], "missing signature"),
    ],
)
def test_ramp_rejections(headers: dict[str, str], secrets: list[str], message: str) -> None:
    """Missing, foreign, tampered, garbled or unverifiable signatures raise one error type."""
    with pytest.raises(WebhookVerificationError, match=message):
        verify_ramp(BODY, headers, secrets)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing signature header"),
        ({"x-vwd-signature-v1": visma_signature(OLD_SECRET, BODY)}, "does not match"),
        ({"x-vwd-signature-v1": ramp_signature(SECRET, BODY)}, "does not match"),
        ({"x-vwd-signature-v1": "%%%"}, "does not match"),
    ],
)
def test_visma_rejections(headers: dict[str, str], message: str) -> None:
    """A Visma signature must be the base64 digest under an active secret."""
    with pytest.raises(WebhookVerificationError, match=message):
        verify_visma(BODY, headers, [SECRET])


def test_error_messages_never_carry_secrets_or_signatures() -> None:
    """The verification error names the problem, never the secret or the signature sent."""
    sent = ramp_signature(OLD_SECRET, BODY)
    with pytest.raises(WebhookVerificationError) as caught:
        verify_ramp(BODY, {"x-ramp-signature": sent}, [SECRET])
    text = str(caught.value) + repr(caught.value)
    assert SECRET not in text
    assert sent not in text
    assert ramp_signature(SECRET, BODY) not in text
