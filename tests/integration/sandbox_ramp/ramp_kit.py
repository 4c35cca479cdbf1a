"""Shared test kit for the Ramp sandbox: a small hand-built company, a manual clock, helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox import seed
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import (
    Dataset,
    SeedAccount,
    SeedBill,
    SeedBillLine,
    SeedEntity,
    SeedProject,
    SeedPurchaseOrder,
    SeedSegment,
    SeedSegmentValue,
    SeedVat,
    SeedVendor,
)

CLIENT_ID = "ramp_id_sandbox_test"
CLIENT_SECRET = "ramp_sec_not_a_real_secret"
BASE_URL = "http://ramp.test"
ALL_SCOPES = (
    "bills:read bills:write vendors:read vendors:write accounting:read accounting:write "
    "purchase_orders:read purchase_orders:write entities:read"
)
START = datetime(2026, 3, 15, 10, 0, tzinfo=UTC).timestamp()
ENTITY_ID = "5bcc3734-f03a-4756-bc4b-afeb52d738ad"
VENDOR_A = "c0c89fa8-0000-4000-8000-00000000000a"  # Norwegian, org + VAT number
VENDOR_B = "c0c89fa8-0000-4000-8000-00000000000b"  # Swedish, no numbers
BILL_APPROVED = "b1110000-0000-4000-8000-000000000001"
BILL_PENDING = "b1110000-0000-4000-8000-000000000002"
BILL_CREDIT = "b1110000-0000-4000-8000-000000000003"
BILL_SEK = "b1110000-0000-4000-8000-000000000004"
PO_ID = "0e000000-0000-4000-8000-000000000001"
WEBHOOK_URL = "http://receiver.test/hooks/ramp"


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _line(amount: int, account: str, **coding: str) -> SeedBillLine:
    return SeedBillLine(amount_minor=amount, memo=f"{account} line", gl_account=account, **coding)


def small_company() -> Dataset:
    """One entity, a small chart, two vendors, four bills and a purchase order."""
    return Dataset(
        company_name="Testfjord AS",
        base_currency="NOK",
        entities=(SeedEntity(ENTITY_ID, "Testfjord AS", "NOK"),),
        accounts=(
            SeedAccount("2400", "Leverandørgjeld", "Liability"),
            SeedAccount("6540", "Inventar", "Expense", default_vat="1"),
            SeedAccount("6800", "Kontorrekvisita", "Expense", default_vat="1"),
            SeedAccount("6590", "Annet driftsmateriale", "Expense", active=False),
        ),
        segments=(
            SeedSegment(
                seed.COST_CENTRE_SEGMENT,
                "Cost centre",
                3,
                (SeedSegmentValue("100", "Oslo"), SeedSegmentValue("200", "Bergen")),
            ),
            SeedSegment(
                seed.DEPARTMENT_SEGMENT, "Department", 2, (SeedSegmentValue("10", "Advisory"),)
            ),
        ),
        projects=(SeedProject("P-100", "Fjord study"),),
        vat_codes=(
            SeedVat("1", "Input VAT 25%", Decimal("25")),
            SeedVat("0", "No VAT", Decimal(0)),
        ),
        vendors=_small_vendors(),
        bills=_small_bills(),
        purchase_orders=(
            SeedPurchaseOrder(
                PO_ID, "PO-1", VENDOR_B, "SEK", date(2026, 3, 30), (_line(99900, "6540"),)
            ),
        ),
    )


def _small_vendors() -> tuple[SeedVendor, ...]:
    """A Norwegian vendor with org and VAT numbers, and a Swedish one without."""
    return (
        SeedVendor(
            VENDOR_A,
            "Kontorland AS",
            "NO",
            "NOK",
            "faktura@kontorland.example",
            "Storgata 1",
            "Oslo",
            "0155",
            org_number="987654321",
            vat_number="NO987654321MVA",
        ),
        SeedVendor(
            VENDOR_B,
            "Svensk Möbel AB",
            "SE",
            "SEK",
            "ap@mobel.example",
            "Gatan 2",
            "Göteborg",
            "41101",
            net_payment_terms=20,
        ),
    )


def _small_bills() -> tuple[SeedBill, ...]:
    """An approved bill, a pending one, a credit, and a SEK bill on the purchase order."""
    return (
        SeedBill(
            BILL_APPROVED,
            VENDOR_A,
            "INV-1001",
            "NOK",
            date(2026, 3, 1),
            date(2026, 3, 31),
            (_line(125000, "6540", cost_centre="100", project="P-100"), _line(5050, "6800")),
        ),
        SeedBill(
            BILL_PENDING,
            VENDOR_A,
            "INV-1002",
            "NOK",
            date(2026, 3, 5),
            date(2026, 4, 4),
            (_line(40000, "6800", department="10"),),
            approval_status="PENDING",
        ),
        SeedBill(
            BILL_CREDIT,
            VENDOR_A,
            "CN-7",
            "NOK",
            date(2026, 3, 8),
            date(2026, 3, 8),
            (_line(5050, "6800"),),
            memo="Returned chairs",
            is_credit=True,
        ),
        SeedBill(
            BILL_SEK,
            VENDOR_B,
            "SE-55",
            "SEK",
            date(2026, 2, 20),
            date(2026, 3, 12),
            (_line(99900, "9999", vat_code="1"),),
            purchase_order_id=PO_ID,
        ),
    )


def make_sandbox(clock: ManualClock, **options: Any) -> RampSandbox:
    """A sandbox holding ``small_company()`` unless ``dataset`` is given."""
    options.setdefault("dataset", small_company())
    return RampSandbox(CLIENT_ID, CLIENT_SECRET, clock=clock, webhook_retry_base_s=0, **options)


@asynccontextmanager
async def client_for(sandbox: RampSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


async def fetch_token(client: httpx.AsyncClient, scopes: str | None = ALL_SCOPES) -> str:
    """A client-credentials token for ``scopes`` (None: no scope parameter at all)."""
    form = {"grant_type": "client_credentials"}
    if scopes is not None:
        form["scope"] = scopes
    response = await client.post("/developer/v1/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_code(response: httpx.Response) -> str:
    """``error_v2.error_code`` of an error answer."""
    return str(response.json()["error_v2"]["error_code"])


@dataclass
class Received:
    """One webhook request as the receiver saw it."""

    body: bytes
    headers: dict[str, str]


class Receiver:
    """A tiny webhook endpoint: records every request and answers from a script.

    ``statuses`` is consumed one answer per request; once empty, it answers ``default``.
    """

    def __init__(self, statuses: list[int] | None = None, default: int = 200) -> None:
        self.statuses = list(statuses or [])
        self.default = default
        self.received: list[Received] = []

        async def hook(request: Request) -> Response:
            self.received.append(Received(await request.body(), dict(request.headers)))
            status = self.statuses.pop(0) if self.statuses else self.default
            return Response(status_code=status)

        self.app = Starlette(routes=[Route("/hooks/ramp", hook, methods=["POST"])])
        self.transport = httpx.ASGITransport(app=self.app)

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if json.loads(r.body).get("type") == event_type]


async def subscribe(
    client: httpx.AsyncClient,
    sandbox: RampSandbox,
    receiver: Receiver,
    token: str,
    event_types: list[str],
    *,
    verify: bool = True,
) -> dict[str, Any]:
    """Create a subscription, deliver the challenge, and (by default) verify it."""
    created = await client.post(
        "/developer/v1/webhooks",
        json={"endpoint_url": WEBHOOK_URL, "event_types": event_types},
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    await sandbox.webhooks.flush()
    body: dict[str, Any] = created.json()
    if verify:
        challenge = json.loads(receiver.of_type("webhooks.verification")[-1].body)["challenge"]
        answer = await client.post(
            f"/developer/v1/webhooks/{body['id']}/verify",
            json={"challenge": challenge},
            headers=bearer(token),
        )
        assert answer.status_code == 200, answer.text
    return body


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]
