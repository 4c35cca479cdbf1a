"""Redaction: secrets never reach the audit trail or the logs."""

from __future__ import annotations

from ml_connector.audit import REDACTED, Redactor, is_secret_key


def test_secret_keys_are_redacted_at_any_depth() -> None:
    """Values under secret-looking keys are replaced, however deeply nested."""
    data = {"a": {"client_secret": "x", "list": [{"access_token": "y"}]}, "token_type": "Bearer"}
    scrubbed = Redactor().scrub(data)
    assert scrubbed["a"]["client_secret"] == REDACTED
    assert scrubbed["a"]["list"][0]["access_token"] == REDACTED
    assert scrubbed["token_type"] == "Bearer"


def test_known_secret_values_are_removed_from_text() -> None:
    """A registered secret is cut out of any string, e.g. a vendor's error message."""
    redactor = Redactor(["s3cr3t-value-123"])
    assert redactor.scrub_text("bad secret s3cr3t-value-123 sent") == f"bad secret {REDACTED} sent"


def test_bearer_tokens_are_removed_from_text() -> None:
    """Authorization header values never survive in text."""
    assert "abcdefghijk" not in Redactor().scrub_text("Authorization: Bearer abcdefghijk123")


def test_public_identifiers_are_kept() -> None:
    """Idempotency keys and token types are not secrets."""
    assert not is_secret_key("idempotency_key")
    assert is_secret_key("X-Ramp-Signature")
