"""/v2/journaltransaction in the Visma sandbox: listing (paged by lines), attachments, a failure
after commit, and release notifications."""

from __future__ import annotations

from integration.sandbox_visma.journal_kit import JOURNALS, Gl, jline, journal_body, message
from integration.sandbox_visma.visma_kit import (
    release,
    w,
)


async def test_list_needs_a_period_or_a_modified_date(gl: Gl) -> None:
    """periodId or lastModifiedDateTime is mandatory; alone, the date means "since"."""
    await gl.create()
    refused = await gl.call("GET", JOURNALS)
    assert refused.status_code == 400
    by_period = await gl.call("GET", f"{JOURNALS}?periodId=202603")
    assert [b["batchNumber"] for b in by_period.json()] == ["000001"]
    assert (await gl.call("GET", f"{JOURNALS}?periodId=202604")).json() == []
    since = await gl.call("GET", f"{JOURNALS}?lastModifiedDateTime=2026-03-15T09:00:00")
    assert len(since.json()) == 1
    later = await gl.call("GET", f"{JOURNALS}?lastModifiedDateTime=2026-03-15T11:00:00")
    assert later.json() == []
    before = await gl.call(
        "GET",
        f"{JOURNALS}?lastModifiedDateTime=2026-03-15T11:00:00&lastModifiedDateTimeCondition=%3C",
    )
    assert len(before.json()) == 1
    zulu = await gl.call("GET", f"{JOURNALS}?lastModifiedDateTime=2026-03-15T09:00:00Z")
    assert zulu.status_code == 400


async def test_list_filters_status_module_branch_and_released(gl: Gl) -> None:
    """status, module, branch and the deprecated releasedBatch filter the batches."""
    posted = await gl.create(journal_body(branch=w("1")))
    await release(gl.http, f"{JOURNALS}/{posted}/action/release", gl.token)
    held = await gl.create(journal_body(hold=w(True)))
    base = f"{JOURNALS}?periodId=202603"

    async def numbers(query: str) -> list[str]:
        response = await gl.call("GET", base + query)
        assert response.status_code == 200, response.text
        return [b["batchNumber"] for b in response.json()]

    assert await numbers("&status=Posted") == [posted]
    assert await numbers("&status=Hold") == [held]
    assert await numbers("&module=GL") == [posted, held]
    assert await numbers("&module=AP") == []
    assert await numbers("&branch=1") == [posted]
    assert await numbers("&releasedBatch=true") == [posted]
    assert await numbers("&releasedBatch=false") == [held]
    assert (await gl.call("GET", base + "&status=Lost")).status_code == 400


async def test_paging_counts_lines_and_splits_a_batch(gl: Gl) -> None:
    """pageSize and totalCount count lines: a batch can span two pages."""
    three = journal_body(
        jline("6800", debit="100"), jline("6300", debit="50"), jline("2400", credit="150")
    )
    first = await gl.create(three)
    second = await gl.create()
    page1 = (await gl.call("GET", f"{JOURNALS}?periodId=202603&pageNumber=1&pageSize=2")).json()
    page2 = (await gl.call("GET", f"{JOURNALS}?periodId=202603&pageNumber=2&pageSize=2")).json()
    page3 = (await gl.call("GET", f"{JOURNALS}?periodId=202603&pageNumber=3&pageSize=2")).json()
    assert [(b["batchNumber"], len(b["journalTransactionLines"])) for b in page1] == [(first, 2)]
    assert [(b["batchNumber"], len(b["journalTransactionLines"])) for b in page2] == [
        (first, 1),
        (second, 1),
    ]
    assert [b["batchNumber"] for b in page3] == [second]
    assert page1[0]["metadata"]["totalCount"] == 5
    assert page1[0]["debitTotalInCurrency"] == 150.0  # batch totals, not the page's


async def test_attachments_on_the_batch_and_its_lines(gl: Gl) -> None:
    """Header and line attachments: 201 + Location; the file is served back; revisions."""
    number = await gl.create()
    auth = {"Authorization": f"Bearer {gl.token}"}
    url = f"{JOURNALS}/module/GL/{number}/attachment"
    header = await gl.http.post(
        url, files={"f": ("receipt.pdf", b"%PDF-1", "application/pdf")}, headers=auth
    )
    assert header.status_code == 201
    attachment_id = header.headers["location"].rsplit("/", 1)[1]
    again = await gl.http.post(
        url, files={"f": ("receipt.pdf", b"%PDF-2", "application/pdf")}, headers=auth
    )
    assert again.headers["location"] == header.headers["location"]  # a new revision
    line = await gl.http.post(
        f"{JOURNALS}/module/ModuleGL/{number}/1/attachment",
        files={"f": ("line.pdf", b"%PDF-3", "application/pdf")},
        headers=auth,
    )
    assert line.status_code == 201
    wrong_module = await gl.http.post(
        f"{JOURNALS}/module/AP/{number}/attachment",
        files={"f": ("x.pdf", b"x", "application/pdf")},
        headers=auth,
    )
    assert wrong_module.status_code == 404
    no_line = await gl.http.post(
        f"{JOURNALS}/module/GL/{number}/9/attachment",
        files={"f": ("x.pdf", b"x", "application/pdf")},
        headers=auth,
    )
    assert no_line.status_code == 404
    batch = await gl.read(number)
    assert batch["attachments"] == [{"name": "receipt.pdf", "id": attachment_id, "revision": 2}]
    assert batch["journalTransactionLines"][0]["attachments"][0]["name"] == "line.pdf"
    served = await gl.call("GET", f"/v1/attachment/{attachment_id}")
    assert served.content == b"%PDF-2"
    listed = (await gl.call("GET", f"{JOURNALS}?periodId=202603&expandAttachments=true")).json()
    assert listed[0]["attachments"][0]["id"] == attachment_id
    plain = (await gl.call("GET", f"{JOURNALS}?periodId=202603")).json()
    assert "attachments" not in plain[0]
    assert gl.sandbox.attachment(attachment_id) is not None
    assert len(gl.sandbox.journals()) == 1


async def test_commit_then_fail_leaves_a_batch_a_period_lookup_finds(gl: Gl) -> None:
    """An injected commit-then-500 stores the batch; the period's GL list finds it by its
    lines' reference, which is how a client avoids posting it twice."""
    from ml_connector.sandbox.faults import FaultRule

    gl.sandbox.faults.add(
        FaultRule(
            kind="commit_then_fail", status=500, method="POST", path_contains="journaltransaction"
        )
    )
    ambiguous = await gl.post(journal_body())
    assert ambiguous.status_code == 500
    assert message(ambiguous) == "An error has occurred."
    found = await gl.call(
        "GET", f"{JOURNALS}?periodId=202603&module=GL&lastModifiedDateTime=2026-03-15"
    )
    references = {
        line["referenceNumber"]
        for batch in found.json()
        for line in batch["journalTransactionLines"]
    }
    assert references == {"ramp:tx:1"}
    assert len(gl.sandbox.state.journals) == 1


async def test_release_notifies_portal_subscribers_only(gl: Gl) -> None:
    """A released batch raises JournalTransaction.StatusChanged; legacy subscriptions (which
    have no journal event) are left alone and the release still succeeds."""
    hook = {"event": "supplier_changed", "hookUri": "https://receiver.test/visma"}
    assert (await gl.call("POST", "/API/resources/v1/subscription", hook)).status_code == 201
    number = await gl.create()
    state = await release(gl.http, f"{JOURNALS}/{number}/action/release", gl.token)
    assert state["statusCode"] == 204
    published = [e.event_type for e in gl.sandbox.events.published]
    assert published[-1] == "JournalTransaction.StatusChanged"
