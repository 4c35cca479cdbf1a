"""Field bindings in the admin API and the dashboard's mapping editor: shown with how they were
decided, changed by operators (validated, versioned, audited), refused for viewers and without
the CSRF token."""

from __future__ import annotations

from integration.ui.ui_kit import DemoSite, form_csrf, login
from ml_connector.audit import AuditKind

BASE = "/api/v1/connections/nordlys"


async def test_the_api_lists_fields_and_an_operator_binds_one(demo_site: DemoSite) -> None:
    """GET shows the implied bindings; PUT saves version 1 by the operator, audited."""
    async with demo_site.client() as client:
        listed = await client.get(f"{BASE}/fields", headers=demo_site.bearer("viewer@x.test"))
        assert listed.status_code == 200, listed.text
        before = {row["field"]: row for row in listed.json()["fields"]}
        assert (before["subaccount-2"]["target"], before["subaccount-2"]["stored"]) == (
            "segment:2",
            False,
        )
        bound = await client.put(
            f"{BASE}/fields/subaccount-2",
            json={"to": "ignore", "note": "departments come from HR"},
            headers=demo_site.bearer("operator@x.test"),
        )
        assert bound.status_code == 200, bound.text
        assert bound.json()["version"] == 1
        assert bound.json()["field"]["binding"] == "ignored"
        after = await client.get(f"{BASE}/fields", headers=demo_site.bearer("viewer@x.test"))
    row = next(r for r in after.json()["fields"] if r["field"] == "subaccount-2")
    assert (row["target"], row["decided_by"], row["author"], row["stored"]) == (
        "ignore",
        "person",
        "operator@x.test",
        True,
    )
    assert row["evidence"] == "departments come from HR"
    connection = await demo_site.runtime.store.get_connection(demo_site.name)
    entries = await demo_site.runtime.store.list_audit(connection.id, None)
    acts = [e.data for e in entries if e.kind == AuditKind.USER_ACTION.value]
    assert acts[-1]["action"] == "bind field"
    assert (acts[-1]["user"], acts[-1]["role"], acts[-1]["target"]) == (
        "operator@x.test",
        "operator",
        "ignore",
    )


async def test_the_api_refuses_bad_binds_and_viewers(demo_site: DemoSite) -> None:
    """A viewer gets 403; a target that is not one, a segment Visma lacks and unknown body
    fields get 400 with the reason; nothing is saved."""
    operator = demo_site.bearer("operator@x.test")
    async with demo_site.client() as client:
        viewer = await client.put(
            f"{BASE}/fields/dim_x", json={"to": "vat"}, headers=demo_site.bearer("viewer@x.test")
        )
        wrong = await client.put(
            f"{BASE}/fields/dim_x", json={"to": "cost centre"}, headers=operator
        )
        missing = await client.put(
            f"{BASE}/fields/dim_x", json={"to": "segment:9"}, headers=operator
        )
        extra = await client.put(
            f"{BASE}/fields/dim_x", json={"to": "vat", "why": "x"}, headers=operator
        )
    assert viewer.status_code == 403
    assert wrong.status_code == 400
    assert "segment:N, project, task, vat, account or ignore" in wrong.json()["error"]
    assert missing.status_code == 400
    assert "no segment 9" in missing.json()["error"]
    assert extra.status_code == 400
    connection = await demo_site.runtime.store.get_connection(demo_site.name)
    assert await demo_site.runtime.store.current_bindings(connection.id) is None


async def test_the_mapping_editor_lists_fields_and_binds_with_csrf(demo_site: DemoSite) -> None:
    """The editor shows each field with a select; a POST without the CSRF token is refused,
    with it the binding is saved and shown."""
    async with demo_site.client() as client:
        await login(client, "operator@x.test")
        editor = await client.get("/ui/c/nordlys/mappings")
        assert editor.status_code == 200
        assert 'id="fields"' in editor.text
        assert "<code>subaccount-1</code>" in editor.text
        assert '<option value="segment:2"' in editor.text
        forged = await client.post(
            "/ui/c/nordlys/fields", data={"field": "subaccount-1", "to": "ignore"}
        )
        assert forged.status_code == 403
        saved = await client.post(
            "/ui/c/nordlys/fields",
            data={"csrf": form_csrf(editor.text), "field": "subaccount-1", "to": "segment:2"},
        )
        assert saved.status_code == 303
        shown = await client.get(saved.headers["location"])
        refused = await client.post(
            "/ui/c/nordlys/fields",
            data={"csrf": form_csrf(editor.text), "field": "subaccount-1", "to": "segment:9"},
        )
    assert "Bound subaccount-1 to segment 2" in shown.text
    assert "person (operator@x.test" in shown.text
    assert refused.status_code == 422
    assert 'class="error"' in refused.text
    assert "no segment 9" in refused.text
