"""Paging against a Visma that caps page sizes silently and leaves out ``maxPageSize``.

The company answers one record per page whatever was asked (``max_page_size=1``), with only
``totalCount`` in the metadata, or none at all. Every invoice POST commits and then fails, so
every create is settled by looking the invoice up among its supplier's invoices: the second
invoice of a supplier is on page 2. A client that stopped at a page shorter than it asked
for would not find it and would post a duplicate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.core.company import READY_BILLS, core_dataset
from integration.core.world import INVOICE_PATH, open_world, operator_settings
from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.visma.behaviour import CompanyBehaviour


@pytest.mark.parametrize("metadata", ["total_only", "none"])
async def test_lookups_read_every_page_and_never_duplicate(tmp_path: Path, metadata: str) -> None:
    """All eight bills become exactly one invoice each, each adopted through a paged lookup."""
    capped = {"behaviour": CompanyBehaviour(max_page_size=1, page_metadata=metadata)}  # type: ignore[arg-type]
    # No attachments: the fault below would hit their POSTs too (same path prefix).
    settings = {**operator_settings(core_dataset()), "attach_files": False}
    async with open_world(tmp_path, visma_options=capped, connection_settings=settings) as world:
        world.visma.faults.add(
            FaultRule(
                kind="commit_then_fail",
                method="POST",
                path_contains=INVOICE_PATH,
                count=None,
                rate=1.0,
            )
        )

        await world.sync()

        await world.check_exactly_once()
        assert len(world.invoice_posts()) == len(READY_BILLS)  # no POST was repeated
        second_pages = [
            e
            for e in world.visma.journal.entries("GET", INVOICE_PATH)
            if e.path == INVOICE_PATH and "pageNumber=2" in e.query
        ]
        assert second_pages, "no lookup ever read past the first page"
        assert all("pageSize=1000" in e.query for e in second_pages)  # told nothing smaller
