"""Helpers for the client unit tests: what an inline app received, token endpoints, a clock."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.clients import RampCredentials, VismaCredentials
from ml_connector.clients.visma_models import SupplierInvoiceLineWrite, SupplierInvoiceWrite

RAMP_SECRET = "ramp_sec_TOPSECRET_42"
VISMA_SECRET = "visma_sec_TOPSECRET_43"
RAMP_CREDS = RampCredentials("ramp_id_test", SecretStr(RAMP_SECRET), base_url="http://ramp.test")
VISMA_CREDS = VismaCredentials(
    client_id="isv_test",
    client_secret=SecretStr(VISMA_SECRET),
    tenant_id="tenant-7",
    company_id="1234567",
    base_url="http://visma.test",
    token_url="http://connect.test/connect/token",
)


@dataclass(frozen=True)
class Received:
    """One request an inline app received."""

    method: str
    host: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body, parse_float=Decimal)

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None


@dataclass
class Inbox:
    """Everything the inline app received, in order."""

    requests: list[Received] = field(default_factory=list)

    async def take(self, request: Request) -> Received:
        received = Received(
            method=request.method,
            host=request.headers.get("host", ""),
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        self.requests.append(received)
        return received

    def to(self, path: str, method: str | None = None) -> list[Received]:
        return [
            r for r in self.requests if r.path == path and (method is None or r.method == method)
        ]


@dataclass
class TokenEndpoint:
    """A token endpoint that issues numbered tokens; ``delay_s`` widens races on purpose."""

    inbox: Inbox
    path: str
    expires_in: int = 3600
    scope: str | None = None
    delay_s: float = 0.0
    issued: int = 0

    async def handle(self, request: Request) -> Response:
        await self.inbox.take(request)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.issued += 1
        body: dict[str, Any] = {
            "access_token": f"tok-{self.issued}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.scope is not None:
            body["scope"] = self.scope
        return JSONResponse(body)

    @property
    def route(self) -> Route:
        return Route(self.path, self.handle, methods=["POST"])


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# A Visma AP document as the bill flow writes it (wire-form and create tests).
VISMA_INVOICE = SupplierInvoiceWrite(
    document_type="Invoice",
    supplier_number="50000",
    supplier_reference="INV-2025-0042",
    date=date(2025, 11, 8),
    due_date=date(2025, 12, 8),
    currency_id="NOK",
    financial_period="202511",
    description="Office supplies",
    note="ramp-bill:b-1",
    hold=True,
    amount=Decimal("1250.00"),
    lines=(
        SupplierInvoiceLineWrite(
            line_number=1,
            account_number="6800",
            subaccount=((1, "100"), (2, "20")),
            transaction_description="Paper",
            quantity=Decimal("1"),
            unit_cost_in_currency=Decimal("1250.00"),
            vat_code_id="1",
            project_id="P-1",
        ),
    ),
)
