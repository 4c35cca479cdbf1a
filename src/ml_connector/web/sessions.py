"""Dashboard sessions: random ids in a signed cookie, the session itself in the store.

- **The id** is 32 random bytes from :mod:`secrets` (256 bits), url-safe base64. The cookie
  carries ``<id>.<tag>``, where the tag is an HMAC of the id under a key the vault derives for
  this one purpose (label :data:`SESSION_LABEL`). A cookie that was not made here is refused
  before the store is asked. The store keeps only the id's SHA-256, so a copy of the database
  cannot be turned into cookies.
- **The CSRF token** of a session is an HMAC of its id under a second derived key
  (:data:`CSRF_LABEL`): bound to the session, never stored, unguessable without the key.
- **Lifetime**: a session ends after ``idle_s`` unused and ``lifetime_s`` after login, on
  logout, and when its user is disabled, removed, or changes role or password (the store
  deletes the rows in the same transaction as that change). Ended sessions are rows deleted,
  so every process refuses their cookie at once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ml_connector.store import Store
from ml_connector.store.sessions import SessionPolicy
from ml_connector.store.users import User
from ml_connector.vault import Vault

__all__ = ["CSRF_LABEL", "SESSION_COOKIE", "SESSION_LABEL", "LiveSession", "SessionManager"]

SESSION_COOKIE = "mlc_session"
SESSION_LABEL = "ml-connector session cookie v1"
CSRF_LABEL = "ml-connector session csrf v1"
_ID_BYTES = 32


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LiveSession:
    """A resolved session: its user and its CSRF token."""

    user: User
    csrf: str


class SessionManager:
    """Starts, resolves and ends sessions (module docstring)."""

    def __init__(
        self,
        store: Store,
        vault: Vault,
        policy: SessionPolicy | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.policy = policy or SessionPolicy()
        self._clock = clock
        self._cookie_key = vault.purpose_key(SESSION_LABEL)
        self._csrf_key = vault.purpose_key(CSRF_LABEL)

    @staticmethod
    def _digest(session_id: str) -> str:
        return hashlib.sha256(session_id.encode("ascii")).hexdigest()

    def _session_id(self, cookie: str) -> str | None:
        """The id in a cookie this server signed, or None."""
        session_id, dot, tag = cookie.partition(".")
        if not dot or not session_id or len(cookie) > 200 or not session_id.isascii():
            return None
        return session_id if self._cookie_key.verify(session_id.encode("ascii"), tag) else None

    def csrf_token(self, session_id: str) -> str:
        return self._csrf_key.sign(b"csrf:" + session_id.encode("ascii"))

    async def start(self, user: User) -> str:
        """A new session for ``user``; returns the cookie value."""
        session_id = secrets.token_urlsafe(_ID_BYTES)
        await self.store.create_session(self._digest(session_id), user.id, now=self._clock())
        return f"{session_id}.{self._cookie_key.sign(session_id.encode('ascii'))}"

    async def resolve(self, cookie: str) -> LiveSession | None:
        """The live session behind a cookie, or None (forged, ended, expired, user disabled)."""
        session_id = self._session_id(cookie)
        if session_id is None:
            return None
        user = await self.store.session_user(
            self._digest(session_id), self.policy, now=self._clock()
        )
        return None if user is None else LiveSession(user, self.csrf_token(session_id))

    async def end(self, cookie: str) -> int | None:
        """End the session behind a cookie; returns its user's id (None: no such session)."""
        session_id = self._session_id(cookie)
        if session_id is None:
            return None
        return await self.store.end_session(self._digest(session_id))

    async def prune(self) -> int:
        """Delete expired sessions; returns how many."""
        return await self.store.prune_sessions(self.policy, now=self._clock())

    @property
    def max_age_s(self) -> int:
        """The cookie's Max-Age: the absolute lifetime."""
        return int(self.policy.lifetime_s)
