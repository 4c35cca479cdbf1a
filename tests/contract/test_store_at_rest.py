"""Store contract, secrets at rest: sealing legacy plaintext alert URLs and rotating alert
secrets, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from ml_connector.store import Store
from ml_connector.store.testing import ScratchDatabase

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LEGACY = "https://hooks.example.com/services/T1/B2/tok-legacy-123"


async def _target(scratch: ScratchDatabase) -> int:
    """A connection with an alert target whose URL is in plaintext, as before revision 0012."""
    store = scratch.store
    connection = await store.create_connection(
        "acme",
        ramp_base_url="https://ramp.example",
        visma_base_url="https://visma.example",
        visma_token_url="https://visma.example/token",
        credentials_ciphertext=b"creds",
        settings={},
        now=T0,
    )
    await store.set_alert_target(
        connection.id, webhook_hint=None, email_to=None, secrets_ciphertext=b"old-secrets", now=T0
    )
    await scratch.execute(
        "UPDATE alert_targets SET webhook_url = :url WHERE connection_id = :cid",
        {"url": LEGACY, "cid": connection.id},
    )
    return connection.id


async def test_plaintext_targets_are_listed_then_sealed_once(scratch: ScratchDatabase) -> None:
    """A legacy URL is listed; sealing swaps it for ciphertext and a hint; a second seal with
    the same plaintext (another process, later) changes nothing."""
    store: Store = scratch.store
    cid = await _target(scratch)
    (legacy,) = await store.alert_targets_in_plaintext()
    assert (legacy.connection_id, legacy.webhook_url) == (cid, LEGACY)
    assert legacy.secrets_ciphertext == b"old-secrets"
    assert "tok-legacy" not in repr(legacy)

    hint = "https://hooks.example.com/…"
    sealed = await store.seal_alert_target(
        cid, plaintext_url=LEGACY, webhook_hint=hint, secrets_ciphertext=b"new-secrets"
    )
    assert sealed is True
    assert await store.alert_targets_in_plaintext() == []
    target = await store.get_alert_target(cid)
    assert target is not None
    assert (target.webhook_hint, target.secrets_ciphertext) == (hint, b"new-secrets")
    plaintext = "SELECT webhook_url FROM alert_targets WHERE connection_id = :cid"
    assert await scratch.scalar(plaintext, {"cid": cid}) is None
    again = await store.seal_alert_target(
        cid, plaintext_url=LEGACY, webhook_hint=hint, secrets_ciphertext=b"other"
    )
    assert again is False
    target = await store.get_alert_target(cid)
    assert target is not None
    assert target.secrets_ciphertext == b"new-secrets"


async def test_setting_a_target_clears_legacy_plaintext(scratch: ScratchDatabase) -> None:
    """``set_alert_target`` never leaves a plaintext URL behind."""
    store = scratch.store
    cid = await _target(scratch)
    await store.set_alert_target(
        cid, webhook_hint="https://x.example/…", email_to=None, secrets_ciphertext=b"s"
    )
    assert await store.alert_targets_in_plaintext() == []


async def test_alert_secrets_are_replaced_all_together(scratch: ScratchDatabase) -> None:
    """Key rotation reads every alert ciphertext and swaps them in one transaction."""
    store = scratch.store
    cid = await _target(scratch)
    assert await store.all_alert_secrets() == {cid: b"old-secrets"}
    await store.replace_alert_secrets({cid: b"rotated"})
    assert await store.all_alert_secrets() == {cid: b"rotated"}
