"""The Visma sandbox's company behaviours (``CompanyBehaviour``), each as Visma documents it.

Paging capped silently with ``maxPageSize`` left out; a financial year that starts in July;
release actions answered with 202 and run in the background (and the 9.11 answer as an
option); business refusals answered with 500; purchase-order lines that need an item.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from integration.sandbox_visma.visma_kit import (
    ManualClock,
    client_for,
    fetch_token,
    invoice_body,
    make_sandbox,
    release,
    send,
    w,
)
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.sandbox.visma.behaviour import CompanyBehaviour

INVOICES = "/v1/supplierInvoice"


@asynccontextmanager
async def company(
    **options: Any,
) -> AsyncIterator[tuple[VismaSandbox, httpx.AsyncClient, str]]:
    """The test company with ``CompanyBehaviour(**options)``, a client and a token."""
    sandbox = make_sandbox(ManualClock(), behaviour=CompanyBehaviour(**options))
    async with client_for(sandbox) as client:
        yield sandbox, client, await fetch_token(client)


async def _invoice(client: httpx.AsyncClient, token: str, **header: Any) -> str:
    body = invoice_body(**{"hold": w(False), **header})
    created = await send(client, "POST", INVOICES, token, body)
    assert created.status_code == 201, created.text
    return str(created.headers["location"].rsplit("/", 1)[1])


async def test_page_size_capped_silently_without_max_page_size() -> None:
    """Asked for 100, three come back; metadata says only totalCount (no maxPageSize)."""
    async with company(max_page_size=3, page_metadata="total_only") as (_, client, token):
        page = (await send(client, "GET", "/v1/supplier?pageNumber=1&pageSize=100", token)).json()
        assert len(page) == 3
        assert all(row["metadata"] == {"totalCount": 4} for row in page)
        last = (await send(client, "GET", "/v1/supplier?pageNumber=2&pageSize=100", token)).json()
        assert [row["number"] for row in last] == ["50004"]


async def test_page_metadata_can_be_left_out_entirely() -> None:
    """With ``none`` a list record carries no metadata at all; only an empty page ends it."""
    async with company(max_page_size=3, page_metadata="none") as (_, client, token):
        page = (await send(client, "GET", "/v1/supplier?pageNumber=1&pageSize=2", token)).json()
        assert len(page) == 2
        assert all("metadata" not in row for row in page)
        past = await send(client, "GET", "/v1/supplier?pageNumber=3&pageSize=2", token)
        assert past.json() == []


async def test_a_july_year_numbers_its_periods_from_july() -> None:
    """Calendar months become periods of a July year: January 2026 is 202607, July 202701."""
    async with company(fiscal_year_start_month=7, fiscal_year_belongs_to_next=True) as (
        _,
        client,
        token,
    ):
        periods = {
            p["period"]: p for p in (await send(client, "GET", "/v1/financialPeriod", token)).json()
        }
        assert periods["202607"]["year"] == 2026
        assert periods["202607"]["startDate"].startswith("2026-01-01")
        assert periods["202607"]["endDate"].startswith("2026-01-31")
        assert periods["202607"]["closedInSupplierLedger"] is True  # January was closed
        assert periods["202701"]["startDate"].startswith("2026-07-01")
        assert "202603" not in periods  # there is no March-as-period-03 in this company


async def test_the_document_date_picks_the_period_from_the_table() -> None:
    """An invoice dated 10 March 2026 without a period lands in 202609; no period: refused."""
    async with company(fiscal_year_start_month=7, fiscal_year_belongs_to_next=True) as (
        sandbox,
        client,
        token,
    ):
        body = invoice_body(hold=w(False))
        del body["financialPeriod"]
        created = await send(client, "POST", INVOICES, token, body)
        assert created.status_code == 201, created.text
        assert sandbox.invoices()[0]["financialPeriod"] == "202609"
        body["date"] = w("2030-03-10T00:00:00")
        refused = await send(client, "POST", INVOICES, token, body)
        assert refused.status_code == 400
        assert "No financial period" in refused.json()["message"]


async def test_release_runs_in_the_background() -> None:
    """202 with a request id; Started until the company has moved on; then Finished and Open."""
    async with company() as (sandbox, client, token):
        number = await _invoice(client, token)
        accepted = await send(client, "POST", f"{INVOICES}/{number}/action/release", token)
        assert accepted.status_code == 202
        request_id = accepted.json()["id"]
        assert accepted.json()["stateLocation"].endswith(f"/v1/background/{request_id}")
        first = (await send(client, "GET", f"/v1/background/{request_id}", token)).json()
        assert (first["status"], first["statusCode"]) == ("Started", 0)
        assert sandbox.invoices()[0]["status"] == "Balanced"  # accepted is not released
        second = (await send(client, "GET", f"/v1/background/{request_id}", token)).json()
        assert (second["status"], second["statusCode"]) == ("Finished", 204)
        assert second["hasResponseContent"] is False
        assert sandbox.invoices()[0]["status"] == "Open"


async def test_background_failure_and_expiry() -> None:
    """An injected failure reads Failed with its message and releases nothing; after 24 h the
    state is gone (404) and the stored answer 410."""
    async with company() as (sandbox, client, token):
        number = await _invoice(client, token)
        sandbox.fail_background("Worker crashed while releasing")
        failed = await release(client, f"{INVOICES}/{number}/action/release", token)
        assert (failed["status"], failed["errorMessage"]) == (
            "Failed",
            "Worker crashed while releasing",
        )
        assert sandbox.invoices()[0]["status"] == "Balanced"
        clock = sandbox.clock
        assert isinstance(clock, ManualClock)
        clock.advance(25 * 3600)
        token = await fetch_token(client)  # the old token expired meanwhile
        gone = await send(client, "GET", f"/v1/background/{failed['id']}", token)
        assert gone.status_code == 404
        hold = await _invoice(client, token, hold=w(True))
        on_hold = await release(client, f"{INVOICES}/{hold}/action/release", token)
        assert on_hold["statusCode"] == 400
        clock.advance(25 * 3600)
        token = await fetch_token(client)
        expired = await send(client, "GET", f"/v1/background/{on_hold['id']}/content", token)
        assert expired.status_code == 410


async def test_legacy_release_answers_done_or_failed() -> None:
    """The 9.11 answer: 200 Done (released at once), or Failed with Visma's text."""
    async with company(release="legacy", background_steps=0) as (sandbox, client, token):
        number = await _invoice(client, token)
        done = await send(client, "POST", f"{INVOICES}/{number}/action/release", token)
        assert (done.status_code, done.json()["actionResult"]) == (200, "Done")
        assert sandbox.invoices()[0]["status"] == "Open"
        again = (await send(client, "POST", f"{INVOICES}/{number}/action/release", token)).json()
        assert again["actionResult"] == "Failed"
        assert "cannot be released" in again["errorInfo"]


async def test_legacy_release_may_only_queue() -> None:
    """Queued: the document is released later, which only reading it shows."""
    async with company(release="legacy", background_steps=1) as (sandbox, client, token):
        number = await _invoice(client, token)
        queued = (await send(client, "POST", f"{INVOICES}/{number}/action/release", token)).json()
        assert queued["actionResult"] == "Queued"
        assert sandbox.invoices()[0]["status"] == "Balanced"
        read = (await send(client, "GET", f"{INVOICES}/{number}", token)).json()
        assert read["status"] == "Open"


async def test_business_refusals_can_answer_500() -> None:
    """A refused write answers 500 with Visma's message; a malformed body stays 400."""
    async with company(validation_status=500) as (sandbox, client, token):
        refused = await send(
            client, "POST", INVOICES, token, invoice_body(supplierNumber=w("59999"))
        )
        assert refused.status_code == 500
        assert refused.json()["message"].startswith("VismaId: ")
        assert "59999" in refused.json()["message"]
        malformed = await send(client, "POST", INVOICES, token, {"supplierNumber": "50001"})
        assert malformed.status_code == 400
        assert sandbox.invoices() == []


async def test_purchase_order_lines_need_a_known_item() -> None:
    """No item: 400 naming Inventory ID; an unknown item: 400; the company's item: 201."""
    async with company(po_lines_need_inventory=True, inventory_items={"TJENESTE": "Tjenester"}) as (
        sandbox,
        client,
        token,
    ):

        def order(**line: Any) -> dict[str, Any]:
            row = {
                "operation": "Insert",
                "lineType": w("Service"),
                "orderQty": w(1),
                "unitCost": w(5),
            }
            return {"supplier": w("50001"), "lines": [{**row, **line}]}

        missing = await send(client, "POST", "/v1/purchaseorder", token, order())
        assert missing.status_code == 400
        assert "Inventory ID" in missing.json()["message"]
        unknown = await send(client, "POST", "/v1/purchaseorder", token, order(inventory=w("VARE")))
        assert "cannot be found" in unknown.json()["message"]
        known = await send(
            client, "POST", "/v1/purchaseorder", token, order(inventory=w("TJENESTE"))
        )
        assert known.status_code == 201, known.text
        (stored,) = sandbox.purchase_orders()
        assert stored["lines"][0]["inventory"] == {"number": "TJENESTE", "description": "Tjenester"}
