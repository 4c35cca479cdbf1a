"""The Visma client's plumbing: credentials, the token flow (optional scopes dropped when Visma
refuses them), one call with ``If-Match``, single reads, creates keyed by ``Location``, and
paging by ``pageNumber``/``pageSize`` until an empty page or ``metadata.totalCount``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from ml_connector.clients._http import Reply, VendorClientBase
from ml_connector.clients._oauth import AccessToken, parse_token
from ml_connector.clients.visma_wire import key_from_location
from ml_connector.errors import AmbiguousOutcome, FatalVendorError, NotFound, PermissionDenied
from ml_connector.settings import DEFAULT_VISMA_BASE_URL, DEFAULT_VISMA_TOKEN_URL

__all__ = [
    "DEFAULT_VISMA_OPTIONAL_SCOPES",
    "DEFAULT_VISMA_SCOPES",
    "SYSTEM",
    "VismaCalls",
    "VismaCredentials",
]

SYSTEM = "Visma"
DEFAULT_TOKEN_TTL_S = 3600.0  # when Visma Connect leaves out expires_in
# Required by the flows (writes and release actions); ``delete`` is asked for but optional.
DEFAULT_VISMA_SCOPES: tuple[str, ...] = tuple(
    f"vismanet_erp_service_api:{verb}" for verb in ("read", "create", "update")
)
DEFAULT_VISMA_OPTIONAL_SCOPES: tuple[str, ...] = ("vismanet_erp_service_api:delete",)


@dataclass(frozen=True)
class VismaCredentials:
    """Visma Connect service credentials for one company; the repr masks the secret."""

    client_id: str
    client_secret: SecretStr
    tenant_id: str
    company_id: str
    base_url: str = DEFAULT_VISMA_BASE_URL
    token_url: str = DEFAULT_VISMA_TOKEN_URL
    scopes: tuple[str, ...] = DEFAULT_VISMA_SCOPES  # required
    optional_scopes: tuple[str, ...] = DEFAULT_VISMA_OPTIONAL_SCOPES  # asked for; may be refused


class VismaCalls(VendorClientBase):
    """What every part of ``VismaClient`` calls through; ``VismaClient.__init__`` sets it up."""

    _creds: VismaCredentials
    _clock: Callable[[], float]
    _page_size: int
    _optional_refused: bool  # Visma refused the optional scopes once

    async def _fetch_token(self) -> AccessToken:
        """A token for the required and optional scopes; without the optional ones when Visma
        refuses them (Visma Connect refuses a scope the application was not given with
        ``invalid_scope``, rather than dropping it)."""
        c = self._creds
        optional = tuple(s for s in c.optional_scopes if s not in c.scopes)
        if optional and not self._optional_refused:
            try:
                return await self._token_for((*c.scopes, *optional))
            except PermissionDenied:
                self._optional_refused = True  # retry once without them, and remember
        return await self._token_for(c.scopes)

    async def _token_for(self, scopes: tuple[str, ...]) -> AccessToken:
        c = self._creds
        form = {
            "grant_type": "client_credentials",
            "client_id": c.client_id,
            "client_secret": c.client_secret.get_secret_value(),
            "tenant_id": c.tenant_id,
            "scope": " ".join(scopes),
        }
        headers = {"Accept": "application/json"}
        reply = await self._http.request(
            "POST", c.token_url, form=form, headers=headers, idempotent=True, limited=False
        )
        return parse_token(
            reply.data, system=SYSTEM, now=self._clock(), default_ttl_s=DEFAULT_TOKEN_TTL_S
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        etag: str | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Reply:
        headers = {"If-Match": etag} if etag else None
        return await self._http.request(
            method,
            path,
            params=params,
            json_body=body,
            files=files,
            headers=headers,
            auth=self._auth,
        )

    async def _one(self, path: str, params: Mapping[str, str] | None = None) -> Reply | None:
        """One object, or None when Visma answers 404."""
        try:
            return await self._call("GET", path, params=params)
        except NotFound:
            return None

    async def _create(self, path: str, body: Any) -> str:
        reply = await self._call("POST", path, body=body)
        key = key_from_location(reply)
        if key is None:
            raise AmbiguousOutcome(
                SYSTEM, "created, but the answer carried no Location: look the object up", path=path
            )
        return key

    async def _pages(self, path: str, params: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Records of a paged list: pageNumber 1, 2, … until an empty page or ``totalCount``.

        Visma caps ``pageSize`` silently and may leave out ``metadata.maxPageSize`` (reference
        §4), so a page shorter than asked proves nothing: reading stops only at an empty page,
        or once ``metadata.totalCount`` records have been read. ``maxPageSize``, when given,
        only makes the next request ask for what Visma will answer.
        """
        size, number, seen = self._page_size, 1, 0
        previous: list[Any] | None = None
        total: int | None = None
        while True:
            query = {**params, "pageNumber": str(number), "pageSize": str(size)}
            data = (await self._call("GET", path, params=query)).data
            rows = data.get("records", []) if isinstance(data, dict) else data or []
            if not rows:
                return
            if rows == previous:  # the server ignores pageNumber: this is all it gives
                if total is not None and seen < total:
                    raise FatalVendorError(
                        SYSTEM,
                        f"{path} repeats page {number - 1} after {seen} of {total} records; "
                        "paging stopped rather than leave records out silently",
                    )
                return
            for row in rows:
                yield row
            seen += len(rows)
            meta = rows[0].get("metadata") if isinstance(rows[0], dict) else None
            meta = meta if isinstance(meta, dict) else {}
            cap = meta.get("maxPageSize")
            if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
                size = min(size, cap)
            count = meta.get("totalCount")
            if isinstance(count, int) and not isinstance(count, bool):
                total = count
                if seen >= total:
                    return
            previous, number = rows, number + 1

    async def _all(self, path: str, params: Mapping[str, str]) -> list[Any]:
        """An unpaged list endpoint, read at once."""
        data = (await self._call("GET", path, params=params)).data
        return data if isinstance(data, list) else []
