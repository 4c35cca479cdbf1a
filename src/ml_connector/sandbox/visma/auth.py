"""Visma Connect, simulated: the client-credentials token endpoint and bearer checks.

``POST /connect/token`` takes a form body (``grant_type=client_credentials``, ``client_id``,
``client_secret``, ``tenant_id``, ``scope``), or the client in HTTP Basic, as IdentityServer
does. Errors are the standard OAuth body ``{"error": …, "error_description": …}`` with HTTP 400:
``invalid_client``, ``invalid_tenant``, ``invalid_scope``, ``unsupported_grant_type``,
``invalid_request``. An omitted ``scope`` grants every scope the client may have. A client may
be limited to some scopes (the application's scopes in Visma's Developer Portal): asking for
another one is ``invalid_scope``, as OAuth 2.0 (RFC 6749 §5.2) says for a scope that
"exceeds the scope granted"; the token is not issued with the rest silently dropped.

A token is bound to one tenant and so to one company (Visma Connect: a tenant is a company).
Scopes map to verbs: read = GET, create = POST, update = PUT and actions, delete = DELETE.
Tokens never appear in reprs or logs; only their grants are inspectable.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from ml_connector.sandbox.visma.responses import json_response

__all__ = ["SCOPES", "SCOPE_PREFIX", "Grant", "TokenService"]

SCOPE_PREFIX: Final = "vismanet_erp_service_api"
SCOPES: Final = tuple(f"{SCOPE_PREFIX}:{verb}" for verb in ("read", "create", "update", "delete"))


@dataclass(frozen=True)
class Grant:
    """What one access token allows."""

    client_id: str
    tenant_id: str
    company_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class TokenService:
    """Registered clients and tenants, and the tokens issued to them."""

    clock: Callable[[], float]
    ttl_s: int = 3600
    _clients: dict[str, str] = field(default_factory=dict, repr=False)
    _allowed: dict[str, frozenset[str]] = field(default_factory=dict)
    _tenants: dict[str, str] = field(default_factory=dict)
    _tokens: dict[str, Grant] = field(default_factory=dict, repr=False)

    def add_client(
        self, client_id: str, client_secret: str, scopes: frozenset[str] | None = None
    ) -> None:
        """Register a client; ``scopes`` limits what it may ask for (None: all four)."""
        self._clients[client_id] = client_secret
        self._allowed[client_id] = frozenset(SCOPES) if scopes is None else scopes

    def add_tenant(self, tenant_id: str, company_id: str) -> None:
        self._tenants[tenant_id] = company_id

    def revoke_all(self) -> int:
        """Invalidate every issued token; returns how many there were."""
        count = len(self._tokens)
        self._tokens.clear()
        return count

    def granted(self) -> list[frozenset[str]]:
        """The scopes of every token issued (and not revoked), oldest first."""
        return [grant.scopes for grant in self._tokens.values()]

    def active_tokens(self) -> int:
        now = self.clock()
        return sum(1 for grant in self._tokens.values() if grant.expires_at > now)

    def issue(
        self, client_id: str, client_secret: str, tenant_id: str, scope: str | None
    ) -> tuple[str, Grant]:
        """Issue a token, or raise ``OAuthError``."""
        known = self._clients.get(client_id)
        if known is None or not secrets.compare_digest(known, client_secret):
            raise OAuthError("invalid_client", "Unknown client or wrong client secret.")
        company_id = self._tenants.get(tenant_id)
        if company_id is None:
            raise OAuthError(
                "invalid_tenant", "The tenant is unknown or has not approved this client."
            )
        allowed = self._allowed.get(client_id, frozenset(SCOPES))
        requested = frozenset(scope.split()) if scope and scope.strip() else allowed
        unknown = requested - allowed
        if unknown:
            raise OAuthError("invalid_scope", f"Scope not allowed: {' '.join(sorted(unknown))}")
        grant = Grant(client_id, tenant_id, company_id, requested, self.clock() + self.ttl_s)
        token = secrets.token_urlsafe(32)
        self._tokens[token] = grant
        return token, grant

    def verify(self, authorization: str | None) -> Grant | None:
        """The grant behind an ``Authorization: Bearer`` header, or None if missing/expired."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        grant = self._tokens.get(token.strip())
        if grant is None:
            return None
        if self.clock() >= grant.expires_at:
            del self._tokens[token.strip()]
            return None
        return grant

    async def token_endpoint(self, request: Request) -> Response:
        """``POST /connect/token``."""
        form = await request.form()
        fields = {key: str(value) for key, value in form.items()}
        client_id = fields.get("client_id", "")
        client_secret = fields.get("client_secret", "")
        basic = _basic_credentials(request.headers.get("authorization"))
        if basic is not None:
            client_id, client_secret = basic
        try:
            if fields.get("grant_type") != "client_credentials":
                raise OAuthError(
                    "unsupported_grant_type", "Only grant_type=client_credentials is supported."
                )
            if not client_id:
                raise OAuthError("invalid_client", "client_id is missing.")
            if not fields.get("tenant_id"):
                raise OAuthError("invalid_request", "tenant_id is missing.")
            token, grant = self.issue(
                client_id, client_secret, fields["tenant_id"], fields.get("scope")
            )
        except OAuthError as error:
            return json_response(
                {"error": error.code, "error_description": error.description},
                status=400,
                headers={"Cache-Control": "no-store"},
            )
        return json_response(
            {
                "access_token": token,
                "expires_in": self.ttl_s,
                "token_type": "Bearer",
                "scope": " ".join(sorted(grant.scopes)),
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


class OAuthError(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(code)
        self.code = code
        self.description = description


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None
