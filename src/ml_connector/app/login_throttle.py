"""Login throttling: which limits an attempt counts against, and trusted browsers.

Three limits apply to a login attempt from an unknown browser, each with its own window:

- **per email**, across every client address (default 5 failures per 15 minutes): guessing
  one user's password from many addresses gets no further than from one;
- **per client address**, across every email (default 20 per 15 minutes; an IPv6 client counts
  by its /64): one address cannot spray a common password over many users;
- **globally** (default 100 per 15 minutes): a botnet spraying from many addresses is slowed
  down all the same.

Passing a limit locks that key for its window; each further lock of the same key doubles, up to
``lockout_max_s`` (default one hour), until the key has been quiet that long. While locked,
attempts are refused without checking the password and without writing anything.

**Lockout and trusted browsers.** Limits by email and globally let a stranger lock a user out
cheaply. So a browser that logged in successfully receives a *trusted-device* cookie (signed
with its own derived key, bound to the user's id, ``login_device_days`` long). An attempt that
presents a valid device cookie for the user it names is counted against that device alone
(same limit as the email limit) instead of the email, address and global limits: a stranger
can lock out new browsers, never the ones the user already logged in from. A stolen device
cookie buys only its own small budget, for that one user. ``device_days = 0`` turns this off.

The counters live in the store (``store/throttle.py``), so every ``serve`` process shares them.
Which unit a client address counts by (the address, or its /64 for IPv6) is the web's to say:
``address_unit`` (``web/proxies.throttle_key``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ml_connector.store import Store
from ml_connector.store.throttle import ThrottleRule, ThrottleVerdict
from ml_connector.store.users import User
from ml_connector.vault import Vault

__all__ = [
    "DEVICE_COOKIE",
    "DEVICE_LABEL",
    "Attempt",
    "Limit",
    "LoginThrottle",
    "ThrottlePolicy",
]

DEVICE_COOKIE = "mlc_device"
DEVICE_LABEL = "ml-connector trusted device v1"
_RESET_ON_SUCCESS = frozenset({"email", "device"})


@dataclass(frozen=True)
class Limit:
    max_failures: int
    window_s: float


@dataclass(frozen=True)
class ThrottlePolicy:
    """The numbers (``ML_CONNECTOR_LOGIN_…`` settings; module docstring)."""

    email: Limit = Limit(5, 900.0)
    address: Limit = Limit(20, 900.0)
    everyone: Limit = Limit(100, 900.0)
    lockout_max_s: float = 3600.0
    device_days: float = 90.0


@dataclass(frozen=True)
class Attempt:
    """One admitted (or refused) attempt: the rules it counted against and the verdict."""

    rules: tuple[ThrottleRule, ...]
    verdict: ThrottleVerdict
    trusted_device: bool


def _key(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LoginThrottle:
    """Counts login attempts (module docstring)."""

    def __init__(
        self,
        store: Store,
        vault: Vault,
        policy: ThrottlePolicy | None = None,
        *,
        address_unit: Callable[[str], str],
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self._address_unit = address_unit
        self.policy = policy or ThrottlePolicy()
        self._clock = clock
        self._device_key = vault.purpose_key(DEVICE_LABEL)

    def device_cookie(self, user: User) -> str | None:
        """A fresh trusted-device cookie value for ``user`` (None when turned off)."""
        if self.policy.device_days <= 0:
            return None
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._device_key.sign(f'{user.id}:{nonce}'.encode())}"

    @property
    def device_max_age_s(self) -> int:
        return int(self.policy.device_days * 86400)

    def _device(self, cookie: str | None, user: User | None) -> str | None:
        """The device nonce when ``cookie`` is a valid device cookie for ``user``."""
        if not cookie or user is None or self.policy.device_days <= 0 or len(cookie) > 200:
            return None
        nonce, dot, tag = cookie.partition(".")
        if not dot or not nonce.isascii():
            return None
        return nonce if self._device_key.verify(f"{user.id}:{nonce}".encode(), tag) else None

    def rules(self, email: str, client: str, device: str | None) -> tuple[ThrottleRule, ...]:
        p = self.policy
        if device is not None:
            return (ThrottleRule("device", _key("device", device), *_pair(p.email)),)
        return (
            ThrottleRule("email", _key("email", email), *_pair(p.email)),
            ThrottleRule("address", _key("address", self._address_unit(client)), *_pair(p.address)),
            ThrottleRule("global", "all", *_pair(p.everyone)),
        )

    async def admit(
        self, email: str, client: str, user: User | None, device_cookie: str | None
    ) -> Attempt:
        """Count an attempt before its password is checked; refused while a key is locked."""
        device = self._device(device_cookie, user)
        rules = self.rules(email, client, device)
        verdict = await self.store.take_login_attempt(
            rules, lockout_max_s=self.policy.lockout_max_s, now=self._clock()
        )
        return Attempt(rules, verdict, device is not None)

    async def succeeded(self, attempt: Attempt) -> None:
        """Give a successful attempt back: the email's (or device's) failures are forgotten."""
        await self.store.settle_login_success(attempt.rules, reset_scopes=_RESET_ON_SUCCESS)

    async def prune(self) -> int:
        """Delete counters that hold no lock and have been quiet for a lock ceiling."""
        p = self.policy
        idle_s = max(p.lockout_max_s, p.email.window_s, p.address.window_s, p.everyone.window_s)
        return await self.store.prune_login_throttle(idle_s=idle_s, now=self._clock())


def _pair(limit: Limit) -> tuple[int, float]:
    return limit.max_failures, limit.window_s
