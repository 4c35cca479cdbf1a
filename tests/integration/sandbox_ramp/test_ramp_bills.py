"""Bills in the Ramp sandbox: filters, create, update, archive, coding and invoice files."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from integration.sandbox_ramp.ramp_kit import (
    BILL_APPROVED,
    BILL_CREDIT,
    BILL_PENDING,
    BILL_SEK,
    ENTITY_ID,
    PO_ID,
    VENDOR_A,
    VENDOR_B,
    bearer,
    error_code,
    ids,
)
from ml_connector.sandbox import seed
from ml_connector.sandbox.ramp import CREDIT_MEMO_PREFIX, RampSandbox
from ml_connector.sandbox.ramp.errors import RampApiError

BILLS = "/developer/v1/bills"


async def _list(client: httpx.AsyncClient, token: str, **params: Any) -> list[str]:
    response = await client.get(BILLS, params={"page_size": 100, **params}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return ids(response.json())


def _create_body(sandbox: RampSandbox, **overrides: Any) -> dict[str, Any]:
    contact = sandbox.state.vendors[VENDOR_A].contact_ids[0]
    body: dict[str, Any] = {
        "vendor_id": VENDOR_A,
        "vendor_contact_id": contact,
        "entity_id": ENTITY_ID,
        "invoice_number": "API-1",
        "invoice_currency": "NOK",
        "issued_at": "2026-03-10",
        "due_at": "2026-04-09",
        "payment_method": "ACH",
        "line_items": [
            {
                "amount": "1250.50",
                "memo": "Desk",
                "accounting_field_selections": [
                    {
                        "field_external_id": seed.FIELD_GL_ACCOUNT,
                        "field_option_external_id": "6540",
                    },
                    {
                        "field_external_id": seed.FIELD_COST_CENTRE,
                        "field_option_external_id": "200",
                    },
                ],
            },
            {"amount": 49.5, "memo": "Lamp"},
        ],
    }
    body.update(overrides)
    return body


async def test_seeded_bill_renders_ramp_shape(client: httpx.AsyncClient, token: str) -> None:
    """A seeded bill carries minor units, midnight dates and coding by ERP id."""
    bill = (await client.get(f"{BILLS}/{BILL_APPROVED}", headers=bearer(token))).json()
    assert bill["amount"] == {"amount": 130050, "currency_code": "NOK"}
    assert bill["issued_at"] == "2026-03-01T00:00:00+00:00"
    assert bill["status"] == "OPEN"
    assert bill["sync_status"] == "NOT_SYNCED"
    assert bill["vendor"]["id"] == VENDOR_A
    first = bill["line_items"][0]
    coding = {s["category_info"]["external_id"]: s for s in first["accounting_field_selections"]}
    assert coding[seed.FIELD_GL_ACCOUNT]["external_id"] == "6540"
    assert coding[seed.FIELD_GL_ACCOUNT]["category_info"]["type"] == "GL_ACCOUNT"
    assert coding[seed.FIELD_COST_CENTRE]["external_id"] == "100"
    assert coding[seed.FIELD_COST_CENTRE]["category_info"]["type"] == "COST_CENTER"
    assert coding[seed.FIELD_PROJECT]["external_id"] == "P-100"
    assert bill["payment"] is None


async def test_credit_bill_is_positive_and_marked(client: httpx.AsyncClient, token: str) -> None:
    """A vendor credit keeps a positive amount and its memo starts with the credit marker."""
    bill = (await client.get(f"{BILLS}/{BILL_CREDIT}", headers=bearer(token))).json()
    assert bill["amount"]["amount"] == 5050
    assert bill["memo"] == f"{CREDIT_MEMO_PREFIX} Returned chairs"


async def test_filters_by_status_vendor_and_payment(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """approval_status, vendor_id, payment_status and entity_id narrow the list."""
    sandbox.pay_bill(BILL_CREDIT)
    assert await _list(client, token, approval_status="PENDING") == [BILL_PENDING]
    assert await _list(client, token, vendor_id=VENDOR_B) == [BILL_SEK]
    assert await _list(client, token, payment_status="PAID") == [BILL_CREDIT]
    assert len(await _list(client, token, entity_id=ENTITY_ID)) == 4


async def test_sync_ready_means_approved_live_and_unsynced(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """sync_ready=true lists approved, unarchived, NOT_SYNCED bills; false lists the rest."""
    ready = await _list(client, token, sync_ready="true")
    assert set(ready) == {BILL_APPROVED, BILL_CREDIT, BILL_SEK}
    sandbox.archive_bill(BILL_SEK)
    sandbox.approve_bill(BILL_PENDING)
    ready = await _list(client, token, sync_ready="true")
    assert set(ready) == {BILL_APPROVED, BILL_CREDIT, BILL_PENDING}
    assert await _list(client, token, sync_ready="false") == []


async def test_date_and_amount_filters(client: httpx.AsyncClient, token: str) -> None:
    """Issue/due date ranges and min/max amounts (decimal major units) are inclusive."""
    issued = await _list(
        client, token, from_issued_date="2026-03-01T00:00:00Z", to_issued_date="2026-03-05"
    )
    assert set(issued) == {BILL_APPROVED, BILL_PENDING}
    due = await _list(client, token, to_due_date="2026-03-12T00:00:00+00:00")
    assert set(due) == {BILL_CREDIT, BILL_SEK}
    assert set(await _list(client, token, min_amount="400", max_amount="999.00")) == {
        BILL_PENDING,
        BILL_SEK,
    }
    assert await _list(client, token, min_amount="1300.50") == [BILL_APPROVED]


async def test_bad_filter_values_are_422(client: httpx.AsyncClient, token: str) -> None:
    """An unknown enum value, a bad boolean or a bad date is a 422 DEVELOPER_7001."""
    for params in (
        {"approval_status": "MAYBE"},
        {"sync_ready": "perhaps"},
        {"from_created_at": "yesterday"},
        {"vendor_id": "not-a-uuid"},
    ):
        response = await client.get(BILLS, params=params, headers=bearer(token))
        assert response.status_code == 422, params
        assert error_code(response) == "DEVELOPER_7001"


async def test_create_bill_is_auto_approved_in_minor_units(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """POST /bills answers 201; decimals become minor units; the bill starts approved."""
    response = await client.post(BILLS, json=_create_body(sandbox), headers=bearer(token))
    assert response.status_code == 201, response.text
    bill = response.json()
    assert bill["approval_status"] == "APPROVED"
    assert bill["amount"] == {"amount": 130000, "currency_code": "NOK"}
    assert [li["amount"]["amount"] for li in bill["line_items"]] == [125050, 4950]
    coding = bill["line_items"][0]["accounting_field_selections"]
    assert {s["external_id"] for s in coding} == {"6540", "200"}
    assert sandbox.state.is_sync_ready(sandbox.state.bills[bill["id"]])


async def test_create_bill_with_unknown_coding_is_refused(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """Coding to an option the chart lacks (or an inactive account) stores nothing."""
    before = len(sandbox.state.bills)
    for account in ("4711", "6590"):
        body = _create_body(
            sandbox,
            line_items=[
                {
                    "amount": "10",
                    "accounting_field_selections": [
                        {
                            "field_external_id": seed.FIELD_GL_ACCOUNT,
                            "field_option_external_id": account,
                        }
                    ],
                }
            ],
        )
        response = await client.post(BILLS, json=body, headers=bearer(token))
        assert response.status_code == 400
        assert error_code(response) == "DEVELOPER_7123"
    unknown_field = _create_body(
        sandbox,
        accounting_field_selections=[
            {"field_external_id": "no-such-field", "field_option_external_id": "1"}
        ],
    )
    response = await client.post(BILLS, json=unknown_field, headers=bearer(token))
    assert error_code(response) == "DEVELOPER_7122"
    assert len(sandbox.state.bills) == before


async def test_create_bill_validation(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """Shape errors are 422 per field; wrong references are 400; nothing is stored."""
    before = len(sandbox.state.bills)
    cases: list[tuple[dict[str, Any], int]] = [
        ({"line_items": [{"amount": "1.005"}]}, 422),  # more decimals than NOK has
        ({"line_items": [{"amount": "-5"}]}, 422),  # the spec's minimum is 0
        ({"invoice_number": "X" * 21}, 422),
        ({"unexpected": True}, 422),
        ({"vendor_contact_id": "00000000-0000-4000-8000-000000000000"}, 400),
        ({"entity_id": "00000000-0000-4000-8000-000000000000"}, 400),
        ({"line_items": []}, 422),
    ]
    for overrides, status in cases:
        response = await client.post(
            BILLS, json=_create_body(sandbox, **overrides), headers=bearer(token)
        )
        assert response.status_code == status, (overrides, response.text)
        assert error_code(response) == "DEVELOPER_7001"
    missing = await client.post(BILLS, json={"vendor_id": VENDOR_A}, headers=bearer(token))
    assert missing.status_code == 422
    assert "invoice_number" in missing.json()["error_v2"]["additional_info"]
    assert len(sandbox.state.bills) == before


async def test_paid_manually_creates_a_paid_bill(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """PAID_MANUALLY with manual payment details creates the bill already paid."""
    body = _create_body(
        sandbox,
        payment_method="PAID_MANUALLY",
        payment_details={"manual_payment_method": "PAID_IN_ERP", "payment_date": "2026-03-11"},
    )
    bill = (await client.post(BILLS, json=body, headers=bearer(token))).json()
    assert bill["status"] == "PAID"
    assert bill["payment"]["details"]["manual_payment_method"] == "PAID_IN_ERP"
    assert bill["payment"]["payment_date"] == "2026-03-11T00:00:00+00:00"


async def test_patch_updates_fields_and_lines(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """PATCH changes the named fields only; explicit null clears a nullable one."""
    response = await client.patch(
        f"{BILLS}/{BILL_APPROVED}",
        json={"memo": "Updated", "line_items": [{"amount": "20.00", "memo": "One"}]},
        headers=bearer(token),
    )
    assert response.status_code == 200
    bill = response.json()
    assert bill["memo"] == "Updated"
    assert bill["amount"]["amount"] == 2000
    assert bill["invoice_number"] == "INV-1001"
    cleared = await client.patch(
        f"{BILLS}/{BILL_APPROVED}", json={"memo": None}, headers=bearer(token)
    )
    assert "memo" not in cleared.json()
    linked = await client.patch(
        f"{BILLS}/{BILL_APPROVED}", json={"purchase_order_id": PO_ID}, headers=bearer(token)
    )
    assert linked.status_code == 200
    assert sandbox.state.bills[BILL_APPROVED].purchase_order_id == PO_ID


async def test_patch_refuses_bad_references(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """A contact of another vendor, or null for a required field, is refused."""
    other_contact = sandbox.state.vendors[VENDOR_B].contact_ids[0]
    wrong = await client.patch(
        f"{BILLS}/{BILL_APPROVED}",
        json={"vendor_contact_id": other_contact},
        headers=bearer(token),
    )
    null = await client.patch(
        f"{BILLS}/{BILL_APPROVED}", json={"invoice_number": None}, headers=bearer(token)
    )
    assert wrong.status_code == 400
    assert null.status_code == 422
    assert sandbox.state.bills[BILL_APPROVED].invoice_number == "INV-1001"


async def test_delete_archives_and_hides(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """DELETE answers 204; the bill leaves the default list, shows with is_archived=true."""
    response = await client.delete(f"{BILLS}/{BILL_PENDING}", headers=bearer(token))
    assert response.status_code == 204
    assert response.content == b""
    assert BILL_PENDING not in await _list(client, token)
    assert await _list(client, token, is_archived="true") == [BILL_PENDING]
    archived = (await client.get(f"{BILLS}/{BILL_PENDING}", headers=bearer(token))).json()
    assert archived["archived_at"] is not None
    again = await client.delete(f"{BILLS}/{BILL_PENDING}", headers=bearer(token))
    assert again.status_code == 400
    edit = await client.patch(f"{BILLS}/{BILL_PENDING}", json={"memo": "x"}, headers=bearer(token))
    assert edit.status_code == 400


async def test_paid_bill_cannot_be_deleted(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """Deleting a paid bill answers 400 and leaves it live."""
    sandbox.pay_bill(BILL_APPROVED)
    response = await client.delete(f"{BILLS}/{BILL_APPROVED}", headers=bearer(token))
    assert response.status_code == 400
    assert error_code(response) == "DEVELOPER_7001"
    assert sandbox.state.bills[BILL_APPROVED].archived_at is None
    with pytest.raises(RampApiError):
        sandbox.archive_bill(BILL_APPROVED)


async def test_unknown_bill_is_404(client: httpx.AsyncClient, token: str) -> None:
    """GET, PATCH and DELETE of an unknown bill answer 404 with the error_v2 envelope."""
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"{BILLS}/00000000-0000-4000-8000-000000000000",
            headers=bearer(token),
            json={} if method == "PATCH" else None,
        )
        assert response.status_code == 404
        assert "error_v2" in response.json()


async def test_invoice_url_serves_a_pdf_without_auth(client: httpx.AsyncClient, token: str) -> None:
    """invoice_urls are pre-signed links on the file host: a PDF naming the bill, no token."""
    bill = (await client.get(f"{BILLS}/{BILL_APPROVED}", headers=bearer(token))).json()
    (url,) = bill["invoice_urls"]
    assert url.startswith("http://files.ramp.test/files/")
    pdf = await client.get(url)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment; filename=")
    assert pdf.content.startswith(b"%PDF-1.4")
    assert BILL_APPROVED.encode() in pdf.content
    assert pdf.content.rstrip().endswith(b"%%EOF")


async def test_seeded_po_and_unknown_account_on_the_ramp_side(
    client: httpx.AsyncClient, token: str
) -> None:
    """A bill coded to an account Visma lacks still renders it; its PO lists the bill."""
    bill = (await client.get(f"{BILLS}/{BILL_SEK}", headers=bearer(token))).json()
    coding = bill["line_items"][0]["accounting_field_selections"]
    assert {s["external_id"] for s in coding} == {"9999", "1"}
    order = await client.get(f"/developer/v1/purchase-orders/{PO_ID}", headers=bearer(token))
    assert order.json()["bill_ids"] == [BILL_SEK]
    assert order.json()["billing_status"] == "FULLY_BILLED"


async def test_bill_with_linked_accounting_vendor_shows_remote_id(
    client: httpx.AsyncClient, token: str
) -> None:
    """After the vendor is linked to an accounting vendor, bills carry its remote id."""
    await client.post(
        "/developer/v1/accounting/vendors",
        json={"vendors": [{"id": "20001", "name": "Kontorland AS"}]},
        headers=bearer(token),
    )
    linked = await client.patch(
        f"/developer/v1/vendors/{VENDOR_A}",
        json={"accounting_vendor_remote_id": "20001"},
        headers=bearer(token),
    )
    assert linked.status_code == 200
    bill = (await client.get(f"{BILLS}/{BILL_APPROVED}", headers=bearer(token))).json()
    assert bill["vendor"]["remote_id"] == "20001"
    assert bill["vendor"]["remote_name"] == "Kontorland AS"
