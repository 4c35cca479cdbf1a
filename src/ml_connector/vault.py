"""The credential vault: the only code that sees master keys.

Connection credentials (Ramp and Visma client ids and secrets, tenant and company ids, webhook
secrets) are a ``dict[str, str]`` encrypted with Fernet (AES-128-CBC plus HMAC-SHA256) under a
:class:`~cryptography.fernet.MultiFernet`: the first key encrypts, every key can decrypt. That
is what makes rotation safe:

1. ``Vault.add_key_to_file(path)`` puts a fresh key in front of the old ones;
2. ``vault.rotate(token)`` re-encrypts each stored credential under the new key;
3. once every token is rotated, an operator may drop the old keys from the file.

Master keys come from ``ML_CONNECTOR_MASTER_KEY`` (comma-separated, newest first) or, when that
is unset, from ``settings.master_key_file`` (one key per line, newest first; created with mode
0600 and a new key on first use). Keys are never logged, shown or put into messages; a vault
describes itself by key count and fingerprints (a short hash of each key).

Other uses of the master keys never take them as they are: :meth:`Vault.purpose_key` derives,
with HKDF-SHA256 and a label naming the one purpose (``info``), a separate key from each master
key, and returns a :class:`PurposeKey` that signs and verifies with them (HMAC-SHA256). The
dashboard's session cookies, its CSRF tokens and its trusted-device cookies each have their
own label, so a key learned for one purpose opens nothing else, and none of them opens the
credentials. The derived keys stay inside this module like the master keys; the newest signs,
every one verifies, so rotation keeps what was signed valid until the old key is dropped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ml_connector.errors import ConfigurationError, VaultError
from ml_connector.settings import Settings

__all__ = ["PurposeKey", "Vault"]

_KEY_FILE_MODE = 0o600


def _fingerprint(key: str) -> str:
    """The first 8 hex digits of sha256(key): enough to tell keys apart, useless to attackers."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:8]


def _parse_key(key: str, where: str) -> Fernet:
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        # Chaining would drag the key into the traceback; the message says all that is needed.
        raise ConfigurationError(
            f"{where} is not a valid Fernet key (32 url-safe base64-encoded bytes); "
            "create one with `ml-connector keys generate`"
        ) from None


def _write_temp(path: Path, keys: Sequence[str]) -> Path:
    """A temporary file beside ``path`` holding ``keys`` (one per line), mode 0600, synced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, _KEY_FILE_MODE)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write("".join(f"{key}\n" for key in keys))
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return Path(temp_name)


def _create_keys(path: Path, keys: Sequence[str]) -> None:
    """Create ``path`` with ``keys`` unless it exists; never overwrites.

    Linking a finished file into place is atomic and fails when the name is taken, so two
    processes starting at once agree on one key instead of each keeping its own.
    """
    temp = _write_temp(path, keys)
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        temp.unlink()


def _replace_keys(path: Path, keys: Sequence[str]) -> None:
    """Replace ``path`` atomically with ``keys``."""
    os.replace(_write_temp(path, keys), path)


def _read_keys(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"cannot read master key file {path}: {type(exc).__name__}"
        ) from None
    keys = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise ConfigurationError(f"master key file {path} holds no key")
    return keys


def _derive(master: str, label: str) -> bytes:
    """32 bytes for ``label`` from one master key (HKDF-SHA256, the label as ``info``)."""
    material = base64.urlsafe_b64decode(master.encode("ascii"))
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"ml-connector", info=label.encode())
    return hkdf.derive(material)


class PurposeKey:
    """Signs and verifies short messages with keys derived for one purpose (HMAC-SHA256).

    Tags are url-safe base64 without padding (43 characters). The newest derived key signs;
    a tag made by any of the vault's keys verifies.
    """

    def __init__(self, label: str, keys: Sequence[bytes]) -> None:
        self._label = label
        self._keys = tuple(keys)

    def sign(self, message: bytes) -> str:
        digest = hmac.new(self._keys[0], message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def verify(self, message: bytes, tag: str) -> bool:
        """True when ``tag`` is this purpose's signature of ``message`` under any key."""
        try:
            sent = base64.urlsafe_b64decode(tag.encode("ascii") + b"=" * (-len(tag) % 4))
        except (ValueError, UnicodeEncodeError):
            return False
        found = False
        for key in self._keys:  # no early exit: every key costs the same time
            found |= hmac.compare_digest(hmac.new(key, message, hashlib.sha256).digest(), sent)
        return found

    def __repr__(self) -> str:
        return f"PurposeKey(label={self._label!r}, keys={len(self._keys)})"


class Vault:
    """Encrypts and decrypts credential sets with one or more master keys (newest first)."""

    def __init__(self, keys: Sequence[str]) -> None:
        """Build a vault from Fernet keys, newest first.

        Raises ConfigurationError when a key is malformed or none is given.
        """
        keys = [key.strip() for key in keys if key.strip()]
        if not keys:
            raise ConfigurationError("the vault needs at least one master key")
        self._fernet = MultiFernet(
            [_parse_key(key, f"master key {n}") for n, key in enumerate(keys, start=1)]
        )
        self._fingerprints = tuple(_fingerprint(key) for key in keys)
        self._keys = tuple(keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        """The vault for this process: ``settings.master_key`` if set, else the key file."""
        if settings.master_key is not None:
            keys = settings.master_key.get_secret_value().split(",")
            if not any(key.strip() for key in keys):
                raise ConfigurationError("ML_CONNECTOR_MASTER_KEY is set but empty")
            return cls(keys)
        return cls.from_key_file(settings.master_key_file)

    @classmethod
    def from_key_file(cls, path: Path, *, create: bool = True) -> Vault:
        """The vault for the keys in ``path``.

        With ``create``, a missing file is created (mode 0600) holding one new key.
        """
        if not path.exists():
            if not create:
                raise ConfigurationError(f"master key file {path} does not exist")
            _create_keys(path, [cls.generate_key()])
        return cls(_read_keys(path))

    @classmethod
    def add_key_to_file(cls, path: Path) -> Vault:
        """Put a fresh key in front of the keys in ``path`` and return the new key set's vault.

        The old keys stay (for decryption). The file is replaced atomically, mode 0600.
        """
        keys = _read_keys(path) if path.exists() else []
        _replace_keys(path, [cls.generate_key(), *keys])
        return cls(_read_keys(path))

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key (url-safe base64 text)."""
        return Fernet.generate_key().decode("ascii")

    def purpose_key(self, label: str) -> PurposeKey:
        """A signing key for one purpose, derived from every master key (module docstring).

        ``label`` names the purpose and its version, e.g. ``"ml-connector session cookie v1"``;
        two labels never yield related keys.
        """
        if not label.strip():
            raise ConfigurationError("a purpose key needs a label")
        return PurposeKey(label, [_derive(key, label) for key in self._keys])

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Short sha256 fingerprints of the keys, newest first."""
        return self._fingerprints

    def encrypt(self, credentials: Mapping[str, str]) -> bytes:
        """Encrypt a credential set under the newest key."""
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in credentials.items()):
            raise VaultError("credentials must map strings to strings")
        plaintext = json.dumps(dict(credentials), sort_keys=True, separators=(",", ":"))
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, token: bytes) -> dict[str, str]:
        """Decrypt a credential set. Raises VaultError when no key opens it or it is corrupt."""
        try:
            plaintext = self._fernet.decrypt(token)
        except (InvalidToken, TypeError, ValueError):
            raise VaultError(self._no_key_message()) from None
        try:
            value = json.loads(plaintext)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise VaultError("decrypted credentials are not a JSON object") from None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise VaultError("decrypted credentials are not a string-to-string mapping")
        return value

    def rotate(self, token: bytes) -> bytes:
        """``token`` re-encrypted under the newest key (same content)."""
        try:
            return self._fernet.rotate(token)
        except (InvalidToken, TypeError, ValueError):
            raise VaultError(self._no_key_message()) from None

    def can_decrypt(self, token: bytes) -> bool:
        """True when one of the vault's keys opens ``token``."""
        try:
            self._fernet.decrypt(token)
        except (InvalidToken, TypeError, ValueError):
            return False
        return True

    def _no_key_message(self) -> str:
        return (
            f"cannot decrypt stored credentials with the {len(self._fingerprints)} master "
            f"key(s) configured (fingerprints {', '.join(self._fingerprints)}): the master key "
            "changed or the ciphertext is damaged. Restore the key that encrypted them, or "
            "re-enter the connection's credentials"
        )

    def __repr__(self) -> str:
        return f"Vault(keys={len(self._fingerprints)}, fingerprints={list(self._fingerprints)})"
