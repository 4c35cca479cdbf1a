"""The API front door: path routing, bearer/company/scope checks and rate limiting.

Routing is case-insensitive on literal segments (Visma accepts ``supplierinvoice`` as well as
``supplierInvoice``) and accepts the legacy prefixes: ``/API/controller/api/v1/...`` for the
service API and ``/API/resources/v1/...`` for the legacy resources. Path parameters keep their
case. Where templates overlap, literal segments win over parameters.

Checks run in this order for every matched route:
1. bearer token (401, empty body, ``WWW-Authenticate: Bearer``; the body of Visma's gateway 401
   is undocumented, so empty is the sandbox's choice);
2. ``ipp-company-id``: absent is fine; a value that is not the token's company → 400
   IPPException 12002;
3. rate limit per company + client (429 + ``Retry-After``; headers on every answer);
4. scope for the verb (403 ``{"message": …}``, a documented guess).

Handlers are synchronous and run under the company's lock, so each request is atomic with
respect to the others and to the Python control methods.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ml_connector.sandbox.visma.auth import SCOPE_PREFIX, Grant, TokenService
from ml_connector.sandbox.visma.behaviour import CompanyBehaviour
from ml_connector.sandbox.visma.listing import PAGE_METADATA, Query
from ml_connector.sandbox.visma.ratelimit import FixedWindowLimiter
from ml_connector.sandbox.visma.responses import (
    ApiError,
    etag_matches,
    ipp_exception,
    visma_message,
)
from ml_connector.sandbox.visma.state import CompanyState
from ml_connector.sandbox.visma.webhooks import EventPublisher

__all__ = ["ApiDispatcher", "ApiRequest", "Handler", "Router", "UploadedFile"]

_LEGACY_API = re.compile(r"^/api/controller/api(?=/)", re.IGNORECASE)
_LEGACY_RESOURCES = re.compile(r"^/api(?=/resources/)", re.IGNORECASE)
_BUSINESS_REFUSAL = re.compile(r"^VismaId: [^ ]+\. Error: ")
_VERB_SCOPES = {"GET": "read", "POST": "create", "PUT": "update", "DELETE": "delete"}


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    content: bytes


@dataclass
class ApiRequest:
    """What a handler sees of one call."""

    method: str
    params: dict[str, str]
    query: Query
    headers: dict[str, str]
    body: bytes
    files: list[UploadedFile]
    base: str  # scheme://host plus the prefix the caller used, e.g. http://visma.test
    company: CompanyState
    grant: Grant
    events: EventPublisher
    behaviour: CompanyBehaviour

    @property
    def max_page_size(self) -> int:
        return self.behaviour.max_page_size

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON, numbers as ``Decimal``; 400 when it is not JSON."""
        if not self.body.strip():
            raise ApiError.bad_request("The request is invalid. The request body is empty.")
        try:
            return json.loads(self.body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise ApiError.bad_request(
                "The request is invalid. The request body is not valid JSON."
            ) from None

    def require_version(self, version: int, resource: str) -> None:
        """412 (the spec's wording) unless If-Match is absent or names ``version``."""
        if not etag_matches(self.header("if-match"), version):
            raise ApiError(
                412, {"message": f"{resource} version does not match with If-Match header"}
            )

    def url(self, *segments: str) -> str:
        """An absolute URL on the caller's host, e.g. for ``Location``."""
        return self.base + "/" + "/".join(quote(segment, safe="") for segment in segments)


Handler = Callable[[ApiRequest], Response]


@dataclass(frozen=True)
class _Route:
    method: str
    segments: tuple[str, ...]
    handler: Handler
    scope: str

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for template, part in zip(self.segments, parts, strict=True):
            if template.startswith("{"):
                if not part:
                    return None
                params[template[1:-1]] = part
            elif template.lower() != part.lower():
                return None
        return params

    @property
    def specificity(self) -> tuple[int, ...]:
        return tuple(1 if segment.startswith("{") else 0 for segment in self.segments)


@dataclass
class Router:
    """Templates such as ``/v1/supplier/{supplierCd}`` mapped to handlers."""

    _routes: list[_Route] = field(default_factory=list)

    def add(self, method: str, template: str, handler: Handler, *, scope: str = "") -> None:
        """Register ``handler``; ``scope`` defaults to the verb's (actions pass ``update``)."""
        verb = method.upper()
        self._routes.append(
            _Route(
                verb, tuple(template.strip("/").split("/")), handler, scope or _VERB_SCOPES[verb]
            )
        )

    def templates(self) -> list[tuple[str, str]]:
        """(method, template) of every registered route, in registration order."""
        return [(route.method, "/" + "/".join(route.segments)) for route in self._routes]

    def resolve(self, method: str, parts: list[str]) -> tuple[_Route, dict[str, str]]:
        """The best route for a path's decoded segments; 404 or 405 as an ``ApiError``."""
        matching: list[tuple[_Route, dict[str, str]]] = []
        for route in self._routes:
            params = route.match(parts)
            if params is not None:
                matching.append((route, params))
        if not matching:
            raise ApiError(404, {"statusCode": 404, "message": "Resource not found"})
        allowed = [(route, params) for route, params in matching if route.method == method]
        if not allowed:
            verbs = ", ".join(sorted({route.method for route, _ in matching}))
            raise ApiError(
                405,
                visma_message(f"The requested resource does not support HTTP method '{method}'."),
                {"Allow": verbs},
            )
        return min(allowed, key=lambda pair: pair[0].specificity)


def split_path(raw_path: str) -> tuple[list[str], str]:
    """(decoded segments without a legacy prefix, the prefix that was removed).

    Segments are split before percent-decoding, so an encoded ``/`` stays inside its key.
    """
    prefix = ""
    for pattern in (_LEGACY_API, _LEGACY_RESOURCES):
        found = pattern.match(raw_path)
        if found:
            prefix, raw_path = raw_path[: found.end()], raw_path[found.end() :]
            break
    return [unquote(part) for part in raw_path.strip("/").split("/")], prefix


class ApiDispatcher:
    """The ASGI app behind every vendor-API path (everything but the token and control paths)."""

    def __init__(
        self,
        *,
        router: Router,
        tokens: TokenService,
        limiter: FixedWindowLimiter,
        companies: dict[str, CompanyState],
        events: EventPublisher,
        behaviour: CompanyBehaviour,
    ) -> None:
        self.router = router
        self.tokens = tokens
        self.limiter = limiter
        self.companies = companies
        self.events = events
        self.behaviour = behaviour

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self._answer(request)
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        parts, prefix = split_path(raw_path.decode("latin-1").split("?")[0])
        rate_headers: dict[str, str] = {}
        try:
            route, params = self.router.resolve(request.method, parts)
            grant = self.tokens.verify(request.headers.get("authorization"))
            if grant is None:
                raise ApiError(401, None, {"WWW-Authenticate": "Bearer"})
            company = self._company_for(request, grant.company_id)
            decision = self.limiter.hit((grant.company_id, grant.client_id))
            rate_headers = decision.headers
            if not decision.allowed:
                raise ApiError(
                    429,
                    {
                        "statusCode": 429,
                        "message": "Rate limit is exceeded. "
                        f"Try again in {decision.retry_after} seconds.",
                    },
                    {"Retry-After": str(decision.retry_after)},
                )
            needed = f"{SCOPE_PREFIX}:{route.scope}"
            if needed not in grant.scopes:
                raise ApiError(
                    403, visma_message(f"The access token does not grant the scope {needed}.")
                )
            api_request = ApiRequest(
                method=request.method,
                params=params,
                query=Query(request.query_params.multi_items()),
                headers={key.lower(): value for key, value in request.headers.items()},
                body=b"",
                files=[],
                base=f"{request.url.scheme}://{request.url.netloc}{prefix}",
                company=company,
                grant=grant,
                events=self.events,
                behaviour=self.behaviour,
            )
            await _read_body(request, api_request)
            with company.lock:
                company.background.tick(company.now())  # queued releases run meanwhile
                metadata = PAGE_METADATA.set(self.behaviour.page_metadata)
                try:
                    response = route.handler(api_request)
                finally:
                    PAGE_METADATA.reset(metadata)
        except ApiError as error:
            response = self._refusal(request.method, error).response()
        for name, value in rate_headers.items():
            response.headers[name] = value
        return response

    def _company_for(self, request: Request, company_id: str) -> CompanyState:
        """The token's company; a different ``ipp-company-id`` header is refused (400)."""
        company = self.companies[company_id]
        asked = request.headers.get("ipp-company-id")
        if asked is not None and asked.strip() != company_id:
            raise ApiError(
                400,
                ipp_exception("12002", f"The user is not authorised for company {asked.strip()}."),
            )
        return company

    def _refusal(self, method: str, error: ApiError) -> ApiError:
        """A business refusal of a write with the company's ``validation_status``.

        The sandbox's business texts read "VismaId: <id>. Error: …"; request-shape errors ("The
        request is invalid …") stay 400: model binding fails before the ERP's own checks run.
        """
        wanted = self.behaviour.validation_status
        if error.status != 400 or wanted == 400 or method not in ("POST", "PUT"):
            return error
        text = str((error.body or {}).get("message", ""))
        if not _BUSINESS_REFUSAL.match(text):
            return error
        return ApiError(wanted, error.body, error.headers)


async def _read_body(request: Request, api_request: ApiRequest) -> None:
    """Read JSON bodies as bytes and multipart bodies as files, before taking the lock."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/"):
        api_request.body = await request.body()
        return
    try:
        form = await request.form()
    except Exception as error:  # malformed multipart: python-multipart raises several types
        raise ApiError.bad_request(f"The multipart body could not be read: {error}") from None
    try:
        for value in form.values():
            if isinstance(value, str):
                continue
            content = await value.read()
            api_request.files.append(
                UploadedFile(
                    value.filename or "attachment",
                    value.content_type or "application/octet-stream",
                    content,
                )
            )
    finally:
        await form.close()
