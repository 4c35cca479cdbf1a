"""Supplier invoices: validation, totals, lifecycle, line operations and attachments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from integration.sandbox_visma.visma_kit import invoice_body, invoice_line, release, send, w
from ml_connector.sandbox.visma import VismaSandbox


async def _create(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> str:
    response = await send(client, "POST", "/v1/supplierInvoice", token, body)
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def _without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in names}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (invoice_body(supplierNumber=w("99999")), "Supplier '99999' cannot be found"),
        (invoice_body(supplierNumber=w("50002")), "OnHold"),
        (invoice_body(supplierNumber=w("50003")), "Inactive"),
        (invoice_body(invoice_line(account="4321")), "Account '4321' cannot be found"),
        (invoice_body(invoice_line(account="7999")), "Account '7999' is inactive"),
        (invoice_body(invoice_line(segments=((1, "555"),))), "'555' of segment 1"),
        (invoice_body(invoice_line(segments=((1, "900"),))), "'900' of segment 1"),
        (invoice_body(invoice_line(segments=((2, "99"),))), "is inactive"),
        (invoice_body(invoice_line(segments=((7, "1"),))), "Segment 7 does not exist"),
        (invoice_body(invoice_line(projectId=w("P999"))), "Project 'P999' cannot be found"),
        (invoice_body(invoice_line(projectId=w("P200"))), "not visible in Supplier ledger"),
        (invoice_body(invoice_line(projectId=w("P300"))), "has status Completed"),
        (invoice_body(financialPeriod=w("202602")), "02-2026 is closed in Supplier ledger"),
        (
            _without(invoice_body(postPeriod=w("012026")), "financialPeriod"),
            "01-2026 is closed",
        ),
        (
            _without(invoice_body(date=w("2026-02-27T00:00:00")), "financialPeriod"),
            "02-2026 is closed",
        ),
        (invoice_body(financialPeriod=w("203001")), "not defined"),
        (invoice_body(invoice_line(vatCodeId=w("01"))), "TaxID '01' cannot be found"),
        (
            invoice_body(_without(invoice_line(), "operation")),
            "'operation' is required",
        ),
        (invoice_body(currencyId=w("JPY")), "Currency 'JPY' cannot be found"),
        (invoice_body(documentType=w("Prepayment")), "cannot be created"),
    ],
)
async def test_invalid_documents_are_refused(
    client: httpx.AsyncClient,
    sandbox: VismaSandbox,
    token: str,
    body: dict[str, Any],
    fragment: str,
) -> None:
    """Each broken rule answers 400 {"message": "VismaId: <uuid>. …"} and stores nothing."""
    response = await send(client, "POST", "/v1/supplierInvoice", token, body)
    message = response.json()["message"]
    assert response.status_code == 400
    assert message.startswith("VismaId: ")
    assert fragment in message
    assert sandbox.invoices() == []
    assert sandbox.state.subaccounts == {}


async def test_gross_mode_extracts_vat_from_line_amounts(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Gross: the total equals the sum of the lines; VAT is extracted per VAT code, half up."""
    lines = (
        invoice_line("6800", "1000.00"),  # 25 %: VAT 200.00
        invoice_line("6800", "0.05"),  # joins the 25 % group: 1000.05 → VAT 200.01
        invoice_line("6300", "112.00", vatCodeId=w("5")),  # 12 %: VAT 12.00
        invoice_line("7140", "333.33"),  # account default 0 %
    )
    await _create(client, token, invoice_body(*lines, taxCalculationMode=w("Gross")))
    (invoice,) = sandbox.invoices()
    assert invoice["detailTotal"] == Decimal("1445.38")
    assert invoice["amount"] == Decimal("1445.38")
    assert invoice["vatAmount"] == Decimal("212.01")
    assert invoice["vatTaxableTotal"] == Decimal("1233.37")
    details = {d["taxId"]: (d["taxableAmount"], d["vatAmount"]) for d in invoice["taxDetailLines"]}
    assert details == {
        "1": (Decimal("800.04"), Decimal("200.01")),
        "5": (Decimal("100.00"), Decimal("12.00")),
        "0": (Decimal("333.33"), Decimal("0.00")),
    }


async def test_net_mode_adds_vat_on_top(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Net (and no mode): VAT is added to the lines, rounded half up to cents."""
    lines = (invoice_line("6800", "100.02"), invoice_line("6300", "10.00", vatCodeId=w("3")))
    await _create(client, token, invoice_body(*lines, taxCalculationMode=w("Net")))
    await _create(client, token, invoice_body(invoice_line("6800", "0.10")))
    net, unspecified = sandbox.invoices()
    assert net["detailTotal"] == Decimal("110.02")
    assert net["vatAmount"] == Decimal("26.51")  # 25.005 → 25.01, plus 1.50
    assert net["amount"] == Decimal("136.53")
    assert unspecified["taxCalculationMode"] == "TaxSetting"
    assert unspecified["amount"] == Decimal("0.13")  # 0.10 + 0.025 → 0.03


async def test_quantity_times_unit_cost_when_no_cost(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Without costInCurrency a line is quantity * unitCostInCurrency, rounded to cents."""
    line = {
        "operation": "Insert",
        "accountNumber": w("7140"),
        "quantity": w(Decimal("3")),
        "unitCostInCurrency": w(Decimal("33.335")),
    }
    await _create(client, token, invoice_body(line))
    (invoice,) = sandbox.invoices()
    assert invoice["invoiceLines"][0]["costInCurrency"] == Decimal("100.01")


async def test_status_follows_hold_and_release_opens(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """hold=true → Hold; PUT hold=false → Balanced; release (in the background) → Open."""
    number = await _create(client, token, invoice_body())
    assert sandbox.invoices()[0]["status"] == "Hold"
    on_hold = await release(client, f"/v1/supplierInvoice/{number}/action/release", token)
    assert (on_hold["status"], on_hold["statusCode"]) == ("Finished", 400)
    assert "on hold" in on_hold["content"]["message"]
    put = await send(client, "PUT", f"/v1/supplierInvoice/{number}", token, {"hold": w(False)})
    assert put.status_code == 204
    assert sandbox.invoices()[0]["status"] == "Balanced"
    released = await release(client, f"/v1/supplierInvoice/Invoice/{number}/action/release", token)
    assert (released["status"], released["statusCode"]) == ("Finished", 204)
    assert sandbox.invoices()[0]["status"] == "Open"


async def test_put_refused_after_release(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """An Open document cannot be changed or deleted: 400 with a message, nothing changes."""
    number = await _create(client, token, invoice_body(hold=w(False)))
    await release(client, f"/v1/supplierInvoice/{number}/action/release", token)
    put = await send(client, "PUT", f"/v1/supplierInvoice/{number}", token, {"description": w("x")})
    delete = await send(client, "DELETE", f"/v1/supplierInvoice/{number}", token)
    assert put.status_code == 400
    assert "Open" in put.json()["message"]
    assert delete.status_code == 400
    assert sandbox.invoices()[0]["description"] == "Office supplies"


async def test_line_operations_update_insert_delete(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """PUT lines by operation and lineNumber; totals are recomputed."""
    number = await _create(
        client, token, invoice_body(invoice_line(amount="100.00"), invoice_line(amount="200.00"))
    )
    body = {
        "invoiceLines": [
            {"operation": "Update", "lineNumber": w(1), "costInCurrency": w(Decimal("150.00"))},
            {"operation": "Delete", "lineNumber": w(2)},
            invoice_line("6300", "50.00", lineNumber=w(7)),
        ]
    }
    response = await send(client, "PUT", f"/v1/supplierInvoice/Invoice/{number}", token, body)
    assert response.status_code == 204
    (invoice,) = sandbox.invoices()
    assert [(ln["lineNumber"], ln["costInCurrency"]) for ln in invoice["invoiceLines"]] == [
        (1, Decimal("150.00")),
        (7, Decimal("50.00")),
    ]
    assert invoice["amount"] == Decimal("250.00")


async def test_failed_put_changes_nothing(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """A PUT whose second line is invalid leaves the document exactly as it was."""
    number = await _create(client, token, invoice_body())
    before = sandbox.invoices()[0]
    body = {
        "description": w("changed"),
        "invoiceLines": [
            {"operation": "Update", "lineNumber": w(1), "costInCurrency": w(Decimal("1.00"))},
            invoice_line("7999", "5.00"),
        ],
    }
    response = await send(client, "PUT", f"/v1/supplierInvoice/{number}", token, body)
    assert response.status_code == 400
    assert sandbox.invoices()[0] == before


async def test_put_with_stale_if_match_is_412(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """The ETag from GET one guards a document PUT."""
    number = await _create(client, token, invoice_body())
    read = await send(client, "GET", f"/v1/supplierInvoice/{number}", token)
    assert read.headers["etag"] == f'"{read.json()["timeStamp"]}"'
    await send(client, "PUT", f"/v1/supplierInvoice/{number}", token, {"note": w("a")})
    stale = await send(
        client,
        "PUT",
        f"/v1/supplierInvoice/{number}",
        token,
        {"note": w("b")},
        if_match=read.headers["etag"],
    )
    assert stale.status_code == 412
    assert sandbox.invoices()[0]["note"] == "a"


async def test_delete_removes_a_draft(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """DELETE of a Hold document answers 204 and removes it; reading it then is 404."""
    number = await _create(client, token, invoice_body())
    response = await send(client, "DELETE", f"/v1/supplierInvoice/Invoice/{number}", token)
    assert response.status_code == 204
    assert sandbox.invoices() == []
    assert (await send(client, "GET", f"/v1/supplierInvoice/{number}", token)).status_code == 404


async def test_read_shape_and_list_filters(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Lists filter by supplier/type/status and include note only with expandNote=true."""
    await _create(client, token, invoice_body(note=w("ramp:bill:1")))
    await _create(
        client,
        token,
        invoice_body(documentType=w("DebitAdj"), supplierNumber=w("50004"), currencyId=w("SEK")),
    )
    plain = (await send(client, "GET", "/v1/supplierInvoice?supplier=50001", token)).json()
    noted = (
        await send(client, "GET", "/v1/supplierInvoice?supplier=50001&expandNote=true", token)
    ).json()
    credits_ = (
        await send(client, "GET", "/v1/supplierInvoice?documentType=DebitAdj", token)
    ).json()
    held = (await send(client, "GET", "/v1/supplierInvoice?status=Hold", token)).json()
    assert "note" not in plain[0]
    assert noted[0]["note"] == "ramp:bill:1"
    assert [c["supplier"]["number"] for c in credits_] == ["50004"]
    assert len(held) == 2
    first = plain[0]
    assert first["supplier"] == {
        "internalId": first["supplier"]["internalId"],
        "number": "50001",
        "name": "Kontorland AS",
    }
    assert (first["postPeriod"], first["financialPeriod"]) == ("032026", "202603")
    assert first["supplierReference"] == "INV-1001"
    assert first["metadata"] == {"totalCount": 1, "maxPageSize": 1000}
    line = first["invoiceLines"][0]
    assert line["account"]["number"] == "6800"
    assert line["vatCode"]["id"] == "1"
    assert line["subaccount"]["subaccountNumber"] == "100-10"
    assert [s["segmentValue"] for s in line["subaccount"]["segments"]] == ["100", "10"]


async def test_omitted_segments_take_the_default_value(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """A line naming only the cost centre gets the department segment's first value."""
    await _create(client, token, invoice_body(invoice_line(segments=((1, "200"),))))
    (invoice,) = sandbox.invoices()
    assert invoice["invoiceLines"][0]["subaccount"]["subaccountNumber"] == "200-10"
    assert "200-10" in sandbox.state.subaccounts


async def test_reference_numbers_are_unique_per_type(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Auto-numbers count up; a given referenceNumber already used for the type is refused."""
    first = await _create(client, token, invoice_body())
    second = await _create(client, token, invoice_body())
    own = await _create(client, token, invoice_body(referenceNumber=w("AP-77")))
    again = await send(
        client, "POST", "/v1/supplierInvoice", token, invoice_body(referenceNumber=w("AP-77"))
    )
    assert (first, second, own) == ("000001", "000002", "AP-77")
    assert again.status_code == 400


async def test_attachments_are_stored_with_their_bytes(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """A multipart upload answers 201 + Location; the bytes are kept; same name = new revision."""
    number = await _create(client, token, invoice_body())
    pdf = b"%PDF-1.7\n" + bytes(range(256))
    headers = {"Authorization": f"Bearer {token}"}
    first = await client.post(
        f"/v1/supplierInvoice/{number}/attachment",
        files={"file": ("invoice.pdf", pdf, "application/pdf")},
        headers=headers,
    )
    second = await client.post(
        f"/v1/supplierInvoice/documentType/Invoice/{number}/attachment",
        files={"v": ("invoice.pdf", b"%PDF-2", "application/pdf")},
        headers=headers,
    )
    assert first.status_code == 201
    attachment_id = first.headers["location"].rsplit("/", 1)[1]
    assert second.headers["location"].endswith(attachment_id)
    stored = sandbox.attachment(attachment_id)
    assert stored is not None
    assert (stored.content, stored.revision, stored.name) == (b"%PDF-2", 2, "invoice.pdf")
    listed = sandbox.invoices()[0]["attachments"]
    assert listed == [{"name": "invoice.pdf", "id": attachment_id, "revision": 2}]
    download = await client.get(f"/v1/attachment/{attachment_id}", headers=headers)
    assert download.content == b"%PDF-2"


async def test_line_attachment_and_bad_uploads(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Line-level uploads attach to the line; no file or an unknown line are refused."""
    number = await _create(client, token, invoice_body())
    headers = {"Authorization": f"Bearer {token}"}
    line = await client.post(
        f"/v1/supplierInvoice/{number}/1/attachment",
        files={"file": ("receipt.png", b"\x89PNG", "image/png")},
        headers=headers,
    )
    unknown_line = await client.post(
        f"/v1/supplierInvoice/{number}/9/attachment",
        files={"file": ("receipt.png", b"\x89PNG", "image/png")},
        headers=headers,
    )
    no_file = await client.post(
        f"/v1/supplierInvoice/{number}/attachment", data={"x": "y"}, headers=headers
    )
    assert line.status_code == 201
    assert unknown_line.status_code == 404
    assert no_file.status_code == 400
    (stored,) = sandbox.state.invoices[("Invoice", number)].attachments
    assert (stored.line_number, stored.content) == (1, b"\x89PNG")
