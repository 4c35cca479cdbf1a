"""Invoice files: pre-signed links on Ramp's file host, named by the download's headers.

Ramp's ``invoice_urls`` are pre-signed links on a host of their own (the sandbox's default).
The connector must fetch them without its bearer token and outside the API's rate limit, name
and type the attachment from the download's headers, and, when a link has expired by the time
it is used, read the bill again for a fresh one.
"""

from __future__ import annotations

from pathlib import Path

from integration.core.company import READY_BILLS
from integration.core.world import SandboxClock, open_world
from ml_connector.sandbox.ramp.filehost import FILES_PREFIX

BILLS = "/developer/v1/bills"


async def test_files_come_from_the_file_host_without_our_token(tmp_path: Path) -> None:
    """Each invoice gets one attachment named as the file host says (``ATE-1001.pdf``), typed
    application/pdf; no download carried Authorization, none went through the Ramp API."""
    async with open_world(tmp_path) as world:
        await world.sync()

        await world.check_exactly_once()
        for bill_id in READY_BILLS:
            invoice = world.invoice_of(bill_id)
            [attachment] = invoice["attachments"]
            number = world.ramp.state.bills[bill_id].invoice_number
            assert attachment["name"] == f"{number}.pdf"
            stored = world.visma.attachment(attachment["id"])
            assert stored is not None
            assert stored.content_type == "application/pdf"
            assert stored.content.startswith(b"%PDF")
        served = world.ramp.files.served
        assert len(served) == len(READY_BILLS)
        assert {s.host for s in served} == {"files.ramp.test"}
        assert not any(s.had_authorization for s in served)
        assert all(s.status == 200 for s in served)
        assert not [e for e in world.ramp.journal.entries() if e.path.startswith(FILES_PREFIX)]


async def test_an_expired_link_is_renewed_by_reading_the_bill_again(tmp_path: Path) -> None:
    """The links expire between the listing and the downloads: each file host refusal (403)
    is followed by a fresh read of that bill and one download that works."""
    clock = SandboxClock()
    async with open_world(tmp_path, ramp_clock=clock) as world:
        world.ramp_hooks.after("GET", BILLS, 1, lambda: clock.advance(2 * 3600))

        await world.sync()

        await world.check_exactly_once()
        served = world.ramp.files.served
        expired = [s for s in served if s.status == 403]
        assert len(expired) == len(READY_BILLS)
        for refused in expired:
            later = [s for s in served if s.path == refused.path and s.status == 200]
            assert len(later) == 1
        reread = {
            e.path for e in world.ramp.journal.entries("GET") if e.path.startswith(BILLS + "/")
        }
        assert reread == {f"{BILLS}/{bill_id}" for bill_id in READY_BILLS}
        for bill_id in READY_BILLS:
            assert len(world.invoice_of(bill_id)["attachments"]) == 1
