"""The /_sandbox control API and its Python twins: master-data changes seen by the vendor API."""

from __future__ import annotations

import httpx

from integration.sandbox_visma.visma_kit import invoice_body, invoice_line, send, w
from ml_connector.sandbox.visma import VismaSandbox


async def _post_invoice(client: httpx.AsyncClient, token: str, **header: object) -> httpx.Response:
    return await send(client, "POST", "/v1/supplierInvoice", token, invoice_body(**header))


async def test_closing_a_period_blocks_documents(client: httpx.AsyncClient, token: str) -> None:
    """PUT /_sandbox/periods/202603 closed → posting into March fails; reopening fixes it."""
    closed = await client.put("/_sandbox/periods/202603", json={"closed": True})
    refused = await _post_invoice(client, token)
    await client.put("/_sandbox/periods/202603", json={"closed": False})
    accepted = await _post_invoice(client, token)
    assert closed.status_code == 200
    assert (refused.status_code, accepted.status_code) == (400, 201)
    period = (await send(client, "GET", "/v1/financialPeriod/202603", token)).json()
    assert period["closedInSupplierLedger"] is False


async def test_account_segment_project_supplier_switches(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Deactivating an account, a segment value, a project's AP visibility or a supplier blocks."""
    line = invoice_line(projectId=w("P100"), projectTaskId=w("01"))
    body = invoice_body(line)
    steps = [
        ("/_sandbox/accounts/6800", {"active": False}, "Account '6800' is inactive"),
        ("/_sandbox/accounts/6800", {"active": True}, None),
        ("/_sandbox/segments/1/values/100", {"active": False}, "'100' of segment 1"),
        ("/_sandbox/segments/1/values/100", {"active": True}, None),
        ("/_sandbox/projects/P100", {"visible_in_ap": False}, "not visible in Supplier ledger"),
        ("/_sandbox/projects/P100", {"visible_in_ap": True}, None),
        ("/_sandbox/suppliers/50001", {"status": "OnHold"}, "OnHold"),
        ("/_sandbox/suppliers/50001", {"status": "Active"}, None),
    ]
    for path, change, fragment in steps:
        assert (await client.put(path, json=change)).status_code == 200, path
        response = await send(client, "POST", "/v1/supplierInvoice", token, body)
        if fragment is None:
            assert response.status_code == 201, path
        else:
            assert response.status_code == 400, path
            assert fragment in response.json()["message"]
    assert len(sandbox.invoices()) == 4


async def test_adding_master_data_over_http(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """New accounts, suppliers, segment values and projects become usable at once."""
    account = await client.post(
        "/_sandbox/accounts", json={"number": "6540", "description": "Inventar", "default_vat": "1"}
    )
    supplier = await client.post(
        "/_sandbox/suppliers", json={"name": "Manuell AS", "corporate_id": "911111111"}
    )
    value = await client.put("/_sandbox/segments/2/values/30", json={"description": "Salg"})
    project = await client.put("/_sandbox/projects/P400", json={"description": "Nytt"})
    task = await client.put("/_sandbox/projects/P400/tasks/10", json={"description": "Oppstart"})
    assert (account.status_code, supplier.status_code) == (201, 201)
    assert (value.status_code, project.status_code, task.status_code) == (200, 200, 200)
    assert [t["taskId"] for t in task.json()["tasks"]] == ["10"]
    number = supplier.json()["number"]
    line = invoice_line(
        "6540", segments=((1, "200"), (2, "30")), projectId=w("P400"), projectTaskId=w("10")
    )
    response = await send(
        client, "POST", "/v1/supplierInvoice", token, invoice_body(line, supplierNumber=w(number))
    )
    assert response.status_code == 201
    assert sandbox.invoices()[0]["invoiceLines"][0]["vatCode"]["id"] == "1"


async def test_control_errors(client: httpx.AsyncClient) -> None:
    """Unknown objects are 404 and malformed bodies 400."""
    assert (await client.put("/_sandbox/accounts/0000", json={"active": True})).status_code == 404
    assert (await client.put("/_sandbox/accounts/6800", json={"active": "no"})).status_code == 400
    assert (
        await client.put("/_sandbox/suppliers/50001", json={"status": "Gone"})
    ).status_code == 400
    bad_json = await client.put("/_sandbox/periods/202603", content=b"{")
    assert bad_json.status_code == 400


async def test_state_revoke_and_reset(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """GET state shows objects; revoke logs clients out; reset returns to the seed."""
    await _post_invoice(client, token)
    state = (await client.get("/_sandbox/state")).json()
    assert len(state["invoices"]) == 1
    assert state["active_tokens"] == 1
    assert {s["number"] for s in state["suppliers"]} >= {"50001", "50004"}
    assert (await client.post("/_sandbox/tokens/revoke")).json() == {"revoked": 1}
    assert (await send(client, "GET", "/v1/vat", token)).status_code == 401
    assert (await client.post("/_sandbox/reset")).status_code == 200
    assert sandbox.invoices() == []
    assert sandbox.journal.entries() == []
    empty = await client.post("/_sandbox/reset", json={"seed": "empty"})
    assert empty.status_code == 200
    assert sandbox.state.suppliers == {}


async def test_attachment_bytes_over_control_api(client: httpx.AsyncClient, token: str) -> None:
    """GET /_sandbox/attachments/{id} returns exactly the uploaded bytes."""
    created = await _post_invoice(client, token)
    number = created.headers["location"].rsplit("/", 1)[1]
    upload = await client.post(
        f"/v1/supplierInvoice/{number}/attachment",
        files={"file": ("a.pdf", b"%PDF-bytes", "application/pdf")},
        headers={"Authorization": f"Bearer {token}"},
    )
    attachment_id = upload.headers["location"].rsplit("/", 1)[1]
    stored = await client.get(f"/_sandbox/attachments/{attachment_id}")
    assert stored.content == b"%PDF-bytes"
    assert (await client.get("/_sandbox/attachments/nope")).status_code == 404


async def test_demo_dataset_seeds_the_visma_side() -> None:
    """The shared demo dataset loads: suppliers, SUBACCOUNT segments, X and a closed period."""
    from integration.sandbox_visma.visma_kit import CLIENT_ID, CLIENT_SECRET, COMPANY_ID, TENANT_ID
    from ml_connector.sandbox.seed import demo_dataset

    dataset = demo_dataset()
    sandbox = VismaSandbox(CLIENT_ID, CLIENT_SECRET, TENANT_ID, COMPANY_ID, dataset=dataset)
    state = sandbox.state
    assert len(state.suppliers) == len(dataset.suppliers)
    assert sorted(state.segments) == [1, 2]
    assert state.projects["X"].non_project
    assert any(p.closed_in_supplier_ledger for p in state.periods.values())
    assert all(a.number in state.accounts for a in dataset.accounts)
