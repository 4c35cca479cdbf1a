"""The Visma sandbox against Visma's own OpenAPI documents.

Every route the sandbox serves must exist in the spec, every answer to a realistic session must
fit the declared schema for its status, and the example write bodies the tests use must be
valid requests. The release action and the legacy subscription API are checked against the 9.11
Swagger file, which is where they are declared with a 200/201 body.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from integration.sandbox_visma.visma_kit import (
    BASE_URL,
    fetch_token,
    invoice_body,
    invoice_line,
    make_sandbox,
    send,
    w,
)
from support.openapi import SpecValidator
from support.recording import RecordingTransport

SUPPLIER_BODY = {
    "name": w("Kontrakt AS"),
    "currencyId": w("NOK"),
    "corporateId": w("987654321"),
    "mainAddress": w({"addressLine1": w("Gate 2"), "city": w("Oslo"), "countryId": w("NO")}),
    "mainContact": w({"name": w("Ola"), "email": w("ola@kontrakt.example")}),
}
JOURNAL_BODY = {
    "transactionDate": w("2026-03-10T00:00:00"),
    "financialPeriod": w("202603"),
    "currencyId": w("NOK"),
    "branch": w("1"),
    "description": w("Ramp card spend"),
    "journalTransactionLines": [
        {
            "operation": "Insert",
            "accountNumber": w("6800"),
            "subaccount": [{"segmentId": 1, "segmentValue": "100"}],
            "project": w("P100"),
            "projectTask": w("01"),
            "vatCodeId": w("1"),
            "referenceNumber": w("ramp:tx:1"),
            "transactionDescription": w("Card purchase"),
            "debitAmountInCurrency": w(Decimal("125.50")),
        },
        {
            "operation": "Insert",
            "accountNumber": w("2400"),
            "referenceNumber": w("ramp:tx:1"),
            "creditAmountInCurrency": w(Decimal("125.50")),
        },
    ],
}
PO_BODY = {
    "orderType": w("RegularOrder"),
    "supplier": w("50001"),
    "hold": w(False),
    "lines": [
        {
            "operation": "Insert",
            "lineNumber": w(1),
            "lineType": w("NonStock"),
            "orderQty": w(Decimal("2")),
            "unitCost": w(Decimal("10.50")),
            "account": w("6800"),
            "sub": [{"segmentId": 1, "segmentValue": "100"}],
            "project": w("P100"),
            "projectTask": w("01"),
        }
    ],
}


def _legacy_path(path: str) -> str:
    """A sandbox path as the 9.11 Swagger spells it (base path /API)."""
    if path.lower().startswith("/api/"):
        return path
    return ("/API" if path.startswith("/resources/") else "/API/controller/api") + path


async def _session(recorder: RecordingTransport) -> None:
    """A realistic connector session touching every route the sandbox serves."""
    async with httpx.AsyncClient(transport=recorder, base_url=BASE_URL) as http:
        token = await fetch_token(http)

        async def call(
            method: str, url: str, body: object = None, **headers: str
        ) -> httpx.Response:
            return await send(http, method, url, token, body, **headers)

        await _supplier_and_invoice_session(call, http, token)
        await _master_data_session(call)
        await _purchase_order_session(call)
        await _journal_session(call, http, token)
        await _legacy_session(call)


async def _supplier_and_invoice_session(
    call: Callable[..., Awaitable[httpx.Response]], http: httpx.AsyncClient, token: str
) -> None:
    """Suppliers (list, create, read, update with a fresh and a stale ETag), then supplier
    invoices (create, read, update, attach, list, release in the background, delete)."""
    await call("GET", "/v1/supplier?pageNumber=1&pageSize=2&status=Active")
    await call(
        "GET",
        "/v1/supplier?lastModifiedDateTime=2026-01-01&"
        "lastModifiedDateTimeCondition=%3E&expandNote=true",
    )
    created = await call("POST", "/v1/supplier", SUPPLIER_BODY)
    number = created.headers["location"].rsplit("/", 1)[1]
    read = await call("GET", f"/v1/supplier/{number}")
    await call("PUT", f"/v1/supplier/{number}", {"note": w("n")}, if_match=read.headers["etag"])
    await call("PUT", f"/v1/supplier/{number}", {"note": w("x")}, if_match=read.headers["etag"])

    body = invoice_body(
        invoice_line(projectId=w("P100"), projectTaskId=w("01")),
        invoice_line("6300", "99.90", vatCodeId=w("3")),
        taxCalculationMode=w("Gross"),
        note=w("ramp:bill:abc"),
    )
    invoice = (await call("POST", "/v1/supplierInvoice", body)).headers["location"]
    ref = invoice.rsplit("/", 1)[1]
    await call("GET", f"/v1/supplierInvoice/{ref}")
    one = await call("GET", f"/v1/supplierInvoice/Invoice/{ref}")
    await call(
        "PUT",
        f"/v1/supplierInvoice/Invoice/{ref}",
        {"hold": w(False)},
        if_match=one.headers["etag"],
    )
    await http.post(
        f"/v1/supplierInvoice/{ref}/attachment",
        files={"file": ("invoice.pdf", b"%PDF-1.7", "application/pdf")},
        headers={"Authorization": f"Bearer {token}"},
    )
    await call(
        "GET",
        "/v1/supplierInvoice?supplier=50001&expandNote=true&expandAttachment=true"
        "&pageNumber=1&pageSize=10",
    )
    accepted = await call("POST", f"/v1/supplierInvoice/{ref}/action/release")
    for _ in range(2):  # Started, then Finished: the current API releases in the background
        await call("GET", f"/v1/background/{accepted.json()['id']}")
    draft = (await call("POST", "/v1/supplierInvoice", invoice_body())).headers["location"]
    await call("DELETE", f"/v1/supplierInvoice/{draft.rsplit('/', 1)[1]}")


async def _master_data_session(call: Callable[..., Awaitable[httpx.Response]]) -> None:
    """Accounts, dimensions and subaccounts, projects, VAT, periods and currencies."""
    await call("GET", "/v1/account?active=true")
    await call("GET", "/v1/account/6800")
    await call(
        "POST",
        "/v1/account",
        {"accountCD": w("6550"), "type": w("Expense"), "description": w("Verktøy")},
    )
    await call("PUT", "/v1/account/6550", {"active": w(False)})
    await call("GET", "/v1/dimension")
    await call("GET", "/v1/dimension/SUBACCOUNT?expandSegmentsValues=true")
    await call("GET", "/v1/dimension/SUBACCOUNT/1")
    await call("GET", "/v1/dimension/SUBACCOUNT/1/MTAw")
    await call(
        "PUT",
        "/v1/dimension/SUBACCOUNT/2",
        {
            "segmentValues": [
                {
                    "operation": "Insert",
                    "value": "30",
                    "description": w("Salg"),
                    "active": w(True),
                }
            ]
        },
    )
    await call("GET", "/v1/subaccount?pageNumber=1&pageSize=50")
    await call("GET", "/v1/subaccount/100-10")
    await call("GET", "/v1/project?visibleInAP=true&pageNumber=1&pageSize=50")
    await call("GET", "/v1/project/P100")
    await call("GET", "/v1/vat")
    await call("GET", "/v1/vat/1")
    await call("GET", "/v1/financialPeriod")
    await call("GET", "/v1/financialPeriod/202603")
    await call("GET", "/v1/currency")
    await call("GET", "/v1/currency/NOK")


async def _purchase_order_session(call: Callable[..., Awaitable[httpx.Response]]) -> None:
    """A purchase order: create, read, update with its ETag, list."""
    order = (await call("POST", "/v1/purchaseorder", PO_BODY)).headers["location"]
    po_number = order.rsplit("/", 1)[1]
    po = await call("GET", f"/v1/purchaseorder/{po_number}")
    await call(
        "PUT",
        f"/v1/purchaseorder/{po_number}",
        {"lines": [{"operation": "Delete", "lineNumber": w(1)}]},
        if_match=po.headers["etag"],
    )
    await call("GET", "/v1/purchaseorder?supplier=50001&pageNumber=1&pageSize=10")


async def _legacy_session(call: Callable[..., Awaitable[httpx.Response]]) -> None:
    """The legacy subscription and event resources."""
    hook = {"event": "supplier_changed", "hookUri": "https://receiver.test/visma"}
    subscription = await call("POST", "/API/resources/v1/subscription", hook)
    await call("GET", "/API/resources/v1/subscription")
    await call("GET", subscription.headers["location"].removeprefix(BASE_URL))
    await call("GET", "/API/resources/v1/event")


async def _journal_session(
    call: Callable[..., Awaitable[httpx.Response]], http: httpx.AsyncClient, token: str
) -> None:
    """Journal transactions: create (balanced, foreign currency, on hold), read, list with
    every filter, update, release, attachments."""
    created = await call("POST", "/v2/journaltransaction", JOURNAL_BODY)
    assert created.status_code == 201, created.text
    number = created.headers["location"].rsplit("/", 1)[1]
    foreign = {**JOURNAL_BODY, "currencyId": w("EUR"), "exchangeRate": w(Decimal("11.5"))}
    assert (await call("POST", "/v2/journaltransaction", foreign)).status_code == 201
    held = {**JOURNAL_BODY, "hold": w(True)}
    held_number = (await call("POST", "/v2/journaltransaction", held)).headers["location"]
    one = await call("GET", f"/v2/journaltransaction/{number}")
    edited = await call(
        "PUT",
        f"/v2/journaltransaction/{number}",
        {
            "description": w("Edited"),
            "journalTransactionLines": [
                {"operation": "Update", "lineNumber": w(1), "transactionDescription": w("New")}
            ],
        },
        if_match=one.headers["etag"],
    )
    assert edited.status_code == 204, edited.text
    await http.post(
        f"/v2/journaltransaction/module/GL/{number}/attachment",
        files={"file": ("receipt.pdf", b"%PDF-1.7", "application/pdf")},
        headers={"Authorization": f"Bearer {token}"},
    )
    await http.post(
        f"/v2/journaltransaction/module/GL/{number}/1/attachment",
        files={"file": ("line.pdf", b"%PDF-1.7", "application/pdf")},
        headers={"Authorization": f"Bearer {token}"},
    )
    accepted = await call("POST", f"/v2/journaltransaction/{number}/action/release")
    for _ in range(2):
        await call("GET", f"/v1/background/{accepted.json()['id']}")
    listed = await call(
        "GET",
        "/v2/journaltransaction?periodId=202603&module=GL&status=Posted&expandAttachments=true"
        "&pageNumber=1&pageSize=2&branch=1&releasedBatch=true",
    )
    assert [b["batchNumber"] for b in listed.json()] == [number]
    await call(
        "GET", "/v2/journaltransaction?lastModifiedDateTime=2026-01-01&pageNumber=1&pageSize=50"
    )
    await call("GET", f"/v2/journaltransaction/{number}")
    assert held_number


@pytest.fixture(scope="module")
def specs(shared_specs_dir: Path) -> tuple[SpecValidator, SpecValidator]:
    """The current service-API spec and the 9.11 legacy Swagger."""
    return (
        SpecValidator.load("visma", shared_specs_dir),
        SpecValidator.load("visma-legacy", shared_specs_dir),
    )


async def test_every_answer_fits_the_spec(specs: tuple[SpecValidator, SpecValidator]) -> None:
    """Each request and response of a full session validates against the vendor spec."""
    current, legacy = specs
    sandbox = make_sandbox(rate_limit_per_hour=1000)
    recorder = RecordingTransport(httpx.ASGITransport(app=sandbox.app))
    await _session(recorder)
    checked = 0
    for request, response in recorder.exchanges:
        path = request.url.raw_path.decode()
        if request.url.path == "/connect/token":
            continue
        assert response.status_code < 500, (path, response.text)
        if "/resources/" in path:
            legacy.validate_response(
                request.method,
                _legacy_path(path),
                response.status_code,
                response.json() if response.content else None,
            )
        elif "/attachment" in path:
            current.validate_response(request.method, path, response.status_code, None)
        else:
            current.validate_httpx_exchange(request, response)
        checked += 1
    statuses = {response.status_code for _, response in recorder.exchanges}
    assert {200, 201, 202, 204, 412} <= statuses
    assert checked == len(recorder.exchanges) - 1 >= 40


def test_every_sandbox_route_is_in_a_spec(specs: tuple[SpecValidator, SpecValidator]) -> None:
    """No invented endpoints: each served (method, template) is declared by Visma."""
    current, legacy = specs
    sandbox = make_sandbox()
    for method, template in sandbox.router.templates():
        concrete = re.sub(r"\{[^}]+\}", "X1", template)
        legacy_release = template.startswith("/v1/") and template.endswith("/action/release")
        if template.startswith("/resources/") or legacy_release:
            legacy.find_operation(method, _legacy_path(concrete))
        else:
            current.find_operation(method, concrete)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/supplier", SUPPLIER_BODY),
        ("POST", "/v1/supplierInvoice", invoice_body()),
        (
            "POST",
            "/v1/supplierInvoice",
            invoice_body(invoice_line(vatCodeId=w("1")), taxCalculationMode=w("Net")),
        ),
        (
            "PUT",
            "/v1/supplierInvoice/Invoice/000001",
            {
                "invoiceLines": [
                    {
                        "operation": "Update",
                        "lineNumber": w(1),
                        "costInCurrency": w(Decimal("5.00")),
                    }
                ]
            },
        ),
        ("POST", "/v1/purchaseorder", PO_BODY),
        ("POST", "/v2/journaltransaction", JOURNAL_BODY),
        (
            "PUT",
            "/v2/journaltransaction/000001",
            {
                "hold": w(False),
                "journalTransactionLines": [{"operation": "Delete", "lineNumber": w(2)}],
            },
        ),
    ],
)
def test_example_requests_are_valid(
    specs: tuple[SpecValidator, SpecValidator], method: str, path: str, body: object
) -> None:
    """The write bodies the behaviour tests send are valid requests per the spec."""
    import json

    from integration.sandbox_visma.visma_kit import as_json

    specs[0].validate_request(method, path, json.loads(as_json(body)))


def test_spec_and_sandbox_agree_on_unwrapped_scalars(
    specs: tuple[SpecValidator, SpecValidator],
) -> None:
    """A body the sandbox refuses for a missing wrapper is invalid per the spec too."""
    with pytest.raises(AssertionError):
        specs[0].validate_request("POST", "/v1/supplierInvoice", {"postPeriod": "032026"})
