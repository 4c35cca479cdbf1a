"""The transport seam both vendor clients share: ``HttpCore`` and ``VendorClientBase``.

- ``encode_json`` / ``decode_json`` (``_json.py``): a ``Decimal`` goes out as a number literal
  written from its digits (never through ``float``); numbers come back as ``Decimal``.
- ``CallRecord`` and ``redact`` (``_records.py``): what the audit trail sees of each call,
  without secrets.
- ``HttpCore``: one ``httpx.AsyncClient`` per vendor client (the transport is injectable; by
  default httpx's own, with one TLS context shared by the process). Every
  send is bounded by ``asyncio.timeout`` too, because ``httpx.ASGITransport`` ignores httpx
  timeouts; answers are classified (``_classify.py``), retried within bounds by stamina, and
  reported to ``on_call``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from types import TracebackType
from typing import Any, Self

import httpx
import stamina
from pydantic import SecretStr

from ml_connector.clients._classify import (
    SAFE_METHODS,
    ErrorContext,
    classify,
    retry_delay,
    transport_error,
)
from ml_connector.clients._json import decode_json, encode_json
from ml_connector.clients._oauth import AccessToken, ClientCredentialsAuth
from ml_connector.clients._ratelimit import RateLimiter
from ml_connector.clients._records import CallRecord, redact, sent_body, summary
from ml_connector.errors import VendorError

__all__ = [
    "CallRecord",
    "HttpCore",
    "Reply",
    "VendorClientBase",
    "decode_json",
    "encode_json",
    "redact",
]


@dataclass(frozen=True)
class Reply:
    """A successful answer: status, headers, raw bytes and the decoded JSON (None if not JSON)."""

    status: int
    headers: httpx.Headers
    content: bytes
    data: Any


def _json_or_none(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", "json"):
        return None
    try:
        return decode_json(response.content)
    except ValueError:
        return None


# --- the core -----------------------------------------------------------------------------------


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for the process: building one loads the CA bundle."""
    return httpx.create_ssl_context()


class HttpCore:
    """Sends requests for one vendor client: timeouts, classification, retries and records."""

    def __init__(
        self,
        *,
        system: str,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None,
        timeout_s: float,
        clock: Callable[[], float],
        retries: int,
        on_call: Callable[[CallRecord], None] | None,
        secrets: Callable[[], Iterable[str]],
        api_headers: Mapping[str, str] | None = None,
        context: ErrorContext | None = None,
        max_retry_after_s: float = 30.0,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.system = system
        self.limiter = limiter or RateLimiter()
        self.base_url = httpx.URL(base_url.rstrip("/"))
        self.context = context or ErrorContext()
        if transport is None:  # httpx's own transport, one TLS context for the process
            self._client = httpx.AsyncClient(timeout=timeout_s, verify=shared_ssl_context())
        else:
            self._client = httpx.AsyncClient(transport=transport, timeout=timeout_s)
        self._timeout_s = timeout_s
        self._clock = clock
        self._retries = max(0, retries)
        self._on_call = on_call
        self._secrets = secrets
        self._api_headers = dict(api_headers or {})
        self._max_retry_after_s = max_retry_after_s

    def __repr__(self) -> str:
        return f"HttpCore(system={self.system!r}, base_url={str(self.base_url)!r})"

    def url(self, path_or_url: str) -> httpx.URL:
        """An absolute URL: paths are joined to the base URL, absolute URLs kept verbatim."""
        if "://" in path_or_url:
            return httpx.URL(path_or_url)
        return httpx.URL(str(self.base_url) + "/" + path_or_url.lstrip("/"))

    def same_origin(self, url: httpx.URL) -> bool:
        """True when ``url`` points at the vendor's API host (scheme, host and port)."""
        base = self.base_url
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        idempotent: bool | None = None,
        follow_redirects: bool = False,
        limited: bool = True,
    ) -> Reply:
        """Send one logical request (with bounded in-call retries) and return the success.

        Raises a ``VendorError`` subclass for every failure. ``idempotent`` defaults to the
        method being GET/HEAD/OPTIONS; token requests pass True because they change nothing.
        ``limited`` False skips the rate limiter (a token endpoint outside the vendor's quota).
        """
        method = method.upper()
        safe = method in SAFE_METHODS if idempotent is None else idempotent
        decide = partial(retry_delay, idempotent=safe, max_retry_after_s=self._max_retry_after_s)
        async for attempt in stamina.retry_context(
            on=decide, attempts=self._retries + 1, timeout=None, wait_initial=0.5, wait_max=10.0
        ):
            with attempt:
                return await self._send_once(
                    method,
                    self.url(path_or_url),
                    params=params,
                    json_body=json_body,
                    form=form,
                    files=files,
                    headers=headers,
                    auth=auth,
                    idempotent=safe,
                    follow_redirects=follow_redirects,
                    limited=limited,
                )
        raise AssertionError("stamina ended without an attempt")  # pragma: no cover

    async def _send_once(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: Mapping[str, str] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
        files: Mapping[str, tuple[str, bytes, str]] | None,
        headers: Mapping[str, str] | None,
        auth: httpx.Auth | None,
        idempotent: bool,
        follow_redirects: bool,
        limited: bool = True,
    ) -> Reply:
        ours = self.same_origin(url)
        gated = ours and limited
        request = self._build(method, url, ours, params, json_body, form, files, headers)
        shown_path = request.url.raw_path.decode() if ours else request.url.path
        sent = sent_body(json_body, form, files)
        await _token_first(auth)
        secrets = list(self._secrets())
        if gated:
            await self.limiter.acquire()
        started = self._clock()
        try:
            response = await self._send_bounded(request, auth, follow_redirects, gated)
        except (TimeoutError, httpx.TransportError) as exc:
            failure = transport_error(
                exc,
                system=self.system,
                method=method,
                path=request.url.path,
                idempotent=idempotent,
            )
            self._record(method, shown_path, None, started, (sent, None), failure, secrets)
            raise failure from exc
        secrets = list(self._secrets())  # the auth flow may have fetched a new token
        if gated:
            self.limiter.observe(response.status_code, response.headers)
        error = classify(
            response,
            system=self.system,
            context=self.context,
            scrub=secrets,
            idempotent=idempotent,
        )
        data = _json_or_none(response)
        bodies = (sent, data if data is not None else summary(response))
        self._record(method, shown_path, response.status_code, started, bodies, error, secrets)
        if error is not None:
            raise error
        return Reply(response.status_code, response.headers, response.content, data)

    def _build(
        self,
        method: str,
        url: httpx.URL,
        ours: bool,
        params: Mapping[str, str] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
        files: Mapping[str, tuple[str, bytes, str]] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Request:
        """The request as sent: the API headers only to the vendor's own host."""
        all_headers = {**(self._api_headers if ours else {}), **(headers or {})}
        content: bytes | None = None
        if json_body is not None:
            content = encode_json(json_body)
            all_headers["Content-Type"] = "application/json"
        return self._client.build_request(
            method,
            url,
            params=params,
            content=content,
            data=form,
            files=files,
            headers=all_headers,
        )

    async def _send_bounded(
        self,
        request: httpx.Request,
        auth: httpx.Auth | None,
        follow_redirects: bool,
        gated: bool,
    ) -> httpx.Response:
        """Send within the timeout; without an answer, hand the limiter's slot back."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._client.send(
                    request, auth=auth, follow_redirects=follow_redirects
                )
        except BaseException:  # no answer: a transport failure, a failed auth flow, cancelled
            if gated:
                self.limiter.release()
            raise

    def _record(
        self,
        method: str,
        path: str,
        status: int | None,
        started: float,
        bodies: tuple[Any, Any],
        error: VendorError | None,
        secrets: list[str],
    ) -> None:
        if self._on_call is None:
            return
        request_body, response_body = bodies
        self._on_call(
            CallRecord(
                system=self.system,
                method=method,
                path=path,
                status=status,
                duration_ms=round((self._clock() - started) * 1000.0, 3),
                request_body=redact(request_body, secrets),
                response_body=redact(response_body, secrets),
                error=redact(str(error), secrets) if error is not None else None,
            )
        )


async def _token_first(auth: httpx.Auth | None) -> None:
    """Get the token first, outside the send's timeout: a slow token endpoint must not make a
    write that was never sent look ambiguous."""
    if isinstance(auth, ClientCredentialsAuth):
        try:
            await auth.token()
        except VendorError as exc:
            exc.while_authenticating = True  # type: ignore[attr-defined]
            raise


class VendorClientBase:
    """What both vendor clients share: closing as an async context manager, and knowing which
    strings (client secret, current token) must never reach a record or an error.

    Subclasses set ``_http``, ``_auth`` and ``_client_secret`` in their constructor.
    """

    _http: HttpCore
    _auth: ClientCredentialsAuth
    _client_secret: SecretStr

    @property
    def limiter(self) -> RateLimiter:
        """The client's rate limiter (its counters feed metrics)."""
        return self._http.limiter

    def _connect(
        self,
        *,
        system: str,
        base_url: str,
        client_secret: SecretStr,
        fetch_token: Callable[[], Awaitable[AccessToken]],
        transport: httpx.AsyncBaseTransport | None,
        timeout_s: float,
        clock: Callable[[], float],
        retries: int,
        on_call: Callable[[CallRecord], None] | None,
        leeway_s: float,
        max_retry_after_s: float,
        limiter: RateLimiter,
        api_headers: Mapping[str, str],
        context: ErrorContext | None = None,
    ) -> None:
        """Build the transport seam and the token flow; each client calls this once."""
        self._client_secret = client_secret
        self._http = HttpCore(
            system=system,
            base_url=base_url,
            transport=transport,
            timeout_s=timeout_s,
            clock=clock,
            retries=retries,
            on_call=on_call,
            secrets=self._secrets,
            api_headers=api_headers,
            context=context,
            max_retry_after_s=max_retry_after_s,
            limiter=limiter,
        )
        self._auth = ClientCredentialsAuth(fetch_token, clock=clock, leeway_s=leeway_s)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying HTTP client (and its transport)."""
        await self._http.aclose()

    def _secrets(self) -> Iterable[str]:
        yield self._client_secret.get_secret_value()
        if self._auth.cached is not None:
            yield self._auth.cached.value.get_secret_value()
