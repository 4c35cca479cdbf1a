"""Who is calling, and what they may do: passwords, sessions, CSRF, API tokens, roles, logins.

- **Passwords** are argon2id hashes (argon2-cffi defaults); a login with a wrong email costs the
  same hash time as one with a wrong password, so timing does not reveal which users exist.
- **Sessions** are server-side rows behind a random id in a signed cookie
  (``web/sessions.py``); they end on logout, after an idle timeout and an absolute lifetime,
  and when the user is disabled, removed, or changes role or password. The cookie is HttpOnly,
  SameSite=Lax and Secure (switchable off only for plain-HTTP development).
- **CSRF**: the token is derived from the session. Forms send it as the ``csrf`` field, API
  calls made with the session cookie as the ``X-CSRF-Token`` header. Calls with an API token
  carry no ambient credential and need none. The login form has its own token (``web/login.py``).
- **API tokens** are 32 random bytes shown once; the store keeps their SHA-256 only.
- **Logins** are throttled per email, per client address and globally, in the store, before the
  password is checked (``web/login_throttle.py``); the client address believes
  ``X-Forwarded-For`` only from trusted proxies (``web/proxies.py``). Every login that reached
  the password check, every lock and every logout is written to the security log with the
  client address (``store/security_log.py``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.requests import Request

from ml_connector.app.passwords import (
    MAX_PASSWORD,
    dummy_hash,
    hash_password,
    new_api_token,
    token_digest,
    verify_password,
)
from ml_connector.app.principal import Actor
from ml_connector.settings import Network, Settings
from ml_connector.store import Store
from ml_connector.store.sessions import SessionPolicy
from ml_connector.store.users import Role, User
from ml_connector.vault import Vault
from ml_connector.web.login_throttle import DEVICE_COOKIE, Limit, LoginThrottle, ThrottlePolicy
from ml_connector.web.proxies import ProxyTrust
from ml_connector.web.sessions import SESSION_COOKIE, SessionManager

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "DEVICE_COOKIE",
    "SESSION_COOKIE",
    "Auth",
    "AuthConfig",
    "LoginRefused",
    "LoginResult",
    "Principal",
    "hash_password",
    "new_api_token",
    "token_digest",
    "verify_password",
]

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user, how they proved it, and their session's CSRF token."""

    user: User
    via: Literal["session", "token"]
    csrf: str = ""

    @property
    def actor(self) -> Actor:
        """The application layer's principal for this caller."""
        return Actor.of_user(self.user, self.via)

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


@dataclass(frozen=True)
class AuthConfig:
    """Session lifetimes, login limits, trusted proxies and cookie security, together."""

    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    trusted_proxies: tuple[Network, ...] = ()
    secure_cookies: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthConfig:
        s = settings
        return cls(
            sessions=SessionPolicy(
                s.session_idle_timeout_s, s.session_lifetime_s, s.session_touch_interval_s
            ),
            throttle=ThrottlePolicy(
                email=Limit(s.login_email_max_failures, s.login_email_window_s),
                address=Limit(s.login_address_max_failures, s.login_address_window_s),
                everyone=Limit(s.login_global_max_failures, s.login_global_window_s),
                lockout_max_s=s.login_lockout_max_s,
                device_days=s.login_device_days,
            ),
            trusted_proxies=s.trusted_proxy_networks,
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Auth:
    """Resolves requests to principals, performs logins and logouts, and keeps the log."""

    def __init__(
        self,
        store: Store,
        vault: Vault,
        config: AuthConfig | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.config = config or AuthConfig()
        self.sessions = SessionManager(store, vault, self.config.sessions, clock=clock)
        self.throttle = LoginThrottle(store, vault, self.config.throttle, clock=clock)
        self.proxies = ProxyTrust(self.config.trusted_proxies)
        self.secure_cookies = self.config.secure_cookies
        self._clock = clock

    def client(self, request: Request) -> str:
        """The caller's address (``X-Forwarded-For`` only from trusted proxies)."""
        return self.proxies.client(request)

    async def principal(self, request: Request) -> Principal | None:
        """The caller: a Bearer API token, else the session cookie, else None."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = await self.store.user_for_token(token_digest(header[7:].strip()))
            return None if user is None else Principal(user, "token")
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        live = await self.sessions.resolve(cookie)
        return None if live is None else Principal(live.user, "session", live.csrf)

    async def log(self, kind: str, **data: Any) -> None:
        """Append to the security log (``store/security_log.py``)."""
        await self.store.append_security_event(kind, data, at=self._clock())

    async def login(
        self, email: str, password: str, client: str, device_cookie: str | None = None
    ) -> LoginResult:
        """Check the password under the throttle; a session on success.

        Raises LoginRefused (``throttled`` with ``retry_after_s`` while a limit holds).
        """
        wanted = email.strip().lower()[:320]
        user = await self.store.find_user(wanted) if wanted else None
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

    async def logout(self, cookie: str, principal: Principal, client: str) -> None:
        """End the session behind ``cookie``; logged with the client address."""
        await self.sessions.end(cookie)
        await self.log(
            "logout", email=principal.user.email, client=client, user_id=principal.user.id
        )

    async def housekeeping(self) -> None:
        """Delete expired sessions and stale throttle counters."""
        await self.sessions.prune()
        await self.throttle.prune()

    def cookie_options(self, max_age_s: int | None = None) -> dict[str, Any]:
        return {
            "httponly": True,
            "secure": self.secure_cookies,
            "samesite": "lax",
            "max_age": self.sessions.max_age_s if max_age_s is None else max_age_s,
            "path": "/",
        }
