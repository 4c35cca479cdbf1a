"""Accounts, the SUBACCOUNT dimension, subaccounts, projects, VAT, periods, currencies, POs."""

from __future__ import annotations

import base64
from decimal import Decimal

import httpx

from integration.sandbox_visma.visma_kit import invoice_body, send, w
from ml_connector.sandbox.visma import VismaSandbox


async def test_accounts_list_without_paging(client: httpx.AsyncClient, token: str) -> None:
    """/v1/account answers every account (paging parameters are not declared, so ignored)."""
    everything = (await send(client, "GET", "/v1/account?pageSize=2", token)).json()
    active = (await send(client, "GET", "/v1/account?active=true", token)).json()
    assert [a["accountCD"] for a in everything] == ["2400", "6300", "6800", "7140", "7999"]
    assert "7999" not in [a["accountCD"] for a in active]
    account = everything[2]
    assert (account["type"], account["taxCategory"], account["active"]) == ("Expense", "1", True)
    assert account["metadata"]["totalCount"] == 5


async def test_create_and_change_an_account(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """POST /v1/account answers 201 + Location; PUT deactivates it."""
    body = {
        "accountCD": w("6900"),
        "description": w("Telefon"),
        "type": w("Expense"),
        "active": w(True),
        "taxCategory": w("1"),
    }
    created = await send(client, "POST", "/v1/account", token, body)
    changed = await send(client, "PUT", "/v1/account/6900", token, {"active": w(False)})
    duplicate = await send(client, "POST", "/v1/account", token, body)
    assert created.status_code == 201
    assert created.headers["location"].endswith("/v1/account/6900")
    assert changed.status_code == 204
    assert sandbox.state.accounts["6900"].active is False
    assert duplicate.status_code == 400
    one = (await send(client, "GET", "/v1/account/6900", token)).json()
    assert (one["description"], one["active"]) == ("Telefon", False)


async def test_dimension_with_and_without_values(client: httpx.AsyncClient, token: str) -> None:
    """The SUBACCOUNT dimension lists its segments; values only with expandSegmentsValues.

    The supplier key (SUPLLIER) is listed too; see test_visma_supplier_setup.
    """
    names = (await send(client, "GET", "/v1/dimension", token)).json()
    bare = (await send(client, "GET", "/v1/dimension/SUBACCOUNT", token)).json()
    full = (
        await send(client, "GET", "/v1/dimension/SUBACCOUNT?expandSegmentsValues=true", token)
    ).json()
    assert names == ["SUBACCOUNT", "SUPLLIER"]
    assert [s["segmentId"] for s in bare["segments"]] == [1, 2]
    assert "segmentValues" not in bare["segments"][0]
    assert bare["length"] == 5
    values = {v["valueId"]: v["active"] for v in full["segments"][0]["segmentValues"]}
    assert values == {"100": True, "200": True, "900": False}


async def test_segment_values_insert_update_delete(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """PUT /v1/dimension/SUBACCOUNT/1 applies value operations; the segment reads them back."""
    body = {
        "dimensionId": "SUBACCOUNT",
        "segementId": 1,
        "segmentValues": [
            {
                "operation": "Insert",
                "value": "300",
                "description": w("Trondheim"),
                "active": w(True),
            },
            {"operation": "Update", "value": "200", "active": w(False)},
            {"operation": "Delete", "value": "900"},
        ],
    }
    response = await send(client, "PUT", "/v1/dimension/SUBACCOUNT/1", token, body)
    assert response.status_code == 204
    segment = (await send(client, "GET", "/v1/dimension/SUBACCOUNT/1", token)).json()
    assert {v["valueId"]: v["active"] for v in segment["segmentValues"]} == {
        "100": True,
        "200": False,
        "300": True,
    }
    encoded = base64.urlsafe_b64encode(b"300").decode()
    value = await send(client, "GET", f"/v1/dimension/SUBACCOUNT/1/{encoded}", token)
    assert value.json()["description"] == "Trondheim"
    duplicate = {"segmentValues": [{"operation": "Insert", "value": "100"}]}
    again = await send(client, "PUT", "/v1/dimension/SUBACCOUNT/1", token, duplicate)
    assert again.status_code == 400


async def test_subaccounts_appear_once_used(client: httpx.AsyncClient, token: str) -> None:
    """A segment combination used on a document becomes a readable subaccount."""
    await send(client, "POST", "/v1/supplierInvoice", token, invoice_body())
    listed = (await send(client, "GET", "/v1/subaccount?pageNumber=1&pageSize=10", token)).json()
    one = (await send(client, "GET", "/v1/subaccount/100-10", token)).json()
    assert [s["subaccountNumber"] for s in listed] == ["100-10"]
    assert one["segments"][1]["segmentValueDescription"] == "Rådgivning"


async def test_projects_with_visibility_filters(client: httpx.AsyncClient, token: str) -> None:
    """Projects carry visibility.visibleInAp; visibleInAP and nonProject filter the list."""
    projects = (await send(client, "GET", "/v1/project", token)).json()
    ap = (await send(client, "GET", "/v1/project?visibleInAP=false", token)).json()
    non = (await send(client, "GET", "/v1/project?nonProject=true", token)).json()
    one = (await send(client, "GET", "/v1/project/P300", token)).json()
    assert [p["projectID"] for p in projects] == ["P100", "P200", "P300", "X"]
    assert [p["projectID"] for p in ap] == ["P200"]
    assert [p["projectID"] for p in non] == ["X"]
    assert one["status"] == "Completed"
    assert one["visibility"]["visibleInAp"] is True


async def test_vat_periods_and_currencies(client: httpx.AsyncClient, token: str) -> None:
    """VAT codes carry rates; periods carry the supplier-ledger closed flag; currencies list."""
    vat = (await send(client, "GET", "/v1/vat/1", token)).json()
    periods = (await send(client, "GET", "/v1/financialPeriod", token)).json()
    february = (await send(client, "GET", "/v1/financialPeriod/202602", token)).json()
    currencies = (await send(client, "GET", "/v1/currency", token)).json()
    assert vat["schedules"][0]["vatRate"] == Decimal("25")
    assert len(periods) == 12
    assert (february["closedInSupplierLedger"], february["startDate"]) == (
        True,
        "2026-02-01T00:00:00.000",
    )
    assert february["endDate"] == "2026-02-28T00:00:00.000"
    assert [c["id"] for c in currencies if c["isBaseCurrency"]] == ["NOK"]


async def test_purchase_order_create_and_line_operations(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """POST a PO (201 + Location), PUT line operations, read totals back."""
    body = {
        "orderType": w("RegularOrder"),
        "supplier": w("50001"),
        "date": w("2026-03-12T00:00:00"),
        "description": w("Laptops"),
        "hold": w(False),
        "lines": [
            {
                "operation": "Insert",
                "lineNumber": w(1),
                "lineType": w("NonStock"),
                "lineDescription": w("Laptop"),
                "orderQty": w(Decimal("2")),
                "unitCost": w(Decimal("12500.00")),
                "account": w("6800"),
                "sub": [{"segmentId": 1, "segmentValue": "200"}],
                "project": w("P100"),
                "projectTask": w("01"),
            },
        ],
    }
    created = await send(client, "POST", "/v1/purchaseorder", token, body)
    number = created.headers["location"].rsplit("/", 1)[1]
    change = {
        "lines": [
            {"operation": "Update", "lineNumber": w(1), "orderQty": w(Decimal("3"))},
            {
                "operation": "Insert",
                "lineNumber": w(2),
                "lineDescription": w("Dock"),
                "extCost": w(Decimal("999.50")),
            },
        ]
    }
    etag = created.headers["etag"]
    updated = await send(client, "PUT", f"/v1/purchaseorder/{number}", token, change, if_match=etag)
    stale = await send(client, "PUT", f"/v1/purchaseorder/{number}", token, change, if_match=etag)
    read = (await send(client, "GET", f"/v1/purchaseorder/{number}", token)).json()
    assert (created.status_code, updated.status_code, stale.status_code) == (201, 204, 412)
    assert read["status"] == "Open"
    assert [(ln["lineNbr"], ln["amount"]) for ln in read["lines"]] == [
        (1, Decimal("37500.00")),
        (2, Decimal("999.50")),
    ]
    assert read["orderTotal"] == Decimal("38499.50")
    assert read["lines"][0]["sub"]["subaccountNumber"] == "200-10"
    assert sandbox.purchase_orders()[0]["orderNbr"] == number


async def test_purchase_order_validation(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Blocked supplier, missing operation, inactive account and a project hidden from PO: 400."""
    sandbox.set_project("P100", visible_in_po=False)
    line = {"operation": "Insert", "extCost": w(Decimal("1"))}
    cases = {
        "Inactive": {"supplier": w("50003"), "lines": []},
        "'operation' is required": {"supplier": w("50001"), "lines": [{"note": w("no op")}]},
        "is inactive": {"supplier": w("50001"), "lines": [{**line, "account": w("7999")}]},
        "not visible in Purchase orders": {
            "supplier": w("50001"),
            "lines": [{**line, "project": w("P100")}],
        },
    }
    for fragment, body in cases.items():
        response = await send(client, "POST", "/v1/purchaseorder", token, body)
        assert response.status_code == 400
        assert fragment in response.json()["message"]
    assert sandbox.purchase_orders() == []
