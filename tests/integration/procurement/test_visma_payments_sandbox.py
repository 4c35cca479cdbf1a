"""The Visma sandbox's supplier payments, PO links and receipts, over its HTTP API.

A payment changes no invoice until it is released; released, it lowers the invoice's balance
and closes the invoice once nothing is left to pay. What the ERP refuses is refused with
Visma's ``{"message": "VismaId: …"}`` 400. Invoice lines may link only to a real line of the
supplier's own purchase order, and a received order line (or a Closed order) takes no changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from integration.sandbox_visma.visma_kit import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMPANY_ID,
    TENANT_ID,
    ManualClock,
    client_for,
    fetch_token,
    invoice_body,
    invoice_line,
    make_dataset,
    release,
    send,
    w,
)
from ml_connector.sandbox.seed import SeedAccount
from ml_connector.sandbox.visma import VismaSandbox

PAYMENTS = "/v1/supplierPayment"


@dataclasses.dataclass
class Api:
    sandbox: VismaSandbox
    client: httpx.AsyncClient
    token: str

    async def call(self, method: str, url: str, body: Any = None, **headers: str) -> httpx.Response:
        return await send(self.client, method, url, self.token, body, **headers)

    async def release(self, url: str, body: Any = None, **headers: str) -> dict[str, Any]:
        """Release and wait for Visma's background request; its final state."""
        return await release(self.client, url, self.token, body, **headers)

    async def released_invoice(self, amount: str = "1000.00", supplier: str = "50001") -> str:
        """An Open invoice (no VAT: account 7140) of ``amount``; returns its number."""
        body = invoice_body(invoice_line("7140", amount), hold=w(False), supplierNumber=w(supplier))
        created = await self.call("POST", "/v1/supplierInvoice", body)
        assert created.status_code == 201, created.text
        number = created.headers["location"].rsplit("/", 1)[1]
        released = await self.release(f"/v1/supplierInvoice/{number}/action/release")
        assert (released["status"], released["statusCode"]) == ("Finished", 204), released
        return number

    async def invoice(self, number: str) -> dict[str, Any]:
        data: dict[str, Any] = (await self.call("GET", f"/v1/supplierInvoice/{number}")).json()
        return data

    async def pay(self, invoice: str, amount: str, **header: Any) -> httpx.Response:
        body = {
            "type": w("Payment"),
            "supplier": w("50001"),
            "cashAccount": w("1920"),
            "currency": w("NOK"),
            "applicationDate": w("2026-03-15T00:00:00"),
            "paymentAmount": w(Decimal(amount)),
            "description": w(f"pays {invoice}"),
            "paymentLines": [
                {
                    "operation": "Insert",
                    "documentType": w("Invoice"),
                    "refNbr": w(invoice),
                    "amountPaid": w(Decimal(amount)),
                }
            ],
            **header,
        }
        return await self.call("POST", PAYMENTS, body)


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    """The sandbox test company plus a bank account (1920), at 2026-03-15."""
    base = make_dataset()
    dataset = dataclasses.replace(
        base, accounts=(SeedAccount("1920", "Bankinnskudd", "Asset"), *base.accounts)
    )
    sandbox = VismaSandbox(
        CLIENT_ID, CLIENT_SECRET, TENANT_ID, COMPANY_ID, dataset=dataset, clock=ManualClock()
    )
    async with client_for(sandbox) as client:
        yield Api(sandbox, client, await fetch_token(client))


def _message(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    text: str = response.json()["message"]
    assert text.startswith("VismaId: ")
    return text


async def test_release_pays_the_invoice_down_then_closes_it(api: Api) -> None:
    """Two partial payments: the balance drops on each release; the second closes it."""
    number = await api.released_invoice("1000.00")
    first = await api.pay(number, "400.00")
    assert first.status_code == 201
    payment = first.headers["location"].rsplit("/", 1)[1]
    assert Decimal(str((await api.invoice(number))["balance"])) == Decimal("1000.00")

    read = await api.call("GET", f"{PAYMENTS}/{payment}")
    assert read.json()["status"] == "Balanced"
    assert read.json()["released"] is False
    released = await api.release(f"{PAYMENTS}/{payment}/action/release", {"type": w("Payment")})
    assert (released["status"], released["statusCode"]) == ("Finished", 204)
    invoice = await api.invoice(number)
    assert (invoice["status"], Decimal(str(invoice["balance"]))) == ("Open", Decimal("600.00"))

    second = (await api.pay(number, "600.00")).headers["location"].rsplit("/", 1)[1]
    await api.release(f"{PAYMENTS}/{second}/action/release")
    invoice = await api.invoice(number)
    assert (invoice["status"], Decimal(str(invoice["balance"]))) == ("Closed", Decimal("0.00"))
    closed = (await api.call("GET", f"{PAYMENTS}/Payment/{second}")).json()
    assert closed["status"] == "Closed"
    assert closed["paymentLines"][0]["invoiceRefNbr"] == number
    assert Decimal(str(closed["paymentLines"][0]["balance"])) == Decimal("0.00")
    listed = (await api.call("GET", f"{PAYMENTS}?invoiceRefNbr={number}")).json()
    assert sorted(p["refNbr"] for p in listed) == sorted([payment, second])
    assert all(p["metadata"]["totalCount"] == 2 for p in listed)


async def test_what_the_erp_refuses(api: Api) -> None:
    """Unreleased invoice, too much, wrong cash account, blocked supplier, closed period."""
    number = await api.released_invoice("100.00")
    draft = await api.call("POST", "/v1/supplierInvoice", invoice_body(hold=w(False)))
    draft_number = draft.headers["location"].rsplit("/", 1)[1]
    assert "only released (Open)" in _message(await api.pay(draft_number, "10.00"))
    assert "exceeds the balance" in _message(await api.pay(number, "100.01"))
    assert "cannot be found" in _message(await api.pay(number, "10.00", cashAccount=w("1999")))
    assert "inactive" in _message(await api.pay(number, "10.00", cashAccount=w("7999")))
    closed = await api.pay(number, "10.00", applicationDate=w("2026-02-10T00:00:00"))
    assert "closed in Supplier ledger" in _message(closed)
    api.sandbox.set_supplier_status("50001", "HoldPayments")
    assert "HoldPayments" in _message(await api.pay(number, "10.00"))
    assert api.sandbox.supplier_payments() == []


async def test_release_checks_version_and_state(api: Api) -> None:
    """A stale If-Match answers 412 at once; a second release is refused in the background."""
    number = await api.released_invoice("50.00")
    payment = (await api.pay(number, "50.00")).headers["location"].rsplit("/", 1)[1]
    read = await api.call("GET", f"{PAYMENTS}/{payment}")
    url = f"{PAYMENTS}/{payment}/action/release"
    first = await api.release(url, if_match=read.headers["etag"])
    assert first["statusCode"] == 204
    stale = await api.call("POST", url, if_match=read.headers["etag"])
    assert stale.status_code == 412
    again = await api.release(url)
    assert (again["status"], again["statusCode"]) == ("Finished", 400)
    assert "cannot be released" in again["content"]["message"]


async def _order(api: Api, supplier: str = "50001") -> str:
    body = {
        "orderType": w("RegularOrder"),
        "supplier": w(supplier),
        "lines": [
            {
                "operation": "Insert",
                "lineNumber": w(n),
                "lineType": w("Service"),
                "lineDescription": w(f"Line {n}"),
                "orderQty": w(Decimal(2)),
                "unitCost": w(Decimal("10.00")),
                "account": w("6800"),
                "sub": [{"segmentId": 1, "segmentValue": "100"}],
            }
            for n in (1, 2)
        ],
    }
    created = await api.call("POST", "/v1/purchaseorder", body)
    assert created.status_code == 201, created.text
    return created.headers["location"].rsplit("/", 1)[1]


def _linked(order: str, line_nbr: int) -> dict[str, Any]:
    link = {
        "purchaseType": "PurchaseOrder",
        "purchaseNumber": w(order),
        "purchaseLineNbr": w(line_nbr),
    }
    return invoice_line(linkLine=link)


async def test_invoice_lines_link_only_to_real_order_lines(api: Api) -> None:
    """A link to another supplier's order, a missing order or line is refused; a good one shows."""
    own = await _order(api)
    other = await _order(api, "50004")
    created = await api.call("POST", "/v1/supplierInvoice", invoice_body(_linked(own, 2)))
    lines = (await api.invoice(created.headers["location"].rsplit("/", 1)[1]))["invoiceLines"]
    assert (lines[0]["poNumber"], lines[0]["poLineNr"]) == (own, 2)
    for body, words in (
        (invoice_body(_linked(other, 1)), "belongs to supplier 50004"),
        (invoice_body(_linked("999999", 1)), "cannot be found"),
        (invoice_body(_linked(own, 7)), "has no line 7"),
    ):
        assert words in _message(await api.call("POST", "/v1/supplierInvoice", body))


async def test_received_lines_and_closed_orders_refuse_changes(api: Api) -> None:
    """A received line keeps what was received; a fully received order is Closed."""
    order = await _order(api)
    received = api.sandbox.receive_purchase_order(order, [1])
    assert received["status"] == "Open"
    assert [ln["completed"] for ln in received["lines"]] == [True, False]
    assert Decimal(str(received["lines"][0]["qtyOnReceipts"])) == Decimal(2)

    change = {"lines": [{"operation": "Update", "lineNumber": w(1), "orderQty": w(Decimal(3))}]}
    assert "has receipts" in _message(await api.call("PUT", f"/v1/purchaseorder/{order}", change))
    untouched = {"lines": [{"operation": "Update", "lineNumber": w(2), "orderQty": w(Decimal(3))}]}
    assert (await api.call("PUT", f"/v1/purchaseorder/{order}", untouched)).status_code == 204

    assert api.sandbox.receive_purchase_order(order)["status"] == "Closed"
    hold = await api.call("PUT", f"/v1/purchaseorder/{order}", {"hold": w(True)})
    assert "can no longer be changed" in _message(hold)


async def test_control_api_receives_orders_and_shows_payments(api: Api) -> None:
    """``POST /_sandbox/purchase-orders/{n}/receive`` receives; the state lists payments."""
    order = await _order(api)
    received = await api.client.post(f"/_sandbox/purchase-orders/{order}/receive", json={})
    assert received.json()["status"] == "Closed"
    refused = await api.client.post(
        f"/_sandbox/purchase-orders/{order}/receive", json={"lines": "all"}
    )
    assert refused.status_code == 400
    number = await api.released_invoice("10.00")
    await api.pay(number, "10.00")
    state = (await api.client.get("/_sandbox/state")).json()
    assert [p["paymentLines"][0]["invoiceRefNbr"] for p in state["supplier_payments"]] == [number]
