"""The typed Ramp Developer API client (``/developer/v1``), async over httpx.

Paths, query names and bodies follow Ramp's OpenAPI spec; unknown filter or field names are
refused here, because some Ramp endpoints ignore extras silently. Lists are async iterators
that follow ``page.next`` verbatim, one page in memory at a time. The bearer token is only ever
sent to the host of ``RampCredentials.base_url``.

The client is put together from parts: ``ramp_calls`` (credentials, token, paging),
``ramp_payables`` (bills, vendors, entities, purchase orders, webhooks, files),
``ramp_accounting`` (connection, chart, fields, syncs) and ``ramp_wire`` (queries, bodies).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from ml_connector.clients._http import CallRecord
from ml_connector.clients._oauth import TokenInfo
from ml_connector.clients._ratelimit import RateLimiter, SlidingWindowLimiter
from ml_connector.clients.ramp_accounting import RampAccounting
from ml_connector.clients.ramp_calls import (
    DEFAULT_RAMP_OPTIONAL_SCOPES,
    DEFAULT_RAMP_SCOPES,
    SYSTEM,
    RampCredentials,
)
from ml_connector.clients.ramp_payables import RampPayables
from ml_connector.errors import PermissionDenied

__all__ = ["DEFAULT_RAMP_OPTIONAL_SCOPES", "DEFAULT_RAMP_SCOPES", "RampClient", "RampCredentials"]


class RampClient(RampPayables, RampAccounting):
    """Ramp Developer API. Use as ``async with RampClient(creds) as ramp: …``."""

    def __init__(
        self,
        creds: RampCredentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        retries: int = 3,
        on_call: Callable[[CallRecord], None] | None = None,
        leeway_s: float = 60.0,
        max_retry_after_s: float = 30.0,
        page_size: int = 100,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._creds = creds
        self._clock = clock
        self._page_size = max(2, min(100, page_size))
        self._connect(
            system=SYSTEM,
            base_url=creds.base_url,
            client_secret=creds.client_secret,
            fetch_token=self._fetch_token,
            transport=transport,
            timeout_s=timeout_s,
            clock=clock,
            retries=retries,
            on_call=on_call,
            leeway_s=leeway_s,
            max_retry_after_s=max_retry_after_s,
            limiter=limiter or SlidingWindowLimiter(200, 10.0),
            api_headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"RampClient(client_id={self._creds.client_id!r}, base_url={self._creds.base_url!r})"

    # --- connection checks ---------------------------------------------------------------------

    async def get_token_info(self) -> TokenInfo:
        """Obtain (or reuse) a token and report its granted scopes and remaining validity."""
        token = await self._auth.token()
        return TokenInfo(token.scopes, token.expires_at - self._clock())

    async def ping(self) -> TokenInfo:
        """Check the credentials end to end: a token with every required scope, one cheap read.

        Ramp silently drops scopes the app may not use, so a missing required scope is
        reported here as PermissionDenied naming it, rather than later as a 403 on some call.
        A missing optional scope is only reported (``TokenInfo.missing_optional``).
        """
        info = await self.get_token_info()
        optional: tuple[str, ...] = ()
        if info.scopes is not None:
            missing = sorted(set(self._creds.scopes) - set(info.scopes))
            if missing:
                raise PermissionDenied(
                    SYSTEM,
                    f"Ramp granted the token without the scopes {', '.join(missing)}. Enable "
                    "them for the app in Ramp (Developer settings) and reconnect.",
                )
            optional = tuple(s for s in self._creds.optional_scopes if s not in info.scopes)
        granted = info.scopes if info.scopes is not None else self._creds.requested
        probe = "/entities" if "entities:read" in granted else "/bills"
        await self._call("GET", probe, params={"page_size": "2"})
        return TokenInfo(info.scopes, info.expires_in_s, optional)
