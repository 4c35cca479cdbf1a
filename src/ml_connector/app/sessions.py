"""Dashboard sessions, logins and logouts, and the security log, as user actions.

- **Sessions** (:class:`SessionManager`): the id is 32 random bytes from :mod:`secrets`
  (256 bits), url-safe base64. The cookie value is ``<id>.<tag>``, where the tag is an HMAC of
  the id under a key the vault derives for this one purpose (label :data:`SESSION_LABEL`); a
  value that was not made here is refused before the store is asked. The store keeps only the
  id's SHA-256, so a copy of the database cannot be turned into cookies. The CSRF token of a
  session is an HMAC of its id under a second derived key (:data:`CSRF_LABEL`): bound to the
  session, never stored, unguessable without the key. A session ends after ``idle_s`` unused
  and ``lifetime_s`` after login, on logout, and when its user is disabled, removed, or
  changes role or password (the store deletes the rows in the same transaction as that
  change), so every process refuses its cookie at once.
- **Logins** (:class:`Logins`) are throttled (``app/login_throttle.py``) before the password
  is checked; a wrong email costs the same hash time as a wrong password. Every login that
  reached the password check, every lock and every logout is written to the security log with
  the client address (``store/security_log.py``).
- **Ending a user's sessions** (a lost laptop, a suspected stolen cookie) is an admin's action,
  written to the security log with the actor; so is reading the log, which also checks its
  hash chain.

The cookies themselves (names, attributes, where requests carry them) are the web's
(``web/auth.py``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ml_connector.app.login_throttle import LoginThrottle, ThrottlePolicy
from ml_connector.app.passwords import MAX_PASSWORD, dummy_hash, token_digest, verify_password
from ml_connector.app.principal import Actor, Permission
from ml_connector.app.users import User, find_user
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Store
from ml_connector.store.sessions import SessionPolicy
from ml_connector.vault import Vault

__all__ = [
    "CSRF_LABEL",
    "SESSION_LABEL",
    "LiveSession",
    "LoginRefused",
    "LoginResult",
    "Logins",
    "SecurityLog",
    "SessionManager",
    "SessionPolicy",
    "Store",
    "end_user_sessions",
    "security_log",
]

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


class LoginRefused(Exception):
    """A login failed; ``message`` is safe to show (it never says which part was wrong)."""

    def __init__(
        self, message: str, *, throttled: bool = False, retry_after_s: float = 0.0
    ) -> None:
        super().__init__(message)
        self.message = message
        self.throttled = throttled
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class LoginResult:
    """A successful login: the user, the session cookie and a trusted-device cookie."""

    user: User
    session_cookie: str
    device_cookie: str | None


class Logins:
    """Performs logins and logouts, resolves API tokens and sessions, and keeps the log."""

    def __init__(
        self,
        store: Store,
        vault: Vault,
        sessions: SessionPolicy,
        throttle: ThrottlePolicy,
        *,
        address_unit: Callable[[str], str],
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._clock = clock
        self.sessions = SessionManager(store, vault, sessions, clock=clock)
        self.throttle = LoginThrottle(
            store, vault, throttle, address_unit=address_unit, clock=clock
        )

    async def user_for_token(self, token: str) -> User | None:
        """The user an API token belongs to (None: unknown, revoked, or the user disabled)."""
        return await self._store.user_for_token(token_digest(token))

    async def log(self, kind: str, **data: Any) -> None:
        """Append to the security log (``store/security_log.py``)."""
        await self._store.append_security_event(kind, data, at=self._clock())

    async def login(
        self, email: str, password: str, client: str, device_cookie: str | None = None
    ) -> LoginResult:
        """Check the password under the throttle; a session on success.

        Raises LoginRefused (``throttled`` with ``retry_after_s`` while a limit holds).
        """
        wanted = email.strip().lower()[:320]
        user = await self._store.find_user(wanted) if wanted else None
        attempt = await self.throttle.admit(wanted, client, user, device_cookie)
        if not attempt.verdict.allowed:
            for scope in attempt.verdict.locked_now:  # once per lock, never per refusal
                await self.log("login_locked", email=wanted, client=client, scope=scope)
            raise LoginRefused(
                "too many failed attempts; try again later",
                throttled=True,
                retry_after_s=attempt.verdict.retry_after_s,
            )
        # A password far longer than any real one is wrong; hashing megabytes would be the
        # attacker's cheapest way to spend our CPU.
        candidate = password if len(password) <= MAX_PASSWORD else ""
        ok = bool(candidate) and verify_password(
            user.password_hash if user else dummy_hash(), candidate
        )
        if user is None or not ok or user.disabled:
            cause = "unknown_email" if user is None else "disabled" if ok else "wrong_password"
            user_id = None if user is None else user.id
            await self.log(
                "login_failed", email=wanted, client=client, user_id=user_id, cause=cause
            )
            raise LoginRefused("wrong email or password")
        await self.throttle.succeeded(attempt)
        cookie = await self.sessions.start(user)
        await self.log(
            "login",
            email=user.email,
            client=client,
            user_id=user.id,
            trusted_device=attempt.trusted_device,
        )
        return LoginResult(user, cookie, self.throttle.device_cookie(user))

    async def logout(self, actor: Actor, cookie: str, client: str) -> None:
        """End the actor's session behind ``cookie``; logged with the client address."""
        await self.sessions.end(cookie)
        await self.log("logout", email=actor.name, client=client, user_id=actor.user_id)

    async def housekeeping(self) -> None:
        """Delete expired sessions and stale throttle counters."""
        await self.sessions.prune()
        await self.throttle.prune()


@dataclass(frozen=True)
class SecurityLog:
    """The newest security-log entries (as flat rows) and what breaks its chain, if anything."""

    events: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)

    @property
    def chain_intact(self) -> bool:
        return not self.problems


async def end_user_sessions(actor: Actor, rt: Runtime, email: str) -> int:
    """End every dashboard session of the user now, on every device; logged. How many."""
    user = await find_user(actor, rt, email)
    ended = await rt.store.end_user_sessions(user.id)
    data = {**actor.identity(), "action": "sessions ended", "target": user.email, "sessions": ended}
    await rt.store.append_security_event("user_action", data)
    return ended


async def security_log(actor: Actor, rt: Runtime, limit: int) -> SecurityLog:
    """The newest ``limit`` entries, newest first, and the chain check."""
    actor.require(Permission.ADMIN, "read the security log")
    events = await rt.store.list_security_events(limit=limit)
    problems = [str(p) for p in await rt.store.verify_security_log()]
    rows = [{"seq": e.seq, "at": e.at.isoformat(), "kind": e.kind, **e.data} for e in events]
    return SecurityLog(rows, problems)
