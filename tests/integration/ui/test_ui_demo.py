"""The dashboard against the demo company in both sandboxes: fix, retry, map, push."""

from __future__ import annotations

from integration.ui.ui_kit import DemoSite, form_csrf, login, work_queue
from ml_connector.audit import AuditKind
from ml_connector.store import SyncRecord, SyncStatus

BASE = "/api/v1/connections/nordlys"


async def _attention(site: DemoSite, code: str) -> list[SyncRecord]:
    connection = await site.runtime.store.get_connection(site.name)
    records = await site.runtime.store.list_records(
        connection.id, status=SyncStatus.NEEDS_ATTENTION
    )
    return [r for r in records if r.error_code == code]


async def _group_key(site: DemoSite, code: str) -> str:
    async with site.client() as client:
        groups = await client.get(f"{BASE}/exceptions", headers=site.bearer("viewer@x.test"))
    return next(g["key"] for g in groups.json() if g["error_code"] == code)


async def test_closed_period_group_turns_green_after_the_fix(demo_site: DemoSite) -> None:
    """Reopen the period in Visma, retry the group: each bill gets exactly one invoice."""
    stopped = await _attention(demo_site, "period_closed")
    assert len(stopped) == 3
    demo_site.open_closed_periods()
    key = await _group_key(demo_site, "period_closed")
    async with demo_site.client() as client:
        queued = await client.post(
            f"{BASE}/exceptions/{key}/retry", headers=demo_site.bearer("operator@x.test")
        )
    assert queued.status_code == 200, queued.text
    assert {r["status"] for r in queued.json()} == {"pending"}
    await work_queue(demo_site.runtime, demo_site.name)
    for record in stopped:
        after = await demo_site.runtime.store.get_record(record.id)
        assert after.status == SyncStatus.SUCCEEDED
        assert demo_site.invoices_for(record.object_id) == 1


async def test_mapping_editor_refuses_an_unknown_account(demo_site: DemoSite) -> None:
    """Mapping 6999 to an account Visma lacks is refused with the row named; nothing saved."""
    async with demo_site.client() as client:
        await login(client, "operator@x.test")
        editor = await client.get("/ui/c/nordlys/mappings?source=gl_account&value=6999")
        assert 'for="rule-visma-value"' in editor.text
        assert "6999" in editor.text  # listed among the unmapped values
        refused = await client.post(
            "/ui/c/nordlys/mappings",
            data={
                "csrf": form_csrf(editor.text),
                "action": "save",
                "source": "gl_account",
                "value": "6999",
                "target": "account",
                "visma_value": "9998",
            },
        )
    assert refused.status_code == 422
    assert 'class="error"' in refused.text
    assert "account 9998 does not exist in Visma" in refused.text
    assert 'value="9998"' in refused.text  # the form keeps what was typed
    connection = await demo_site.runtime.store.get_connection(demo_site.name)
    assert await demo_site.runtime.store.current_mapping(connection.id) is None


async def test_mapping_fix_then_retry_group_syncs_the_bills(demo_site: DemoSite) -> None:
    """Map 6999 to 6800 in the editor, retry the group: the bills sync, audited with the user."""
    stopped = await _attention(demo_site, "account_unknown")
    assert len(stopped) == 3
    async with demo_site.client() as client:
        await login(client, "operator@x.test")
        editor = await client.get("/ui/c/nordlys/mappings")
        saved = await client.post(
            "/ui/c/nordlys/mappings",
            data={
                "csrf": form_csrf(editor.text),
                "action": "save",
                "source": "gl_account",
                "value": "6999",
                "target": "account",
                "visma_value": "6800",
                "note": "6999 was a typo for office supplies",
            },
        )
        assert saved.status_code == 303, saved.text
        shown = await client.get(saved.headers["location"])
        key = await _group_key(demo_site, "account_unknown")
        retried = await client.post(
            "/ui/c/nordlys/exceptions",
            data={"csrf": form_csrf(shown.text), "action": "retry_group", "group": key},
        )
    assert "Saved mappings version 1." in shown.text
    assert retried.status_code == 303
    await work_queue(demo_site.runtime, demo_site.name)
    for record in stopped:
        after = await demo_site.runtime.store.get_record(record.id)
        assert after.status == SyncStatus.SUCCEEDED
        assert demo_site.invoices_for(record.object_id) == 1
        lines = after.payload["lines"]
        assert lines[0]["account_number"] == "6800"
    connection = await demo_site.runtime.store.get_connection(demo_site.name)
    version = await demo_site.runtime.store.current_mapping(connection.id)
    assert version is not None
    assert version.author == "operator@x.test"
    entries = await demo_site.runtime.store.list_audit(connection.id)
    edits = [e.data for e in entries if e.data.get("action") == "mappings"]
    assert edits == [
        {
            "user": "operator@x.test",
            "role": "operator",
            "via": "session",
            "action": "mappings",
            "version": 1,
            "note": "6999 was a typo for office supplies",
        }
    ]


async def test_mappings_api_validates_before_saving(demo_site: DemoSite) -> None:
    """PUT refuses an invalid table with every problem; PATCH dry-runs, then saves defaults."""
    headers = demo_site.bearer("admin@x.test")
    bad_rows = [
        {"source": "gl_account", "value": "6999", "target": "account", "visma_value": "9998"},
        {"source": "@default", "value": "*", "target": "vat", "visma_value": "NOPE"},
    ]
    async with demo_site.client() as client:
        refused = await client.put(f"{BASE}/mappings", json={"rules": bad_rows}, headers=headers)
        dry = await client.patch(
            f"{BASE}/mappings",
            json={"defaults": {"account": "6800"}, "dry_run": True},
            headers=headers,
        )
        saved = await client.patch(
            f"{BASE}/mappings", json={"defaults": {"account": "6800"}}, headers=headers
        )
        view = await client.get(f"{BASE}/mappings", headers=headers)
    assert refused.status_code == 422
    wheres = [p["where"] for p in refused.json()["problems"]]
    assert wheres == ["row 1", "row 2"]
    assert dry.json() == {"saved": False, "version": None, "rules": 1}
    assert saved.json() == {"saved": True, "version": 1, "rules": 1}
    assert view.json()["defaults"]["account"] == "6800"
    assert view.json()["rules"] == [
        {"row": 1, "source": "@default", "value": "*", "target": "account", "visma_value": "6800"}
    ]


async def test_chart_pending_diff_and_push_now(demo_site: DemoSite) -> None:
    """The chart page shows what a push would change; "Push now" applies it and records it."""
    async with demo_site.client() as client:
        await login(client, "operator@x.test")
        pending = await client.get("/ui/c/nordlys/chart?pending=1")
        assert pending.status_code == 200
        assert "<td>create</td>" in pending.text
        pushed = await client.post("/ui/c/nordlys/chart", data={"csrf": form_csrf(pending.text)})
        assert pushed.status_code == 303
        after = await client.get(pushed.headers["location"])
        status = await client.get(f"{BASE}/chart/status")
        again = await client.get(f"{BASE}/chart/pending")
    assert "Push finished:" in after.text
    assert "all changes applied" in after.text
    last = status.json()["last_push"]
    assert last["ok"] is True
    assert last["kind"] == "full"
    assert sum(last["applied"].values()) > 0
    assert again.json() == []
    assert demo_site.setup.ramp.state.visible_gl_accounts()
    connection = await demo_site.runtime.store.get_connection(demo_site.name)
    entries = await demo_site.runtime.store.list_audit(connection.id)
    pushes = [e.data for e in entries if e.kind == AuditKind.USER_ACTION.value]
    assert pushes == [
        {"user": "operator@x.test", "role": "operator", "via": "session", "action": "chart push"}
    ]


async def test_search_by_invoice_number_and_vendor_and_deep_links(demo_site: DemoSite) -> None:
    """A synced bill is found by invoice number and supplier, links to its Visma screen, and
    says (API and page) when Ramp was told."""
    connection = await demo_site.runtime.store.get_connection(demo_site.name)
    (done, *_) = await demo_site.runtime.store.list_records(
        connection.id, status=SyncStatus.SUCCEEDED, object_type="bill", limit=1
    )
    invoice = done.payload["supplier_reference"]
    supplier = done.payload["supplier_number"]
    headers = demo_site.bearer("viewer@x.test")
    async with demo_site.client() as client:
        by_number = await client.get(
            f"{BASE}/records", params={"q": invoice.upper()}, headers=headers
        )
        by_vendor = await client.get(
            f"{BASE}/records", params={"vendor": supplier}, headers=headers
        )
        detail = await client.get(f"{BASE}/records/{done.id}", headers=headers)
        await login(client, "viewer@x.test")
        page = await client.get("/ui/c/nordlys/records", params={"q": invoice})
        record_page = await client.get(f"/ui/c/nordlys/records/{done.id}")
    assert [r["id"] for r in by_number.json()] == [done.id]
    assert done.id in [r["id"] for r in by_vendor.json()]
    assert all(r["supplier"] == supplier for r in by_vendor.json())
    doc_type, number = done.visma_ref.split("/")
    assert detail.json()["visma_url"] == (
        f"https://erp.visma.net/?ScreenId=AP301000&DocType={doc_type}&RefNbr={number}"
    )
    assert invoice in page.text
    assert page.text.count("/ui/c/nordlys/records/") == 1
    told = detail.json()["ramp_write_back"]  # when Ramp was told it is in Visma
    assert (told["status"], told["sync_type"]) == ("told", "BILL_SYNC")
    assert told["sync_id"] in record_page.text
