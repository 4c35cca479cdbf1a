"""The dashboard in a real browser: log in, read the exceptions, fix causes, retry, and roles.

Each test checks what the page shows and what the store or the sandboxes hold. The three
exception groups belong to different tests (the closed period to the retry test, account 6999
to the mapping editor, the blocked supplier to the viewer test), so the tests do not depend on
each other's order. Screenshots land in build/screenshots/<test>/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from browser.browser_kit import Shots, log_in, wait_for
from browser.browser_world import CONNECTION, World
from ml_connector.app.chart import chart_status
from ml_connector.app.principal import Actor
from ml_connector.audit import AuditKind
from ml_connector.store import SyncStatus

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

OpenPage = Callable[[str | None], "Page"]
EXCEPTIONS = f"/ui/c/{CONNECTION}/exceptions"
PERIOD_BILLS = slice(3, 6)  # the demo's closed-period bills (see sandbox/_demo.py)
ACCOUNT_BILLS = slice(0, 3)  # the demo's bills coded to the unknown account 6999


def _api(world: World, role: str) -> httpx.Client:
    headers = {"authorization": f"Bearer {world.api_tokens[role]}"}
    return httpx.Client(base_url=world.app_url, headers=headers, timeout=30.0)


def _group(page: Page, ramp_id: str) -> Locator:
    """The exceptions-page group (``.group``) that lists ``ramp_id``."""
    return page.locator(".group").filter(has=page.get_by_role("link", name=ramp_id))


def _retry_group(page: Page, ramp_id: str) -> None:
    """Press "Retry group" on the group of ``ramp_id``; confirm if the dashboard asks to."""
    _group(page, ramp_id).get_by_role("button", name="Retry group").click()
    page.wait_for_load_state()
    confirm = page.get_by_role("button", name=re.compile(r"^Confirm retry"))
    if confirm.count():
        confirm.click()
        page.wait_for_load_state()


def _listed(page: Page, ramp_ids: list[str]) -> bool:
    return all(page.get_by_role("link", name=rid).count() for rid in ramp_ids)


def _succeeded_in_browser(page: Page, world: World, ramp_ids: list[str]) -> bool:
    """Reload the records list filtered to succeeded; True once every bill shows there."""
    page.goto(f"/ui/c/{CONNECTION}/records?state=succeeded")
    return _listed(page, ramp_ids)


def _one_invoice_each(world: World, ramp_ids: list[str]) -> list[dict[str, Any]]:
    found = []
    for rid in ramp_ids:
        invoices = world.visma_invoices(rid)
        assert len(invoices) == 1, f"bill {rid} has {len(invoices)} Visma invoices"
        found.extend(invoices)
    return found


def test_login_then_overview_matches_the_store(
    world: World, open_page: OpenPage, shots: Shots
) -> None:
    """A wrong password is refused; the right one opens the overview with the store's counts."""
    page = open_page(None)
    assert "/ui/login" in page.url  # no session: the dashboard sends the visitor to log in
    log_in(page, world.app_url, "admin", shots)
    counts = world.call(world.runtime.store.count_by_status(world.connection_id))
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=CONNECTION))
    attention = row.locator(f'a[href="{EXCEPTIONS}"]').inner_text()
    succeeded = row.locator('a[href$="state=succeeded"]').inner_text()
    assert counts[SyncStatus.NEEDS_ATTENTION] > 0
    assert attention.strip() == str(counts[SyncStatus.NEEDS_ATTENTION])
    assert succeeded.strip() == str(counts[SyncStatus.SUCCEEDED])
    shots(page, "overview")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/ui/login"))
    page.get_by_label("Email").fill("admin@nordlys.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert "wrong email or password" in page.locator(".error").inner_text()
    shots(page, "login refused")
    page.goto("/ui")
    assert "/ui/login" in page.url  # the refused attempt left no session behind


def test_exceptions_page_groups_the_demo_faults(
    world: World, open_page: OpenPage, shots: Shots
) -> None:
    """The exceptions page shows one group per cause with its count, exactly as the store has."""
    initial = {code: len(ids) for code, ids in world.initial_attention.items()}
    assert initial == {
        "account_unknown": 3,
        "period_closed": 3,
        "supplier_blocked": len(world.blocked_bills),
    }
    page = open_page("operator")
    page.get_by_role("link", name=CONNECTION, exact=True).click()
    page.get_by_role("link", name="Exceptions", exact=True).click()
    page.wait_for_url(re.compile(EXCEPTIONS))
    shots(page, "exceptions")
    waiting = world.records(SyncStatus.NEEDS_ATTENTION)
    assert waiting, "the demo faults left nothing needing attention"
    with _api(world, "operator") as api:
        groups = api.get(f"/api/v1/connections/{CONNECTION}/exceptions").json()
    assert sum(g["count"] for g in groups) == len(waiting)
    assert page.locator(".group").count() == len(groups)
    for g in groups:
        block = _group(page, g["ramp_ids"][0])
        assert block.count() == 1
        text = block.inner_text()
        assert str(g["count"]) in text
        assert all(rid in text for rid in g["ramp_ids"])
    blocked = _group(page, world.blocked_bills[0]).inner_text()
    assert f"Supplier {world.blocked_supplier}" in blocked
    assert "OnHold" in blocked


def test_record_page_reads_the_timeline(world: World, open_page: OpenPage, shots: Shots) -> None:
    """Opening a record from its group shows its error, fix hint and full audit timeline."""
    ramp_id = world.blocked_bills[0]
    record = world.record_for(ramp_id)
    timeline = world.call(world.runtime.store.list_audit(world.connection_id, record.id))
    assert AuditKind.RESULT in {e.kind for e in timeline}
    page = open_page("viewer")
    page.goto(EXCEPTIONS)
    _group(page, ramp_id).get_by_role("link", name=ramp_id).click()
    page.wait_for_url(re.compile(rf"/records/{record.id}$"))
    shots(page, "record")
    assert ramp_id in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("heading", name="Timeline").is_visible()
    text = page.locator("main").inner_text()
    assert "OnHold" in text
    assert record.hint
    assert record.hint in text
    for entry in timeline:
        assert entry.kind in text, f"timeline entry {entry.seq} ({entry.kind}) not shown"
    assert record.status == SyncStatus.NEEDS_ATTENTION


def test_fix_period_then_retry_group_turns_green(
    world: World, open_page: OpenPage, shots: Shots
) -> None:
    """Opening the closed period in Visma and pressing "Retry group" syncs each bill once."""
    bills = list(world.setup.dataset.bills[PERIOD_BILLS])
    ramp_ids = [b.id for b in bills]
    assert all(world.record_for(rid).error_code == "period_closed" for rid in ramp_ids)
    assert not any(world.visma_invoices(rid) for rid in ramp_ids)
    page = open_page("operator")
    page.goto(EXCEPTIONS)
    assert "closed" in _group(page, ramp_ids[0]).inner_text()
    for period in sorted({f"{b.issued_at:%Y%m}" for b in bills}):  # what the accountant does
        world.visma("PUT", f"/_sandbox/periods/{period}", json={"closed": False})
    _retry_group(page, ramp_ids[0])
    shots(page, "after retry")
    wait_for(lambda: _succeeded_in_browser(page, world, ramp_ids), "the bills to show succeeded")
    for rid in ramp_ids:
        cell = page.get_by_role("row").filter(has_text=rid).locator(".state-succeeded")
        assert cell.inner_text().strip() == "succeeded"
    shots(page, "records succeeded")
    page.goto(EXCEPTIONS)
    assert not any(page.get_by_role("link", name=rid).count() for rid in ramp_ids)
    shots(page, "exceptions after retry")
    for rid in ramp_ids:
        record = world.record_for(rid)
        assert record.status == SyncStatus.SUCCEEDED
        assert record.visma_ref
    invoices = _one_invoice_each(world, ramp_ids)
    refs = {f"{i['documentType']}/{i['referenceNumber']}" for i in invoices}
    assert refs == {world.record_for(rid).visma_ref for rid in ramp_ids}


def test_viewer_is_refused_the_retry_button_and_the_calls_behind_it(
    world: World, open_page: OpenPage, shots: Shots
) -> None:
    """A viewer sees no "Retry group"; its form post and the retry API calls all answer 403."""
    ramp_ids = world.blocked_bills
    before = {rid: world.record_for(rid) for rid in ramp_ids}
    operator = open_page("operator")
    operator.goto(EXCEPTIONS)
    form = _group(operator, ramp_ids[0]).locator(
        "form", has=operator.get_by_role("button", name="Retry group")
    )
    action = form.evaluate("f => new URL(f.getAttribute('action') || '', location.href).href")
    fields = form.evaluate(
        "f => { const d = new FormData(f); const b = [...f.querySelectorAll('button[name]')]"
        ".find(x => x.textContent.trim() === 'Retry group'); d.append(b.name, b.value);"
        " return [...d.entries()]; }"
    )
    viewer = open_page("viewer")
    viewer.goto(EXCEPTIONS)
    shots(viewer, "exceptions as viewer")
    group = _group(viewer, ramp_ids[0])
    assert group.count() == 1
    assert viewer.get_by_role("button", name="Retry group").count() == 0
    assert viewer.get_by_role("button", name=re.compile("Exclude")).count() == 0
    csrf = viewer.locator("input[name=csrf]").first.input_value()
    form_data = {k: (csrf if k == "csrf" else v) for k, v in fields}
    posted = viewer.request.post(action, form=form_data)
    assert posted.status == 403
    assert "viewer cannot" in posted.text()  # refused for the role, not for a stale form
    replay_form = {"csrf": csrf, "record_id": str(before[ramp_ids[0]].id), "action": "replay"}
    assert viewer.request.post(EXCEPTIONS, form=replay_form).status == 403
    with _api(world, "viewer") as api:
        groups = api.get(f"/api/v1/connections/{CONNECTION}/exceptions").json()
        (key,) = [g["key"] for g in groups if ramp_ids[0] in g["ramp_ids"]]
        ids = {"record_ids": [r.id for r in before.values()], "dry_run": False}
        calls = [
            (f"/api/v1/connections/{CONNECTION}/exceptions/{key}/retry", {}),
            (f"/api/v1/connections/{CONNECTION}/retry", ids),
            (f"/api/v1/connections/{CONNECTION}/replay", ids),
        ]
        for url, body in calls:
            with_token = api.post(url, json=body)
            assert with_token.status_code == 403, url
            assert "viewer cannot" in with_token.json()["error"]
            with_session = viewer.request.post(url, data=body, headers={"x-csrf-token": csrf})
            assert with_session.status == 403, url
            assert "viewer cannot" in with_session.json()["error"]
    for rid, was in before.items():
        now = world.record_for(rid)
        assert (now.status, now.attempts, now.updated_at) == (
            SyncStatus.NEEDS_ATTENTION,
            was.attempts,
            was.updated_at,
        )
        assert world.visma_invoices(rid) == []


def test_mapping_editor_fixes_the_unknown_account(
    world: World, open_page: OpenPage, shots: Shots
) -> None:
    """Mapping 6999 to 7790 in the editor (after a refused bad target) lets the group sync."""
    ramp_ids = [b.id for b in world.setup.dataset.bills[ACCOUNT_BILLS]]
    assert all(world.record_for(rid).error_code == "account_unknown" for rid in ramp_ids)
    page = open_page("admin")
    page.goto(f"/ui/c/{CONNECTION}/mappings")
    assert page.get_by_role("button", name="Save mappings").count() == 1, "no mapping editor"
    unmapped = page.locator("li").filter(has_text="6999")  # seen in the stopped records
    assert "3 record" in unmapped.first.inner_text()
    shots(page, "mappings")
    before = world.call(world.runtime.store.current_mapping(world.connection_id))

    def map_6999_to(visma_value: str) -> None:
        page.goto(f"/ui/c/{CONNECTION}/mappings")
        unmapped.first.get_by_role("link", name="Map it").click()  # fills field and value
        assert page.get_by_label("Ramp field", exact=True).input_value() == "gl_account"
        assert page.get_by_label("Ramp value", exact=True).input_value() == "6999"
        page.get_by_label("Visma target", exact=True).select_option("account")
        page.get_by_label("Visma value", exact=True).fill(visma_value)
        page.get_by_role("button", name="Save mappings").click()
        page.wait_for_load_state()

    map_6999_to("9999")  # not an account in Visma: validation refuses it
    assert "9999" in page.locator(".error").first.inner_text()
    shots(page, "mapping refused")
    assert world.call(world.runtime.store.current_mapping(world.connection_id)) == before
    map_6999_to("7790")
    assert page.locator(".error").count() == 0
    shots(page, "mapping saved")
    saved = world.call(world.runtime.store.current_mapping(world.connection_id))
    assert saved is not None
    assert saved != before
    rows = saved.document["rules"]
    assert any(r["value"] == "6999" and r["visma_value"] == "7790" for r in rows)
    page.goto(EXCEPTIONS)
    _retry_group(page, ramp_ids[0])
    wait_for(lambda: _succeeded_in_browser(page, world, ramp_ids), "the bills to show succeeded")
    shots(page, "records succeeded")
    for invoice in _one_invoice_each(world, ramp_ids):
        accounts = {line["account"]["number"] for line in invoice["invoiceLines"]}
        assert "7790" in accounts
        assert "6999" not in accounts


def _ramp_gl_accounts(world: World) -> dict[str, dict[str, Any]]:
    state = world.ramp("GET", "/_sandbox/state").json()
    return {a["id"]: a for a in state["gl_accounts"]}


def test_chart_page_pushes_a_new_visma_account_to_ramp(
    world: World, open_page: OpenPage, shots: Shots
) -> None:
    """An account added in Visma shows as pending on the chart page; "Push now" puts it in Ramp."""
    new = {"number": "6995", "description": "Bevertning kunder", "type": "Expense"}
    world.visma("POST", "/_sandbox/accounts", json=new)
    assert "6995" not in _ramp_gl_accounts(world)
    page = open_page("operator")
    page.goto(f"/ui/c/{CONNECTION}/chart")
    assert page.get_by_role("button", name="Push now").count() == 1, "no chart page"
    page.get_by_role("button", name="Show pending changes").click()
    page.wait_for_load_state()
    assert page.get_by_role("row").filter(has_text="6995").count() == 1
    shots(page, "chart pending")
    page.get_by_role("button", name="Push now").click()
    page.wait_for_load_state()
    shots(page, "chart pushed")
    assert page.get_by_text("all changes applied").is_visible()
    pushed = wait_for(lambda: _ramp_gl_accounts(world).get("6995"), "account 6995 in Ramp")
    assert new["description"] in pushed["name"]
    assert pushed["is_active"] is True
    status = world.call(chart_status(Actor.local_admin("tester"), world.runtime, CONNECTION))
    assert status.last_push is not None
    page.goto(f"/ui/c/{CONNECTION}/chart?pending=1")
    shots(page, "chart after push")
    assert page.get_by_role("row").filter(has_text="6995").count() == 0
