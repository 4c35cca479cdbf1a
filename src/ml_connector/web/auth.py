"""Who is calling, and what they may do: passwords, sessions, CSRF, API tokens, roles, logins.

- **Passwords** are argon2id hashes (``app/passwords.py``); a login with a wrong email costs
  the same hash time as one with a wrong password, so timing does not reveal which users exist.
- **Sessions** are server-side rows behind a random id in a signed cookie
  (``app/sessions.py``); they end on logout, after an idle timeout and an absolute lifetime,
  and when the user is disabled, removed, or changes role or password. The cookie is HttpOnly,
  SameSite=Lax and Secure (switchable off only for plain-HTTP development).
- **CSRF**: the token is derived from the session. Forms send it as the ``csrf`` field, API
  calls made with the session cookie as the ``X-CSRF-Token`` header. Calls with an API token
  carry no ambient credential and need none. The login form has its own token (``web/login.py``).
- **API tokens** are 32 random bytes shown once; the store keeps their SHA-256 only.
- **Logins** are throttled per email, per client address and globally, in the store, before the
  password is checked (``app/login_throttle.py``); the client address believes
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

from ml_connector.app.login_throttle import DEVICE_COOKIE, Limit, ThrottlePolicy
from ml_connector.app.passwords import hash_password, new_api_token, token_digest, verify_password
from ml_connector.app.principal import Actor
from ml_connector.app.sessions import (
    LoginRefused,
    LoginResult,
    Logins,
    SessionPolicy,
    Store,
)
from ml_connector.app.users import Role, User
from ml_connector.settings import Network, Settings
from ml_connector.vault import Vault
from ml_connector.web.proxies import ProxyTrust, throttle_key

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
SESSION_COOKIE = "mlc_session"


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
        self.config = config or AuthConfig()
        self.logins = Logins(
            store,
            vault,
            self.config.sessions,
            self.config.throttle,
            address_unit=throttle_key,
            clock=clock,
        )
        self.sessions = self.logins.sessions
        self.throttle = self.logins.throttle
        self.proxies = ProxyTrust(self.config.trusted_proxies)
        self.secure_cookies = self.config.secure_cookies

    def client(self, request: Request) -> str:
        """The caller's address (``X-Forwarded-For`` only from trusted proxies)."""
        return self.proxies.client(request)

    async def principal(self, request: Request) -> Principal | None:
        """The caller: a Bearer API token, else the session cookie, else None."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = await self.logins.user_for_token(header[7:].strip())
            return None if user is None else Principal(user, "token")
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        live = await self.sessions.resolve(cookie)
        return None if live is None else Principal(live.user, "session", live.csrf)

    async def log(self, kind: str, **data: Any) -> None:
        """Append to the security log (``store/security_log.py``)."""
        await self.logins.log(kind, **data)

    async def login(
        self, email: str, password: str, client: str, device_cookie: str | None = None
    ) -> LoginResult:
        """Check the password under the throttle; a session on success (``app/sessions.py``).

        Raises LoginRefused (``throttled`` with ``retry_after_s`` while a limit holds).
        """
        return await self.logins.login(email, password, client, device_cookie)

    async def logout(self, cookie: str, principal: Principal, client: str) -> None:
        """End the session behind ``cookie``; logged with the client address."""
        await self.logins.logout(principal.actor, cookie, client)

    async def housekeeping(self) -> None:
        """Delete expired sessions and stale throttle counters."""
        await self.logins.housekeeping()

    def cookie_options(self, max_age_s: int | None = None) -> dict[str, Any]:
        return {
            "httponly": True,
            "secure": self.secure_cookies,
            "samesite": "lax",
            "max_age": self.sessions.max_age_s if max_age_s is None else max_age_s,
            "path": "/",
        }
