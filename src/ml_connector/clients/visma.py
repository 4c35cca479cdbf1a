"""The typed Visma.net ERP client (service API, ``/v1``), async over httpx.

This client is the only code in ml-connector that knows Visma's ``{"value": …}`` wrappers: write
models (``visma_models``) arrive unwrapped and are wrapped (``visma_wire``), field by field, as
the spec's ``*UpdateDto`` schemas say. Every call sends ``ipp-company-id`` and
``Accept: application/json``.

Conventions kept from the spec and Visma's docs:
- Lists page with ``pageNumber``/``pageSize`` until an empty page or until ``metadata.totalCount``
  records were read; a short page proves nothing, because Visma caps the page size silently and
  may leave out ``metadata.maxPageSize``. Endpoints without paging parameters are read once.
- A create answers 201 with the new key as the last segment of ``Location``.
- Reads of one object carry an ``ETag``; updates may send it back as ``If-Match`` (412 if moved).
- Unknown query parameters are refused here: Visma ignores them and returns unfiltered rows.

The client is put together from parts: ``visma_calls`` (credentials, tokens, paging),
``visma_payables`` (suppliers, invoices, orders, payments), ``visma_ledger`` (chart, projects,
VAT, periods) and ``visma_wire`` (wrapping, queries, keys, ETags).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from ml_connector.clients._classify import ErrorContext
from ml_connector.clients._http import CallRecord
from ml_connector.clients._oauth import TokenInfo
from ml_connector.clients._ratelimit import QuotaLimiter, RateLimiter
from ml_connector.clients.visma_calls import (
    DEFAULT_VISMA_OPTIONAL_SCOPES,
    DEFAULT_VISMA_SCOPES,
    SYSTEM,
    VismaCredentials,
)
from ml_connector.clients.visma_ledger import VismaLedger
from ml_connector.clients.visma_payables import VismaPayables
from ml_connector.clients.visma_wire import key_from_location, to_wire

__all__ = [
    "DEFAULT_VISMA_OPTIONAL_SCOPES",
    "DEFAULT_VISMA_SCOPES",
    "VismaClient",
    "VismaCredentials",
    "key_from_location",
    "to_wire",
]


class VismaClient(VismaPayables, VismaLedger):
    """Visma.net ERP service API. Use as ``async with VismaClient(creds) as visma: …``."""

    def __init__(
        self,
        creds: VismaCredentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        retries: int = 3,
        on_call: Callable[[CallRecord], None] | None = None,
        leeway_s: float = 60.0,
        max_retry_after_s: float = 30.0,
        page_size: int = 1000,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._creds = creds
        self._clock = clock
        self._page_size = max(1, page_size)
        self._optional_refused = False  # Visma refused the optional scopes once
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
            limiter=limiter or QuotaLimiter(),
            api_headers={"Accept": "application/json", "ipp-company-id": creds.company_id},
            context=ErrorContext(company_id=creds.company_id, tenant_id=creds.tenant_id),
        )

    def __repr__(self) -> str:
        c = self._creds
        return f"VismaClient(client_id={c.client_id!r}, company_id={c.company_id!r})"

    async def ping(self) -> TokenInfo:
        """Check credentials, tenant and company end to end: a token, then one cheap read.

        Optional scopes Visma refused, or left out of the token, are named in
        ``TokenInfo.missing_optional``; only a required one failing fails the check.
        """
        token = await self._auth.token()
        await self._call("GET", "/v1/supplier", params={"pageNumber": "1", "pageSize": "1"})
        optional = tuple(s for s in self._creds.optional_scopes if s not in self._creds.scopes)
        if not self._optional_refused and token.scopes is not None:
            optional = tuple(s for s in optional if s not in token.scopes)
        elif not self._optional_refused:
            optional = ()
        return TokenInfo(token.scopes, token.expires_at - self._clock(), optional)

    # --- legacy webhook subscriptions (API 9.11) ------------------------------------------------

    async def create_subscription(self, event: str, hook_uri: str) -> str:
        """Register ``hook_uri`` for a legacy event (``supplier_changed`` …); returns its id.

        Visma removed this endpoint on 30.04.2025 (NotFound there): subscribe in the Developer
        Portal instead. The body is the plain ``SubscriptionDto``, without value wrappers.
        """
        return await self._create(
            "/resources/v1/subscription", {"event": event, "hookUri": hook_uri}
        )
