"""The credential vault: encryption round trips, key files, rotation and leak-free errors."""

from __future__ import annotations

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from ml_connector.errors import ConfigurationError, VaultError
from ml_connector.settings import Settings
from ml_connector.vault import Vault

CREDENTIALS = {
    "ramp_client_id": "ramp-id",
    "ramp_client_secret": "ramp-s3cret",
    "visma_client_secret": "visma-s3cret",
    "visma_company_id": "1234567",
}


def _settings(tmp_path: Path, master_key: str | None = None) -> Settings:
    return Settings(
        master_key=SecretStr(master_key) if master_key is not None else None,
        master_key_file=tmp_path / "keys" / "ml-connector.key",
    )


def test_round_trip() -> None:
    """What goes in comes out, and the ciphertext does not contain the plaintext."""
    vault = Vault([Vault.generate_key()])
    token = vault.encrypt(CREDENTIALS)
    assert b"s3cret" not in token
    assert vault.decrypt(token) == CREDENTIALS


def test_key_file_is_created_private(tmp_path: Path) -> None:
    """Without a master key setting, a key file is created with mode 0600 and reused."""
    settings = _settings(tmp_path)
    vault = Vault.from_settings(settings)
    key_file = settings.master_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().split()) == 1
    token = vault.encrypt(CREDENTIALS)
    assert Vault.from_settings(settings).decrypt(token) == CREDENTIALS


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    """Eight starters racing to create the key file all end up with the same single key."""
    key_file = tmp_path / "ml-connector.key"
    start = threading.Barrier(8, timeout=30)

    def open_vault() -> tuple[str, ...]:
        start.wait()
        return Vault.from_key_file(key_file).fingerprints

    with ThreadPoolExecutor(max_workers=8) as pool:
        fingerprints = set(pool.map(lambda _: open_vault(), range(8)))
    assert len(fingerprints) == 1
    assert len(key_file.read_text().split()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ml-connector.key"]


def test_master_key_setting_wins_over_the_file(tmp_path: Path) -> None:
    """ML_CONNECTOR_MASTER_KEY (newest first, comma-separated) is used and no file is made."""
    new, old = Vault.generate_key(), Vault.generate_key()
    token = Vault([old]).encrypt(CREDENTIALS)
    settings = _settings(tmp_path, f"{new}, {old}")
    vault = Vault.from_settings(settings)
    assert vault.decrypt(token) == CREDENTIALS
    assert Vault([new]).decrypt(vault.encrypt(CREDENTIALS)) == CREDENTIALS
    assert not settings.master_key_file.exists()


def test_rotation_keeps_old_ciphertext_readable(tmp_path: Path) -> None:
    """After a new key is added, old tokens still open, and rotate() moves them to the new key."""
    key_file = tmp_path / "ml-connector.key"
    before = Vault.from_key_file(key_file)
    old_token = before.encrypt(CREDENTIALS)
    after = Vault.add_key_to_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = key_file.read_text().split()
    assert len(keys) == 2
    assert after.fingerprints[1:] == before.fingerprints
    assert after.decrypt(old_token) == CREDENTIALS
    rotated = after.rotate(old_token)
    newest_only = Vault([keys[0]])
    assert newest_only.decrypt(rotated) == CREDENTIALS
    assert not newest_only.can_decrypt(old_token)


def test_wrong_key_is_a_vault_error_without_key_material() -> None:
    """Decrypting under the wrong key fails clearly and never echoes a key."""
    right, wrong = Vault.generate_key(), Vault.generate_key()
    token = Vault([right]).encrypt(CREDENTIALS)
    with pytest.raises(VaultError) as caught:
        Vault([wrong]).decrypt(token)
    message = str(caught.value)
    assert "master key" in message
    assert right not in message
    assert wrong not in message
    assert caught.value.__cause__ is None
    with pytest.raises(VaultError):
        Vault([wrong]).rotate(token)


def test_damaged_token_is_a_vault_error() -> None:
    """Garbage is reported as undecryptable, not as a crash."""
    vault = Vault([Vault.generate_key()])
    with pytest.raises(VaultError):
        vault.decrypt(b"not a token")
    assert not vault.can_decrypt(b"not a token")


def test_malformed_master_key_is_a_configuration_error(tmp_path: Path) -> None:
    """A key that is not Fernet is refused, and the message does not repeat it."""
    bogus = "this-is-not-a-valid-key-but-is-secret"
    with pytest.raises(ConfigurationError) as caught:
        Vault.from_settings(_settings(tmp_path, f"{Vault.generate_key()},{bogus}"))
    assert bogus not in str(caught.value)
    assert "master key 2" in str(caught.value)
    assert caught.value.__cause__ is None
    with pytest.raises(ConfigurationError):
        Vault([])


def test_empty_key_file_is_a_configuration_error(tmp_path: Path) -> None:
    """An existing but empty key file is an error, never silently replaced."""
    key_file = tmp_path / "ml-connector.key"
    key_file.write_text("\n")
    with pytest.raises(ConfigurationError, match="holds no key"):
        Vault.from_key_file(key_file)
    assert key_file.read_text() == "\n"


def test_missing_key_file_without_create(tmp_path: Path) -> None:
    """With create=False a missing key file is reported, not created."""
    with pytest.raises(ConfigurationError, match="does not exist"):
        Vault.from_key_file(tmp_path / "absent.key", create=False)
    assert not (tmp_path / "absent.key").exists()


def test_repr_shows_fingerprints_only() -> None:
    """repr() names how many keys and their fingerprints, never a key."""
    keys = [Vault.generate_key(), Vault.generate_key()]
    vault = Vault(keys)
    text = repr(vault)
    assert "keys=2" in text
    assert all(fingerprint in text for fingerprint in vault.fingerprints)
    assert not any(key in text or key[:12] in text for key in keys)


def test_only_string_credentials() -> None:
    """Credentials are a string-to-string mapping; anything else is refused."""
    vault = Vault([Vault.generate_key()])
    with pytest.raises(VaultError):
        vault.encrypt({"port": 443})  # type: ignore[dict-item]
