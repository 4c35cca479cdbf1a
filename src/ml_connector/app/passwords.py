"""Password hashes and API tokens: how a user proves who they are.

- **Passwords** are argon2id hashes (argon2-cffi defaults). :func:`dummy_hash` is what a login
  with an unknown email verifies against, so a wrong email costs the same hash time as a wrong
  password and timing does not reveal which users exist.
- **API tokens** are 32 random bytes shown once; the store keeps their SHA-256 only.
"""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ml_connector.errors import ConfigurationError

__all__ = [
    "MAX_PASSWORD",
    "dummy_hash",
    "hash_password",
    "new_api_token",
    "token_digest",
    "verify_password",
]

MAX_PASSWORD = 1024  # longer is wrong; hashing megabytes would be an attacker's cheap CPU
_TOKEN_PREFIX = "mlc_"

_HASHER = PasswordHasher()


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so both answers take as long.

    Made on first use, not at import: argon2's memory cost (64 MiB) would otherwise raise the
    peak memory of every process, CLI commands included.
    """
    return _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``; refuses passwords shorter than 10 characters."""
    if len(password) < 10:
        raise ConfigurationError("a password needs at least 10 characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token() -> tuple[str, str]:
    """A fresh API token and the digest the store keeps of it."""
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_digest(token)
