"""Who is calling, and what they may do: passwords, sessions, CSRF, API tokens, roles.

- **Passwords** are argon2id hashes (argon2-cffi defaults); a login with a wrong email costs the
  same hash time as one with a wrong password, so timing does not reveal which users exist.
- **Sessions** are a cookie holding the user id, a CSRF token and an expiry, sealed with the
  vault's keys (Fernet: encrypted and authenticated). Every process sharing the master key
  accepts the same cookie, and key rotation keeps sessions valid. The cookie is HttpOnly,
  SameSite=Lax and Secure (switchable off only for plain-HTTP development).
- **CSRF**: the token is bound to the session. Forms send it as the ``csrf`` field, API calls
  made with the session cookie as the ``X-CSRF-Token`` header. Calls with an API token carry no
  ambient credential and need none.
- **API tokens** are 32 random bytes shown once; the store keeps their SHA-256 only.
- **Login rate limiting** counts failures per (client address, email) in memory; after
  ``max_failures`` within ``window_s`` further attempts are refused until the window passes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request

from ml_connector.errors import ConfigurationError, VaultError
from ml_connector.store import Store
from ml_connector.store.users import Role, User
from ml_connector.vault import Vault

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Auth",
    "LoginLimiter",
    "Principal",
    "SessionCodec",
    "hash_password",
    "new_api_token",
    "token_digest",
    "verify_password",
]

SESSION_COOKIE = "mlc_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
_TOKEN_PREFIX = "mlc_"

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
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


@dataclass(frozen=True)
class Session:
    user_id: int
    csrf: str
    expires_at: float


class SessionCodec:
    """Seals and opens session cookies with the vault's keys."""

    def __init__(
        self, vault: Vault, *, ttl_s: float = 8 * 3600, clock: Callable[[], float] = time.time
    ) -> None:
        self._vault = vault
        self._ttl_s = ttl_s
        self._clock = clock

    def issue(self, user_id: int) -> tuple[str, Session]:
        session = Session(user_id, secrets.token_urlsafe(24), self._clock() + self._ttl_s)
        sealed = self._vault.encrypt(
            {"u": str(user_id), "c": session.csrf, "e": json.dumps(session.expires_at)}
        )
        return sealed.decode("ascii"), session

    def open(self, cookie: str) -> Session | None:
        """The session in ``cookie``, or None when it is forged, garbled or expired."""
        try:
            data = self._vault.decrypt(cookie.encode("ascii"))
            session = Session(int(data["u"]), str(data["c"]), float(json.loads(data["e"])))
        except (VaultError, KeyError, ValueError, TypeError):
            return None  # forged, garbled, or sealed under keys no longer held
        return session if session.expires_at > self._clock() else None


class LoginLimiter:
    """Failed logins per key within a sliding window."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_failures
        self._window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        stamps = self._failures.setdefault(key, deque())
        cutoff = self._clock() - self._window_s
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        return stamps

    def blocked(self, key: str) -> bool:
        return len(self._recent(key)) >= self._max

    def failed(self, key: str) -> None:
        self._recent(key).append(self._clock())
        if len(self._failures) > 10_000:  # bound memory under a spray of distinct keys
            for stale in [k for k, v in self._failures.items() if not v][:5_000]:
                del self._failures[stale]

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user, how they proved it, and their session's CSRF token."""

    user: User
    via: Literal["session", "token"]
    csrf: str = ""

    @property
    def can_act(self) -> bool:
        """Replay, exclude, push: operators and admins."""
        return self.user.role in (Role.ADMIN, Role.OPERATOR)

    @property
    def can_admin(self) -> bool:
        """Edit credentials and connections: admins only."""
        return self.user.role == Role.ADMIN

    def csrf_ok(self, sent: str | None) -> bool:
        """True for token calls; for session calls, when ``sent`` matches the session's token."""
        if self.via == "token":
            return True
        return bool(sent) and hmac.compare_digest(str(sent), self.csrf)


class LoginRefused(Exception):
    """A login failed; ``message`` is safe to show (it never says which part was wrong)."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.throttled = throttled


class Auth:
    """Resolves requests to principals and performs logins."""

    def __init__(
        self,
        store: Store,
        vault: Vault,
        *,
        limiter: LoginLimiter | None = None,
        secure_cookies: bool = True,
        session_ttl_s: float = 8 * 3600,
    ) -> None:
        self.store = store
        self.codec = SessionCodec(vault, ttl_s=session_ttl_s)
        self.limiter = limiter or LoginLimiter()
        self.secure_cookies = secure_cookies
        self.session_ttl_s = session_ttl_s

    async def principal(self, request: Request) -> Principal | None:
        """The caller: a Bearer API token, else the session cookie, else None."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = await self.store.user_for_token(token_digest(header[7:].strip()))
            return None if user is None else Principal(user, "token")
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        session = self.codec.open(cookie)
        if session is None:
            return None
        user = await self.store.get_user(session.user_id)
        if user is None or user.disabled:
            return None
        return Principal(user, "session", session.csrf)

    async def login(self, email: str, password: str, client: str) -> tuple[User, str]:
        """Check the password; returns the user and a sealed session cookie value.

        Raises LoginRefused (throttled when too many recent failures came from ``client`` for
        this email).
        """
        key = f"{client}|{email.strip().lower()}"
        if self.limiter.blocked(key):
            raise LoginRefused("too many failed attempts; try again later", throttled=True)
        user = await self.store.find_user(email)
        ok = verify_password(user.password_hash if user else _dummy_hash(), password)
        if user is None or not ok or user.disabled:
            self.limiter.failed(key)
            raise LoginRefused("wrong email or password")
        self.limiter.succeeded(key)
        cookie, _ = self.codec.issue(user.id)
        return user, cookie

    def cookie_options(self) -> dict[str, object]:
        return {
            "httponly": True,
            "secure": self.secure_cookies,
            "samesite": "lax",
            "max_age": int(self.session_ttl_s),
            "path": "/",
        }
