"""The Ramp client's plumbing: credentials and scopes, the client-credentials token, one call,
``page.next`` paging (never to another host), and asking for a scope on first use."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from ml_connector.clients._http import VendorClientBase
from ml_connector.clients._oauth import AccessToken, parse_token
from ml_connector.errors import FatalVendorError
from ml_connector.settings import DEFAULT_RAMP_BASE_URL

__all__ = [
    "API",
    "DEFAULT_RAMP_OPTIONAL_SCOPES",
    "DEFAULT_RAMP_SCOPES",
    "SYSTEM",
    "RampCalls",
    "RampCredentials",
]

SYSTEM = "Ramp"
API = "/developer/v1"
CLIENT_CREDENTIALS_TTL_S = 864_000.0  # ten days, Ramp's documented lifetime

# What the core flows need (bills, suppliers, chart, write-back); see flows.scopes.
DEFAULT_RAMP_SCOPES: tuple[str, ...] = (
    "bills:read",
    "vendors:read",
    "vendors:write",
    "accounting:read",
    "accounting:write",
)
# Asked for, but not required, by a client built without a connection's scope plan (tools and
# tests that use every method); the product asks for what its flows use (flows.scopes).
DEFAULT_RAMP_OPTIONAL_SCOPES: tuple[str, ...] = (
    "purchase_orders:read",
    "bills:write",
    "entities:read",
)


@dataclass(frozen=True)
class RampCredentials:
    """Client credentials for one Ramp business; the repr masks the secret."""

    client_id: str
    client_secret: SecretStr
    base_url: str = DEFAULT_RAMP_BASE_URL
    scopes: tuple[str, ...] = DEFAULT_RAMP_SCOPES  # required: ping fails without them
    optional_scopes: tuple[str, ...] = DEFAULT_RAMP_OPTIONAL_SCOPES  # asked for; may be absent

    @property
    def requested(self) -> tuple[str, ...]:
        """Every scope the token request asks for, required first."""
        return (*self.scopes, *(s for s in self.optional_scopes if s not in self.scopes))


class RampCalls(VendorClientBase):
    """What every part of ``RampClient`` calls through; ``RampClient.__init__`` sets it up."""

    _creds: RampCredentials
    _clock: Callable[[], float]
    _page_size: int

    async def _fetch_token(self) -> AccessToken:
        pair = f"{self._creds.client_id}:{self._creds.client_secret.get_secret_value()}"
        reply = await self._http.request(
            "POST",
            f"{API}/token",
            form={"grant_type": "client_credentials", "scope": " ".join(self._creds.requested)},
            headers={"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()},
            idempotent=True,
        )
        return parse_token(
            reply.data, system=SYSTEM, now=self._clock(), default_ttl_s=CLIENT_CREDENTIALS_TTL_S
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        reply = await self._http.request(
            method,
            API + path,
            params=params,
            json_body=body,
            auth=self._auth,
            idempotent=idempotent,
        )
        return reply.data

    async def _pages(self, path: str, params: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Rows of a paginated list, following ``page.next`` verbatim until it is null."""
        url = API + path
        query: dict[str, str] | None = {**params, "page_size": str(self._page_size)}
        while True:
            reply = await self._http.request("GET", url, params=query, auth=self._auth)
            data = reply.data if isinstance(reply.data, dict) else {}
            for row in data.get("data") or []:
                yield row
            link = (data.get("page") or {}).get("next")
            if not link:
                return
            target = self._http.url(str(link))
            if not self._http.same_origin(target):
                raise FatalVendorError(
                    SYSTEM, f"next-page link points at another host ({target.host}); not followed"
                )
            if query is None and str(target) == url:
                raise FatalVendorError(SYSTEM, "next-page link repeats; pagination stopped")
            url, query = str(target), None

    def _asking(self, scopes: Sequence[str]) -> None:
        """Make sure the token is asked for ``scopes``, adding them as optional if not.

        A connection asks only for what its enabled flows use (flows.scopes); an explicit
        request for a flow that is off (``sync --only purchase-orders``, a webhook subscription
        to its events) asks for its read scope when it first needs it.
        """
        missing = tuple(s for s in scopes if s not in self._creds.requested)
        if missing:
            extra = (*self._creds.optional_scopes, *missing)
            self._creds = dataclasses.replace(self._creds, optional_scopes=extra)
            self._auth.forget()
