"""Users, departments, locations, the business, and several entities in one Ramp business."""

from __future__ import annotations

from integration.sandbox_ramp.ramp_kit import BILL_APPROVED, ENTITY_ID, VENDOR_A
from integration.sandbox_ramp.spend_kit import (
    DEPT_ADVISORY,
    DEPT_TECH,
    ENTITY_SE,
    LOC_OSLO,
    LOC_STOCKHOLM,
    RE_SEK,
    TRANSFER_FEB,
    TRANSFER_MAR,
    TX_SEK,
    USER_ELSA,
    USER_INGRID,
    USER_SOFIE,
    SpendWorld,
    data,
    ids_of,
)


async def test_users_have_the_spec_shape_and_filters(spend: SpendWorld) -> None:
    """GET /users/{id} answers a User; the list filters entity, department, location, email."""
    raw = (await spend.get(f"/users/{USER_SOFIE}")).json()
    assert raw["department_id"] == DEPT_TECH
    assert raw["location_id"] == LOC_OSLO
    assert raw["entity_id"] == ENTITY_ID
    assert raw["manager_id"] == USER_INGRID
    assert raw["business_id"] == spend.sandbox.state.business_id
    assert (raw["status"], raw["role"]) == ("USER_ACTIVE", "BUSINESS_USER")
    boss = (await spend.get(f"/users/{USER_INGRID}")).json()
    assert boss["is_manager"] is True
    assert ids_of(await spend.get("/users", entity_id=ENTITY_SE)) == {USER_ELSA}
    assert ids_of(await spend.get("/users", department_id=DEPT_ADVISORY)) == {
        USER_INGRID,
        USER_ELSA,
    }
    assert ids_of(await spend.get("/users", email="SOFIE@testfjord.example")) == {USER_SOFIE}
    assert ids_of(await spend.get("/users", role="BUSINESS_ADMIN")) == {USER_INGRID}
    assert ids_of(await spend.get("/users", employee_id="S1")) == {USER_ELSA}
    assert (await spend.get("/users/a5e00000-0000-4000-8000-0000000000ff")).status_code == 404


async def test_departments_and_locations_read_and_write(spend: SpendWorld) -> None:
    """Departments and locations list, read, create (201) and rename."""
    assert {d["name"] for d in data(await spend.get("/departments"))} == {"Advisory", "Technology"}
    created = await spend.http.post(
        "/developer/v1/departments", json={"name": "Sales"}, headers=spend.auth
    )
    assert created.status_code == 201
    renamed = await spend.http.patch(
        f"/developer/v1/departments/{created.json()['id']}",
        json={"name": "Sales NO"},
        headers=spend.auth,
    )
    assert renamed.json() == {"id": created.json()["id"], "name": "Sales NO"}
    assert ids_of(await spend.get("/locations", entity_id=ENTITY_SE)) == {LOC_STOCKHOLM}
    place = await spend.http.post(
        "/developer/v1/locations",
        json={"name": "Bergen", "entity_id": ENTITY_ID},
        headers=spend.auth,
    )
    assert place.status_code == 201
    assert place.json()["entity_id"] == ENTITY_ID
    bad = await spend.http.post(
        "/developer/v1/locations",
        json={"name": "Nowhere", "entity_id": "00000000-0000-4000-8000-00000000dead"},
        headers=spend.auth,
    )
    assert bad.status_code == 400
    read = (await spend.get(f"/locations/{LOC_OSLO}")).json()
    assert read == {"id": LOC_OSLO, "name": "Oslo", "entity_id": ENTITY_ID}


async def test_entities_list_locations_and_accounts(spend: SpendWorld) -> None:
    """Each entity lists its locations and its accounting settings' accounts."""
    rows = {e["id"]: e for e in data(await spend.get("/entities"))}
    assert set(rows) == {ENTITY_ID, ENTITY_SE}
    assert rows[ENTITY_SE]["currency"] == "SEK"
    assert rows[ENTITY_SE]["is_primary"] is False
    assert rows[ENTITY_SE]["location_ids"] == [LOC_STOCKHOLM]
    liability = rows[ENTITY_ID]["accounts"][0]
    assert (liability["internal_id"], liability["usage_type"]) == ("2920", "CARD_LIABILITY_ACCOUNT")
    business = (await spend.get("/business")).json()
    assert business["id"] == spend.sandbox.state.business_id
    assert business["is_reimbursements_enabled"] is True


async def test_every_entity_filter_sees_only_its_entity(spend: SpendWorld) -> None:
    """A bill created on the second entity, and all spend, filter by entity_id."""
    bill = spend.sandbox.create_bill(
        vendor_id=VENDOR_A,
        invoice_number="SE-1",
        lines=[{"amount_minor": 100, "gl_account": "6800"}],
        entity_id=ENTITY_SE,
    )
    assert bill["entity_id"] == ENTITY_SE
    swedish = {
        "/bills": {bill["id"]},
        "/transactions": {TX_SEK},
        "/reimbursements": {RE_SEK},
        "/transfers": set(),
        "/users": {USER_ELSA},
        "/locations": {LOC_STOCKHOLM},
    }
    for path, expected in swedish.items():
        assert ids_of(await spend.get(path, entity_id=ENTITY_SE)) == expected, path
    norwegian_bills = ids_of(await spend.get("/bills", entity_id=ENTITY_ID, page_size=50))
    assert BILL_APPROVED in norwegian_bills
    assert bill["id"] not in norwegian_bills
    assert ids_of(await spend.get("/transfers", entity_id=ENTITY_ID)) == {
        TRANSFER_FEB,
        TRANSFER_MAR,
    }
