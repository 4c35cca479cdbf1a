"""Journal helpers for the Visma sandbox tests: journal lines and bodies, and ``Gl`` (a sandbox,
a client and a token; the ``gl`` fixture in conftest.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from integration.sandbox_visma.visma_kit import send, w
from ml_connector.sandbox.visma import VismaSandbox

JOURNALS = "/v2/journaltransaction"


def jline(
    account: str,
    *,
    debit: str | None = None,
    credit: str | None = None,
    segments: tuple[tuple[int, str], ...] = ((1, "100"), (2, "10")),
    **extra: Any,
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "operation": "Insert",
        "accountNumber": w(account),
        "subaccount": [{"segmentId": sid, "segmentValue": value} for sid, value in segments],
        "referenceNumber": w("ramp:tx:1"),
        "transactionDescription": w("Card purchase"),
    }
    if debit is not None:
        line["debitAmountInCurrency"] = w(Decimal(debit))
    if credit is not None:
        line["creditAmountInCurrency"] = w(Decimal(credit))
    line.update(extra)
    return line


def journal_body(*lines: dict[str, Any], **header: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "transactionDate": w("2026-03-10T00:00:00"),
        "financialPeriod": w("202603"),
        "currencyId": w("NOK"),
        "description": w("Ramp card spend 2026-03-10"),
        "journalTransactionLines": list(lines)
        or [jline("6800", debit="1250.00"), jline("2400", credit="1250.00")],
    }
    body.update(header)
    return body


class Gl:
    """A Visma sandbox, a client and a token, with journal helpers."""

    def __init__(self, sandbox: VismaSandbox, http: httpx.AsyncClient, token: str) -> None:
        self.sandbox, self.http, self.token = sandbox, http, token

    async def call(self, method: str, url: str, body: Any = None, **headers: str) -> httpx.Response:
        return await send(self.http, method, url, self.token, body, **headers)

    async def post(self, body: dict[str, Any]) -> httpx.Response:
        return await self.call("POST", JOURNALS, body)

    async def create(self, body: dict[str, Any] | None = None) -> str:
        response = await self.post(body or journal_body())
        assert response.status_code == 201, response.text
        return response.headers["location"].rsplit("/", 1)[1]

    async def read(self, number: str) -> dict[str, Any]:
        response = await self.call("GET", f"{JOURNALS}/{number}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def message(response: httpx.Response) -> str:
    return str(response.json()["message"])
