"""The transport seam both vendor clients share: exact JSON, call records, and ``HttpCore``.

- ``encode_json`` / ``decode_json``: a ``Decimal`` goes out as a number literal written from its
  digits (never through ``float``); numbers come back as ``Decimal``.
- ``CallRecord`` and ``redact``: what the audit trail sees of each call, without secrets.
- ``HttpCore``: one ``httpx.AsyncClient`` per vendor client (the transport is injectable; by
  default httpx's own, with one TLS context shared by the process). Every
  send is bounded by ``asyncio.timeout`` too, because ``httpx.ASGITransport`` ignores httpx
  timeouts; answers are classified (``_classify.py``), retried within bounds by stamina, and
  reported to ``on_call``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
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
from ml_connector.clients._oauth import AccessToken, ClientCredentialsAuth
from ml_connector.clients._ratelimit import RateLimiter
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

REDACTED = "***"
# Keys whose values never leave this module in a CallRecord, whatever the endpoint.
SECRET_KEYS = frozenset(
    {"client_secret", "secret", "access_token", "refresh_token", "token", "password"}
)
_TEXT_LIMIT = 2000


# --- JSON -------------------------------------------------------------------------------------


def encode_json(value: Any) -> bytes:
    """Serialise ``value`` to JSON bytes; ``Decimal`` becomes an exact number literal.

    Floats are refused: money and quantities travel as ``Decimal`` or ``int`` only. Dates and
    date-times become ISO-8601 strings, enums their value.
    """
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts).encode()


def _encode(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append({None: "null", True: "true", False: "false"}[value])
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as a JSON number")
        out.append(format(value, "f"))
    elif isinstance(value, Enum):
        _encode(value.value, out)
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        raise TypeError("floats are not encoded: use Decimal or int")
    elif isinstance(value, date):  # datetime is a date too
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, not {type(key).__name__}")
            out.append(("," if index else "") + json.dumps(key, ensure_ascii=False) + ":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def decode_json(content: bytes) -> Any:
    """Parse JSON bytes with every non-integer number as ``Decimal``; empty content is None."""
    if not content.strip():
        return None
    return json.loads(content, parse_float=Decimal, parse_constant=_no_constants)


# --- call records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    """One vendor call as the audit trail sees it; bodies are already redacted."""

    system: str
    method: str
    path: str
    status: int | None
    duration_ms: float
    request_body: Any
    response_body: Any
    error: str | None


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of ``value`` with secret-named keys masked and any known secret text scrubbed."""
    known = [s for s in secrets if s]
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str) and key.lower() in SECRET_KEYS
            else redact(item, known)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, known) for item in value]
    if isinstance(value, str):
        for secret in known:
            value = value.replace(secret, REDACTED)
        return value
    return value


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
        all_headers = {**(self._api_headers if ours else {}), **(headers or {})}
        content: bytes | None = None
        if json_body is not None:
            content = encode_json(json_body)
            all_headers["Content-Type"] = "application/json"
        request = self._client.build_request(
            method,
            url,
            params=params,
            content=content,
            data=form,
            files=files,
            headers=all_headers,
        )
        shown_path = request.url.raw_path.decode() if ours else request.url.path
        sent_body = _sent_body(json_body, form, files)
        if isinstance(auth, ClientCredentialsAuth):
            # Get the token first, outside the timeout below: a slow token endpoint must not
            # make a write that was never sent look ambiguous.
            try:
                await auth.token()
            except VendorError as exc:
                exc.while_authenticating = True  # type: ignore[attr-defined]
                raise
        secrets = list(self._secrets())
        if gated:
            await self.limiter.acquire()
        started = self._clock()
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.send(
                    request, auth=auth, follow_redirects=follow_redirects
                )
        except (TimeoutError, httpx.TransportError) as exc:
            if gated:
                self.limiter.release()
            failure = transport_error(
                exc,
                system=self.system,
                method=method,
                path=request.url.path,
                idempotent=idempotent,
            )
            self._record(method, shown_path, None, started, (sent_body, None), failure, secrets)
            raise failure from exc
        except BaseException:  # the auth flow failed, or we were cancelled: no answer either
            if gated:
                self.limiter.release()
            raise
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
        bodies = (sent_body, data if data is not None else _summary(response))
        self._record(method, shown_path, response.status_code, started, bodies, error, secrets)
        if error is not None:
            raise error
        return Reply(response.status_code, response.headers, response.content, data)

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


def _sent_body(
    json_body: Any,
    form: Mapping[str, str] | None,
    files: Mapping[str, tuple[str, bytes, str]] | None,
) -> Any:
    if json_body is not None:
        return json_body
    if form is not None:
        return dict(form)
    if files is not None:
        return {
            name: {"filename": f[0], "bytes": len(f[1]), "content_type": f[2]}
            for name, f in files.items()
        }
    return None


def _summary(response: httpx.Response) -> Any:
    """What a record shows of a body that is not JSON: short text, or only its size."""
    if not response.content:
        return None
    kind = response.headers.get("content-type", "")
    if kind.startswith("text/"):
        return response.text[:_TEXT_LIMIT]
    return f"<{len(response.content)} bytes>"


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
