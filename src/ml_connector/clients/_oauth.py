"""OAuth 2.0 client-credentials as an ``httpx.Auth``: cached, refreshed early, single-flight.

``ClientCredentialsAuth`` does not know how to reach a token endpoint; it is given ``fetch``, a
coroutine function the vendor client builds from its credentials (Ramp: HTTP Basic and a form at
``/developer/v1/token``; Visma: a form with client_id, client_secret, tenant_id and scope). So
the token request goes through the same timeouts, classification and call records as any call.

Contract:
- A cached token is reused until ``leeway_s`` before it expires, by the injected clock.
- However many calls need a token at once, one fetch runs (an ``asyncio.Lock``); the others wait
  for it and use its result.
- A 401 on an API call refreshes the token once and resends the request once; a second 401 is
  returned to the caller (and classified as AuthenticationError).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from ml_connector.errors import FatalVendorError

__all__ = ["AccessToken", "ClientCredentialsAuth", "TokenInfo", "parse_token"]


@dataclass(frozen=True)
class AccessToken:
    """A bearer token; ``expires_at`` is on the auth's clock. The repr never shows the token.

    ``scopes`` is what the endpoint said it granted, or None when it did not say.
    """

    value: SecretStr
    expires_at: float
    scopes: tuple[str, ...] | None = None
    issued_at: float | None = None  # on the same clock; lets a short-lived token be reused


@dataclass(frozen=True)
class TokenInfo:
    """What a connection check learned about its token: granted scopes and validity left.

    ``missing_optional`` names requested optional scopes the vendor did not grant (the
    features that need them stop; the connection works).
    """

    scopes: tuple[str, ...] | None
    expires_in_s: float
    missing_optional: tuple[str, ...] = ()


def parse_token(data: Any, *, system: str, now: float, default_ttl_s: float) -> AccessToken:
    """An ``AccessToken`` from a token endpoint's JSON answer.

    ``token_type`` must be Bearer (compared case-insensitively: Ramp's docs show "bearer").
    A missing ``expires_in`` falls back to ``default_ttl_s``.
    """
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise FatalVendorError(system, "token endpoint answered without an access_token")
    token_type = str(data.get("token_type") or "Bearer")
    if token_type.lower() != "bearer":
        raise FatalVendorError(system, f"token endpoint issued an unsupported {token_type} token")
    expires_in = data.get("expires_in")
    ttl = (
        float(expires_in)
        if isinstance(expires_in, int | Decimal) and not isinstance(expires_in, bool)
        else default_ttl_s
    )
    scope = data.get("scope")
    scopes = tuple(scope.split()) if isinstance(scope, str) else None
    return AccessToken(SecretStr(data["access_token"]), now + ttl, scopes, issued_at=now)


class ClientCredentialsAuth(httpx.Auth):
    """Bearer auth for one set of client credentials. Async only."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        *,
        clock: Callable[[], float],
        leeway_s: float = 60.0,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._leeway_s = leeway_s
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        # A failed fetch is shared with the callers that queued behind it, so a bad secret
        # costs one token request, not one per waiting call.
        self._failure: Exception | None = None
        self._fetches = 0

    def __repr__(self) -> str:
        state = "cached" if self._token is not None else "empty"
        return f"ClientCredentialsAuth(token={state}, leeway_s={self._leeway_s})"

    @property
    def cached(self) -> AccessToken | None:
        """The token in hand, if any (it may be stale)."""
        return self._token

    def forget(self) -> None:
        """Drop the cached token: the next call fetches a new one (e.g. for more scopes)."""
        self._token = None

    def _fresh(self, token: AccessToken | None) -> bool:
        if token is None:
            return False
        leeway = self._leeway_s
        if token.issued_at is not None:
            # A token that lives shorter than the leeway would otherwise never be reused.
            leeway = min(leeway, (token.expires_at - token.issued_at) / 2)
        return self._clock() < token.expires_at - leeway

    async def token(self) -> AccessToken:
        """A fresh token: the cached one, or one new fetch shared by every waiting caller."""
        if self._fresh(self._token):
            assert self._token is not None
            return self._token
        seen = self._fetches
        async with self._lock:
            if not self._fresh(self._token):
                self._token = await self._fetch_shared(seen)
            assert self._token is not None
            return self._token

    async def refresh(self, rejected: AccessToken) -> AccessToken:
        """Replace a token the vendor refused, unless another caller already replaced it."""
        seen = self._fetches
        async with self._lock:
            if self._token is None or self._token is rejected:
                self._token = await self._fetch_shared(seen)
            return self._token

    async def _fetch_shared(self, seen: int) -> AccessToken:
        """Fetch under the lock, unless a fetch that failed ran while this caller waited."""
        if self._fetches != seen and self._failure is not None:
            raise self._failure
        self._fetches += 1
        try:
            token = await self._fetch()
        except Exception as exc:
            self._failure = exc
            raise
        self._failure = None
        return token

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("ClientCredentialsAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token.value.get_secret_value()}"
        response = yield request
        if response.status_code != 401:
            return
        token = await self.refresh(token)
        request.headers["Authorization"] = f"Bearer {token.value.get_secret_value()}"
        yield request
