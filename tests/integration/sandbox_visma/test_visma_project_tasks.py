"""Project tasks and dated VAT codes in the Visma sandbox (reference §9.7, §9.9).

Visma documents that every line of a project-related document names a project task; the
sandbox refuses a project line without one by default. Accepting it anyway is an invented
convenience behind ``VismaSandbox(require_project_task=False)``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from integration.sandbox_visma.visma_kit import (
    client_for,
    fetch_token,
    invoice_body,
    invoice_line,
    make_sandbox,
    send,
    w,
)
from ml_connector.sandbox.visma import VismaSandbox


async def test_projects_list_their_tasks(client: httpx.AsyncClient, token: str) -> None:
    """``ProjectDto.tasks`` carries each task's id, description, status and visibility."""
    response = await send(client, "GET", "/v1/project/P100", token)
    assert response.status_code == 200
    tasks = {t["taskId"]: t for t in response.json()["tasks"]}
    assert {k: (t["description"], t["status"]) for k, t in tasks.items()} == {
        "01": ("Implementering", "Active"),
        "02": ("Forprosjekt", "Completed"),
        "03": ("Intern tid", "Active"),
    }
    assert tasks["01"]["visibility"]["visibleInAp"] is True
    assert tasks["03"]["visibility"]["visibleInAp"] is False
    listed = await send(client, "GET", "/v1/project", token)
    non_project = next(p for p in listed.json() if p["projectID"] == "X")
    assert non_project["tasks"] == []


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        pytest.param({"projectId": w("P100")}, "'Project Task' cannot be empty", id="no-task"),
        pytest.param(
            {"projectId": w("P100"), "projectTaskId": w("09")},
            "Project task '09' cannot be found in project 'P100'",
            id="unknown-task",
        ),
        pytest.param(
            {"projectId": w("P100"), "projectTaskId": w("02")},
            "has status Completed",
            id="completed-task",
        ),
        pytest.param(
            {"projectId": w("P100"), "projectTaskId": w("03")},
            "is not visible in Supplier ledger",
            id="task-hidden-from-ap",
        ),
        pytest.param(
            {"projectId": w("X"), "projectTaskId": w("01")},
            "cannot be used without a project",
            id="task-on-non-project",
        ),
    ],
)
async def test_project_lines_need_a_usable_task(
    client: httpx.AsyncClient,
    sandbox: VismaSandbox,
    token: str,
    line: dict[str, Any],
    fragment: str,
) -> None:
    """Each refusal is a 400 in Visma's message shape naming the line; nothing is stored."""
    body = invoice_body(invoice_line(), invoice_line(**line))
    response = await send(client, "POST", "/v1/supplierInvoice", token, body)
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("VismaId: ")
    assert "Line 2: " in message
    assert fragment in message
    assert sandbox.invoices() == []


async def test_a_project_line_with_its_task_is_stored_and_read_back(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """A line naming an active AP task posts, and reads back with ``projectTask``."""
    body = invoice_body(invoice_line(projectId=w("P100"), projectTaskId=w("01")))
    response = await send(client, "POST", "/v1/supplierInvoice", token, body)
    assert response.status_code == 201
    (stored,) = sandbox.invoices()
    line = stored["invoiceLines"][0]
    assert line["project"]["id"] == "P100"
    assert line["projectTask"] == {"id": "01", "description": "Implementering"}


async def test_an_update_to_an_unknown_task_is_refused(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Changing a line's task to one its project does not have is refused on PUT too, and the
    stored line keeps its task."""
    body = invoice_body(invoice_line(projectId=w("P100"), projectTaskId=w("01")))
    created = await send(client, "POST", "/v1/supplierInvoice", token, body)
    number = created.headers["location"].rsplit("/", 1)[1]
    change = {
        "invoiceLines": [{"operation": "Update", "lineNumber": w(1), "projectTaskId": w("7")}]
    }
    refused = await send(client, "PUT", f"/v1/supplierInvoice/{number}", token, change)
    assert refused.status_code == 400
    assert "Project task '7' cannot be found" in refused.json()["message"]
    assert sandbox.invoices()[0]["invoiceLines"][0]["projectTask"]["id"] == "01"


async def test_purchase_order_lines_need_a_task_visible_in_purchasing(
    client: httpx.AsyncClient, token: str
) -> None:
    """PO lines on a project name a task (``projectTask``) visible in purchase orders."""
    line = {"operation": "Insert", "account": w("6800"), "orderQty": w(1), "unitCost": w(10)}
    cases = {
        "'Project Task' cannot be empty": {**line, "project": w("P100")},
        "is not visible in Purchase orders": {
            **line,
            "project": w("P100"),
            "projectTask": w("03"),
        },
    }
    for fragment, row in cases.items():
        body = {"supplier": w("50001"), "lines": [row]}
        response = await send(client, "POST", "/v1/purchaseorder", token, body)
        assert response.status_code == 400, fragment
        assert fragment in response.json()["message"]
    body = {
        "supplier": w("50001"),
        "lines": [{**line, "project": w("P100"), "projectTask": w("01")}],
    }
    assert (await send(client, "POST", "/v1/purchaseorder", token, body)).status_code == 201


async def test_lenient_option_accepts_project_lines_without_a_task() -> None:
    """The invented convenience: with ``require_project_task=False`` the line posts taskless,
    while a wrong task is still refused."""
    sandbox = make_sandbox(require_project_task=False)
    async with client_for(sandbox) as client:
        token = await fetch_token(client)
        loose = invoice_body(invoice_line(projectId=w("P100")))
        assert (await send(client, "POST", "/v1/supplierInvoice", token, loose)).status_code == 201
        wrong = invoice_body(invoice_line(projectId=w("P100"), projectTaskId=w("02")))
        assert (await send(client, "POST", "/v1/supplierInvoice", token, wrong)).status_code == 400
        sandbox.reset()
        assert sandbox.state.require_project_task is False  # the option survives a reset


async def test_vat_code_past_its_last_day_is_refused(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """``notValidAfter`` is listed; a document dated after it cannot use the code, one dated
    on or before it can."""
    vat = (await send(client, "GET", "/v1/vat/8", token)).json()
    assert vat["notValidAfter"].startswith("2026-03-05")
    late = invoice_body(invoice_line(vatCodeId=w("8")))  # dated 2026-03-10
    response = await send(client, "POST", "/v1/supplierInvoice", token, late)
    assert response.status_code == 400
    assert "TaxID '8' is not valid after 2026-03-05" in response.json()["message"]
    early = invoice_body(invoice_line(vatCodeId=w("8")), date=w("2026-03-05T00:00:00"))
    assert (await send(client, "POST", "/v1/supplierInvoice", token, early)).status_code == 201
    assert len(sandbox.invoices()) == 1
