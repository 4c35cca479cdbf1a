"""The accounting API of the Ramp sandbox: connection, chart uploads, fields and options."""

from __future__ import annotations

from typing import Any

import httpx

from integration.sandbox_ramp.ramp_kit import (
    VENDOR_A,
    ManualClock,
    bearer,
    client_for,
    error_code,
    fetch_token,
    ids,
    make_sandbox,
)
from ml_connector.sandbox import seed
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import empty_dataset

ACC = "/developer/v1/accounting"


async def _all(client: httpx.AsyncClient, token: str, path: str, **params: Any) -> list[Any]:
    response = await client.get(path, params={"page_size": 100, **params}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_gl_upload_creates_accounts(client: httpx.AsyncClient, token: str) -> None:
    """POST /accounting/accounts answers 201 with ramp ids; the accounts are then listed."""
    response = await client.post(
        f"{ACC}/accounts",
        json={
            "gl_accounts": [
                {"id": "7100", "name": "Bilgodtgjørelse", "classification": "EXPENSE"},
                {"id": "7140", "name": "Reise", "classification": "EXPENSE", "code": "7140"},
            ]
        },
        headers=bearer(token),
    )
    assert response.status_code == 201
    body = response.json()
    assert [a["id"] for a in body["gl_accounts"]] == ["7100", "7140"]
    assert body["uploaded"] == [a["ramp_id"] for a in body["gl_accounts"]]
    found = await _all(client, token, f"{ACC}/accounts", remote_id="7140")
    assert [a["ramp_id"] for a in found] == [body["gl_accounts"][1]["ramp_id"]]
    assert found[0]["gl_account_category_info"]["id"] == seed.FIELD_GL_ACCOUNT


async def test_gl_upload_is_all_or_nothing(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """One existing remote id (or one repeated in the batch) refuses the whole batch."""
    before = len(sandbox.state.gl_accounts)
    existing = await client.post(
        f"{ACC}/accounts",
        json={
            "gl_accounts": [
                {"id": "7300", "name": "New", "classification": "EXPENSE"},
                {"id": "6540", "name": "Inventar", "classification": "EXPENSE"},
            ]
        },
        headers=bearer(token),
    )
    repeated = await client.post(
        f"{ACC}/accounts",
        json={
            "gl_accounts": [
                {"id": "7400", "name": "A", "classification": "EXPENSE"},
                {"id": "7400", "name": "B", "classification": "EXPENSE"},
            ]
        },
        headers=bearer(token),
    )
    for response in (existing, repeated):
        assert response.status_code == 400
        assert error_code(response) == "DEVELOPER_7001"
    assert "6540" in existing.json()["error_v2"]["message"]
    assert len(sandbox.state.gl_accounts) == before
    assert await _all(client, token, f"{ACC}/accounts", remote_id="7300") == []


async def test_batch_size_limits(client: httpx.AsyncClient, token: str) -> None:
    """Batches need 1..500 items (422 otherwise); 500 is accepted."""
    empty = await client.post(f"{ACC}/vendors", json={"vendors": []}, headers=bearer(token))
    big = [{"id": f"S{n}", "name": f"Supplier {n}"} for n in range(501)]
    too_many = await client.post(f"{ACC}/vendors", json={"vendors": big}, headers=bearer(token))
    full = await client.post(f"{ACC}/vendors", json={"vendors": big[:500]}, headers=bearer(token))
    assert empty.status_code == 422
    assert too_many.status_code == 422
    assert full.status_code == 201
    assert len(full.json()["vendors"]) == 500


async def test_accounting_vendor_duplicate_remote_id(client: httpx.AsyncClient, token: str) -> None:
    """Uploading an accounting vendor id twice fails the second batch entirely."""
    first = await client.post(
        f"{ACC}/vendors", json={"vendors": [{"id": "20001", "name": "A"}]}, headers=bearer(token)
    )
    second = await client.post(
        f"{ACC}/vendors",
        json={"vendors": [{"id": "20002", "name": "B"}, {"id": "20001", "name": "A"}]},
        headers=bearer(token),
    )
    assert first.status_code == 201
    assert second.status_code == 400
    assert [v["id"] for v in await _all(client, token, f"{ACC}/vendors")] == ["20001"]


async def test_soft_delete_and_reactivate(client: httpx.AsyncClient, token: str) -> None:
    """DELETE deactivates (204); PATCH reactivate restores; name and code can change."""
    (account,) = await _all(client, token, f"{ACC}/accounts", remote_id="6800")
    path = f"{ACC}/accounts/{account['ramp_id']}"
    assert (await client.delete(path, headers=bearer(token))).status_code == 204
    assert (await client.get(path, headers=bearer(token))).json()["is_active"] is False
    inactive = await _all(client, token, f"{ACC}/accounts", is_active="false")
    assert "6800" in {a["id"] for a in inactive}
    patched = await client.patch(
        path, json={"reactivate": True, "name": "Kontor", "code": ""}, headers=bearer(token)
    )
    assert patched.json()["is_active"] is True
    assert patched.json()["name"] == "Kontor"
    assert "code" not in patched.json()


async def test_fields_are_idempotent_on_id(client: httpx.AsyncClient, token: str) -> None:
    """POST /accounting/fields with an existing id returns (and reactivates) that field."""
    body = {"id": "region", "name": "Region", "input_type": "SINGLE_CHOICE"}
    first = await client.post(f"{ACC}/fields", json=body, headers=bearer(token))
    await client.delete(f"{ACC}/fields/{first.json()['ramp_id']}", headers=bearer(token))
    second = await client.post(f"{ACC}/fields", json=body, headers=bearer(token))
    assert first.status_code == second.status_code == 201
    assert second.json()["ramp_id"] == first.json()["ramp_id"]
    assert second.json()["is_active"] is True
    regions = await _all(client, token, f"{ACC}/fields", remote_id="region")
    assert len(regions) == 1


async def test_field_options_upload_and_list(client: httpx.AsyncClient, token: str) -> None:
    """Options go up under a field's ramp id; duplicates refuse the batch; field_id is needed."""
    (project,) = await _all(client, token, f"{ACC}/fields", remote_id=seed.FIELD_PROJECT)
    upload = await client.post(
        f"{ACC}/field-options",
        json={"field_id": project["ramp_id"], "options": [{"id": "P-200", "value": "Harbour"}]},
        headers=bearer(token),
    )
    clash = await client.post(
        f"{ACC}/field-options",
        json={"field_id": project["ramp_id"], "options": [{"id": "P-100", "value": "Again"}]},
        headers=bearer(token),
    )
    missing = await client.get(f"{ACC}/field-options", headers=bearer(token))
    assert upload.status_code == 201
    assert clash.status_code == 400
    assert missing.status_code == 422
    listed = await _all(client, token, f"{ACC}/field-options", field_id=project["ramp_id"])
    assert {o["id"] for o in listed} == {"P-100", "P-200"}


async def test_option_patch_visibility_and_delete(client: httpx.AsyncClient, token: str) -> None:
    """Options can be hidden, renamed and soft-deleted; inactive options cannot code bills."""
    (cost,) = await _all(client, token, f"{ACC}/fields", remote_id=seed.FIELD_COST_CENTRE)
    options = await _all(client, token, f"{ACC}/field-options", field_id=cost["ramp_id"])
    bergen = next(o for o in options if o["id"] == "200")
    path = f"{ACC}/field-options/{bergen['ramp_id']}"
    hidden = await client.patch(path, json={"visibility": "HIDDEN"}, headers=bearer(token))
    assert hidden.json()["visibility"] == "HIDDEN"
    assert (await client.delete(path, headers=bearer(token))).status_code == 204
    assert (await client.get(path, headers=bearer(token))).json()["is_active"] is False


async def test_chart_needs_an_active_connection(clock: ManualClock) -> None:
    """With no connection the chart endpoints answer 400; after POST they work."""
    sandbox = make_sandbox(clock, dataset=empty_dataset())
    async with client_for(sandbox) as client:
        token = await fetch_token(client)
        assert (await client.get(f"{ACC}/accounts", headers=bearer(token))).status_code == 400
        listing = await client.get(f"{ACC}/all-connections", headers=bearer(token))
        assert listing.json() == {"connections": []}
        created = await client.post(
            f"{ACC}/connection", json={"remote_provider_name": "Visma.net"}, headers=bearer(token)
        )
        assert created.status_code == 201
        assert created.json()["status"] == "linked"
        twice = await client.post(
            f"{ACC}/connection", json={"remote_provider_name": "Again"}, headers=bearer(token)
        )
        assert twice.status_code == 400
        assert (await client.get(f"{ACC}/accounts", headers=bearer(token))).status_code == 200


async def test_switching_connections_hides_and_restores_the_chart(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """Disconnect, connect another provider (empty chart), then reactivate the first."""
    (old,) = (await client.get(f"{ACC}/all-connections", headers=bearer(token))).json()[
        "connections"
    ]
    assert (await client.delete(f"{ACC}/connection", headers=bearer(token))).status_code == 204
    other = await client.post(
        f"{ACC}/connection", json={"remote_provider_name": "Other ERP"}, headers=bearer(token)
    )
    assert await _all(client, token, f"{ACC}/accounts") == []
    await client.delete(f"{ACC}/connection", headers=bearer(token))
    back = await client.post(f"{ACC}/connection/{old['id']}/reactivate", headers=bearer(token))
    assert back.status_code == 200
    assert back.json()["is_active"] is True
    assert len(await _all(client, token, f"{ACC}/accounts")) == 5
    listed = (await client.get(f"{ACC}/all-connections", headers=bearer(token))).json()
    assert {c["id"] for c in listed["connections"]} == {old["id"], other.json()["id"]}


async def test_vendor_link_needs_an_accounting_vendor(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """PATCH accounting_vendor_remote_id refuses an id the chart does not have."""
    response = await client.patch(
        f"/developer/v1/vendors/{VENDOR_A}",
        json={"accounting_vendor_remote_id": "nope"},
        headers=bearer(token),
    )
    assert response.status_code == 400
    assert sandbox.state.vendors[VENDOR_A].accounting_vendor_remote_id is None


async def test_vendor_detail_has_org_and_vat_answers(client: httpx.AsyncClient, token: str) -> None:
    """GET /vendors/{id} carries onboarding TEXT answers labelled with the seed's form labels."""
    vendor = (await client.get(f"/developer/v1/vendors/{VENDOR_A}", headers=bearer(token))).json()
    forms = vendor["custom_form_collection_response"]["custom_form_collection_log_entry"]["forms"]
    answers = {f["label"]: f["field"]["value"]["value"] for f in forms[0]["fields"]}
    assert answers == {seed.FORM_ORG_NUMBER: "987654321", seed.FORM_VAT_NUMBER: "NO987654321MVA"}
    listed = (await client.get("/developer/v1/vendors", headers=bearer(token))).json()
    assert "custom_form_collection_response" not in listed["data"][0]


async def test_vendor_form_uses_the_businesss_own_labels(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """Labels are the business's; further answers and free-text fields come through as given."""
    sandbox.state.form_labels = ("Foretaksregister-ID", "Avgiftsnummer (EU)")
    created = sandbox.create_vendor(
        name="Kontorspar AS",
        org_number="918110836",
        form_answers=[("Bransje", "Kontorrekvisita")],
        description="Org.nr. 918 110 836",
        name_legal="Kontorspar Bedrift AS",
    )
    vendor = (
        await client.get(f"/developer/v1/vendors/{created['id']}", headers=bearer(token))
    ).json()
    forms = vendor["custom_form_collection_response"]["custom_form_collection_log_entry"]["forms"]
    answers = [(f["label"], f["value_display_string"]) for f in forms[0]["fields"]]
    assert answers == [("Foretaksregister-ID", "918110836"), ("Bransje", "Kontorrekvisita")]
    assert (vendor["description"], vendor["name_legal"]) == (
        "Org.nr. 918 110 836",
        "Kontorspar Bedrift AS",
    )


async def test_vendor_create_and_contacts(client: httpx.AsyncClient, token: str) -> None:
    """POST /vendors answers 200 with a default contact that the contacts endpoints serve."""
    created = await client.post(
        "/developer/v1/vendors",
        json={
            "name": "Nytt Firma AS",
            "country": "NO",
            "vendor_owner_id": "96bb7007-eec5-430f-8d09-e033cbc000c2",
            "business_vendor_contacts": {"email": "a@nytt.example", "first_name": "Ada"},
        },
        headers=bearer(token),
    )
    assert created.status_code == 200
    vendor = created.json()
    contacts = await client.get(
        f"/developer/v1/vendors/{vendor['id']}/contacts", headers=bearer(token)
    )
    (contact,) = contacts.json()["data"]
    assert contact["email"] == "a@nytt.example"
    assert contact["is_default"] is True
    assert ids(contacts.json()) == vendor["contacts"]
    one = await client.get(
        f"/developer/v1/vendors/{vendor['id']}/contacts/{contact['id']}", headers=bearer(token)
    )
    assert one.json()["first_name"] == "Ada"
    by_name = await client.get(
        "/developer/v1/vendors", params={"name": "nytt"}, headers=bearer(token)
    )
    assert ids(by_name.json()) == [vendor["id"]]
