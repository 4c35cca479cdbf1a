"""Shared test kit for the Visma sandbox: a hand-built company, a manual clock, request helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from ml_connector.sandbox.seed import (
    Dataset,
    SeedAccount,
    SeedEntity,
    SeedPeriod,
    SeedProject,
    SeedSegment,
    SeedSegmentValue,
    SeedSupplier,
    SeedTask,
    SeedVat,
)
from ml_connector.sandbox.visma import VismaSandbox

CLIENT_ID = "isv_ml_connector_test"
CLIENT_SECRET = "s3cret-visma-client"
TENANT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
COMPANY_ID = "4711"
BASE_URL = "http://visma.test"
ALL_SCOPES = " ".join(
    f"vismanet_erp_service_api:{verb}" for verb in ("read", "create", "update", "delete")
)
START = datetime(2026, 3, 15, 10, 0, tzinfo=UTC).timestamp()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_dataset() -> Dataset:
    """A small Norwegian company with one of everything the validation rules look at."""
    periods = tuple(
        SeedPeriod(f"2026{month:02d}", closed_in_supplier_ledger=month <= 2)
        for month in range(1, 13)
    )
    return Dataset(
        company_name="Testfirma AS",
        base_currency="NOK",
        entities=(SeedEntity("00000000-0000-4000-8000-000000000009", "Testfirma AS", "NOK"),),
        accounts=(
            SeedAccount("2400", "Leverandørgjeld", "Liability"),
            SeedAccount("6300", "Leie lokaler", "Expense", default_vat="1"),
            SeedAccount("6800", "Kontorrekvisita", "Expense", default_vat="1"),
            SeedAccount("7140", "Reisekostnad", "Expense", default_vat="0"),
            SeedAccount("7999", "Gammel konto", "Expense", active=False),
        ),
        segments=(
            SeedSegment(
                1,
                "Kostnadssted",
                3,
                (
                    SeedSegmentValue("100", "Oslo"),
                    SeedSegmentValue("200", "Bergen"),
                    SeedSegmentValue("900", "Nedlagt", active=False),
                ),
            ),
            SeedSegment(
                2,
                "Avdeling",
                2,
                (
                    SeedSegmentValue("10", "Rådgivning"),
                    SeedSegmentValue("20", "Drift"),
                    SeedSegmentValue("99", "Gammel", active=False),
                ),
            ),
        ),
        projects=_projects(),
        vat_codes=(
            SeedVat("0", "Ingen mva", Decimal("0")),
            SeedVat("1", "Inngående mva 25%", Decimal("25")),
            SeedVat("3", "Inngående mva 15%", Decimal("15")),
            SeedVat("5", "Inngående mva 12%", Decimal("12")),
            SeedVat("8", "Utgått sats", Decimal("8"), not_valid_after=date(2026, 3, 5)),
        ),
        periods=periods,
        suppliers=(
            SeedSupplier("50001", "Kontorland AS", "NOK", "NO", "912345678", "NO912345678MVA"),
            SeedSupplier("50002", "Sperret Leverandør AS", "NOK", "NO", status="OnHold"),
            SeedSupplier("50003", "Nedlagt AS", "NOK", "NO", status="Inactive"),
            SeedSupplier("50004", "Svenska Kontor AB", "SEK", "SE", "5561234567"),
        ),
        currencies=("NOK", "SEK", "EUR"),
    )


def _projects() -> tuple[SeedProject, ...]:
    """The non-project code, a project with active, completed and hidden tasks, one hidden from
    AP, and a completed one."""
    return (
        SeedProject("X", "Non-project"),
        SeedProject(
            "P100",
            "Kunde A implementering",
            tasks=(
                SeedTask("01", "Implementering"),
                SeedTask("02", "Forprosjekt", status="Completed"),
                SeedTask("03", "Intern tid", visible_in_ap=False, visible_in_po=False),
            ),
        ),
        SeedProject(
            "P200", "Internt (ikke AP)", visible_in_ap=False, tasks=(SeedTask("01", "Tid"),)
        ),
        SeedProject(
            "P300",
            "Avsluttet",
            status="Completed",
            tasks=(SeedTask("01", "Leveranse", status="Completed"),),
        ),
    )


def make_sandbox(clock: ManualClock | None = None, **options: Any) -> VismaSandbox:
    return VismaSandbox(
        CLIENT_ID,
        CLIENT_SECRET,
        TENANT_ID,
        COMPANY_ID,
        dataset=make_dataset(),
        clock=clock or ManualClock(),
        **options,
    )


@asynccontextmanager
async def client_for(sandbox: VismaSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def fetch_token(client: httpx.AsyncClient, scope: str | None = ALL_SCOPES) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "tenant_id": TENANT_ID,
    }
    if scope is not None:
        form["scope"] = scope
    response = await client.post("/connect/token", data=form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "ipp-company-id": COMPANY_ID}


def w(value: Any) -> dict[str, Any]:
    """Wrap a scalar the way Visma write DTOs want it."""
    return {"value": value}


def invoice_line(
    account: str = "6800",
    amount: str = "1000.00",
    *,
    segments: tuple[tuple[int, str], ...] = ((1, "100"), (2, "10")),
    **extra: Any,
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "operation": "Insert",
        "accountNumber": w(account),
        "costInCurrency": w(Decimal(amount)),
        "subaccount": [{"segmentId": sid, "segmentValue": value} for sid, value in segments],
        "transactionDescription": w("Kontorrekvisita"),
    }
    line.update(extra)
    return line


def invoice_body(*lines: dict[str, Any], **header: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "documentType": w("Invoice"),
        "supplierNumber": w("50001"),
        "supplierReference": w("INV-1001"),
        "date": w("2026-03-10T00:00:00"),
        "dueDate": w("2026-04-09T00:00:00"),
        "currencyId": w("NOK"),
        "financialPeriod": w("202603"),
        "hold": w(True),
        "description": w("Office supplies"),
        "invoiceLines": list(lines) or [invoice_line()],
    }
    body.update(header)
    return body


def as_json(body: Any) -> bytes:
    """JSON bytes with Decimals written exactly (httpx's json= cannot encode Decimal)."""
    from ml_connector.sandbox.visma.responses import dumps

    return dumps(body)


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    token: str,
    body: Any = None,
    **headers: str,
) -> httpx.Response:
    """One authenticated call; ``body`` is sent as exact JSON."""
    all_headers = auth(token)
    all_headers.update({key.replace("_", "-"): value for key, value in headers.items()})
    if body is None:
        return await client.request(method, url, headers=all_headers)
    all_headers["content-type"] = "application/json"
    return await client.request(method, url, headers=all_headers, content=as_json(body))


async def release(
    client: httpx.AsyncClient, url: str, token: str, body: Any = None, **headers: str
) -> dict[str, Any]:
    """POST a release action and follow its background request until it is no longer Started.

    Returns the request's final state plus ``content`` (the operation's own answer, if any).
    Each poll is one more request to the company, which is what lets the queued release run.
    """
    accepted = await send(client, "POST", url, token, body, **headers)
    assert accepted.status_code == 202, accepted.text
    request_id = accepted.json()["id"]
    for _ in range(20):
        state: dict[str, Any] = (
            await send(client, "GET", f"/v1/background/{request_id}", token)
        ).json()
        if state["status"] != "Started":
            break
    else:
        raise AssertionError(f"background request {request_id} never finished")
    if state.get("hasResponseContent"):
        content = await send(client, "GET", f"/v1/background/{request_id}/content", token)
        state["content"] = content.json()
    return state
