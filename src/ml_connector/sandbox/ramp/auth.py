"""OAuth 2.0 client credentials for the Ramp sandbox: the token endpoints and the bearer check.

``POST /developer/v1/token`` (Ramp's authorization page and spec):
- the client authenticates with HTTP Basic (``client_id:client_secret``); the body is a form
  (``application/x-www-form-urlencoded``; JSON is accepted too, as the spec models it);
- ``grant_type=client_credentials`` with a space-separated ``scope``. The token gets the
  requested scopes that the app is allowed; disallowed ones are dropped silently, and omitting
  ``scope`` yields a token with no scopes (both observed live). A scope name Ramp does not
  have at all is refused with ``invalid_scope``;
- errors are OAuth-style: ``{"error": "invalid_client" | "invalid_grant" |
  "unsupported_grant_type" | "invalid_scope" | "invalid_request", "error_description": ...}``.

``POST /developer/v1/token/revoke`` takes the same Basic auth and a ``token`` form field.

Every other vendor route requires ``Authorization: Bearer <token>``: 401 ``DEVELOPER_7002``
when it is missing or unknown, 401 ``DEVELOPER_7028`` once expired (by the injected clock),
403 ``DEVELOPER_7100`` when the route's scope was not granted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ml_connector.sandbox.ramp.errors import ErrorCode, RampApiError

__all__ = ["KNOWN_SCOPES", "Token", "TokenStore"]

_SPEC_SCOPES = frozenset(
    {
        "accounting:read",
        "accounting:write",
        "bank_accounts:read",
        "bills:read",
        "bills:write",
        "business:read",
        "cards:read",
        "cards:read_vault",
        "cards:write",
        "cashbacks:read",
        "custom_records:read",
        "custom_records:write",
        "departments:read",
        "departments:write",
        "entities:read",
        "item_receipts:read",
        "item_receipts:write",
        "leads:read",
        "leads:write",
        "limits:read",
        "limits:write",
        "locations:read",
        "locations:write",
        "memos:read",
        "memos:write",
        "merchants:read",
        "purchase_orders:read",
        "purchase_orders:write",
        "receipt_integrations:read",
        "receipt_integrations:write",
        "receipts:read",
        "receipts:write",
        "reimbursements:read",
        "reimbursements:write",
        "repayments:read",
        "spend_programs:read",
        "spend_programs:write",
        "statements:read",
        "transactions:read",
        "transfers:read",
        "users:read",
        "users:write",
        "vendors:read",
        "vendors:write",
    }
)
_NEWER_SCOPES = frozenset(  # seen in 2026 material, not in the Aug 2025 spec
    {
        "applications:read",
        "applications:write",
        "audit_logs:read",
        "bank_accounts:write",
        "blank_canvas:write",
        "budgets:read",
        "funds:read",
        "funds:write",
        "incorporation:read",
        "incorporation:write",
        "tasks:read",
        "transactions:write",
        "treasury:read",
        "spend_requests:write",
        "workflows:read",
        "ai_usage:write",
        "openid",
        "offline_access",
    }
)
KNOWN_SCOPES = _SPEC_SCOPES | _NEWER_SCOPES


@dataclass(frozen=True)
class Token:
    """What an access token grants; the token string itself is only the store's key."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float


class TokenStore:
    """Issues, checks and revokes the sandbox's access tokens."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        ttl_s: int,
        allowed_scopes: frozenset[str] | None,
        clock: Callable[[], float],
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.ttl_s = ttl_s
        self.allowed_scopes = allowed_scopes
        self._clock = clock
        self._tokens: dict[str, Token] = {}

    def __repr__(self) -> str:
        return f"TokenStore(client_id={self.client_id!r}, tokens={len(self._tokens)})"

    @property
    def issued(self) -> int:
        """How many tokens are currently valid or expired-but-known."""
        return len(self._tokens)

    def granted(self) -> list[frozenset[str]]:
        """The scopes of every token issued (and not revoked), oldest first."""
        return [token.scopes for token in self._tokens.values()]

    def issue(self, scopes: frozenset[str]) -> tuple[str, Token]:
        value = f"ramp_tok_{secrets.token_urlsafe(32)}"
        token = Token(self.client_id, scopes, self._clock() + self.ttl_s)
        self._tokens[value] = token
        return value, token

    def revoke(self, value: str) -> None:
        self._tokens.pop(value, None)

    def revoke_all(self) -> None:
        self._tokens.clear()

    def authenticate(self, request: Request, scope: str | None) -> Token:
        """The request's bearer token, checked for expiry and ``scope`` (None: any token)."""
        header = request.headers.get("authorization", "")
        kind, _, value = header.partition(" ")
        token = self._tokens.get(value.strip()) if kind.lower() == "bearer" else None
        if token is None:
            raise RampApiError(
                401, "No valid access token was provided.", code=ErrorCode.NO_VALID_TOKEN
            )
        if self._clock() >= token.expires_at:
            raise RampApiError(401, "The access token has expired.", code=ErrorCode.TOKEN_EXPIRED)
        if scope is not None and scope not in token.scopes:
            raise RampApiError(
                403,
                f"The access token is missing the required scope {scope!r}.",
                code=ErrorCode.MISSING_SCOPE,
            )
        return token

    # -- endpoints ------------------------------------------------------------------------

    async def token_endpoint(self, request: Request) -> Response:
        if not self._client_ok(request):
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        form = await _form(request)
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "grant_type is required.")
        if grant_type in ("authorization_code", "refresh_token"):
            return _oauth_error(
                400, "invalid_grant", "The code or refresh token is invalid or expired."
            )
        if grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported: {grant_type}.")
        requested = (form.get("scope") or "").split()
        unknown = sorted(set(requested) - KNOWN_SCOPES)
        if unknown:
            return _oauth_error(400, "invalid_scope", f"Unknown scope(s): {' '.join(unknown)}.")
        granted = [
            s
            for s in dict.fromkeys(requested)
            if self.allowed_scopes is None or s in self.allowed_scopes
        ]
        value, _ = self.issue(frozenset(granted))
        return JSONResponse(
            {
                "access_token": value,
                "token_type": "Bearer",
                "expires_in": self.ttl_s,
                "scope": " ".join(granted),
            },
            headers={"Cache-Control": "no-store"},
        )

    async def revoke_endpoint(self, request: Request) -> Response:
        if not self._client_ok(request):
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        form = await _form(request)
        value = form.get("token")
        if not value:
            return _oauth_error(400, "invalid_request", "token is required.")
        self.revoke(value)
        return Response(status_code=200)

    def _client_ok(self, request: Request) -> bool:
        kind, _, encoded = request.headers.get("authorization", "").partition(" ")
        if kind.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, sep, client_secret = decoded.partition(":")
        return bool(sep) and (
            hmac.compare_digest(client_id.encode(), self.client_id.encode())
            & hmac.compare_digest(client_secret.encode(), self._client_secret.encode())
        )


async def _form(request: Request) -> dict[str, str]:
    """Form fields of a token request; a JSON object body is read the same way."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data: Any = json.loads(await request.body() or b"{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="ramp"'} if status == 401 else {}
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )
