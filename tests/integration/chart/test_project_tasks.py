"""Project tasks end to end: the bills flow against both sandboxes, Visma refusing project lines
without a task (its documented rule, the sandbox default).

The demo's projects: P1002 has two active tasks (01 Analyse, 02 Migrering); P1003 has one that
is active and visible in the supplier ledger (01), one completed and one hidden from AP; P1004
has two active tasks and a planned one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from integration.chart.demo_pair import VENDOR_TELENOR, World, open_demo_pair
from ml_connector.app.mappings import set_rule
from ml_connector.app.principal import Actor
from ml_connector.app.replay import replay
from ml_connector.mapping.table import MappingRule, MappingTableError, Target
from ml_connector.runtime.sync import sync_once
from ml_connector.store import SyncStatus

WRITES = ("POST", "PUT", "DELETE")


def _visma_writes(world: World) -> list[str]:
    """Writes to Visma's service API (the token endpoint is not one)."""
    return [
        f"{e.method} {e.path}"
        for e in world.visma.journal.entries()
        if e.method in WRITES and e.path.startswith("/v1/")
    ]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The demo company without its bills, in both sandboxes, and one connection."""
    async with open_demo_pair(tmp_path) as pair:
        yield pair


def _bill(world: World, number: str, vendor: str = VENDOR_TELENOR, **coding: Any) -> str:
    line = {"gl_account": "6720", "cost_centre": "100", "department": "10", **coding}
    created = world.ramp.create_bill(
        vendor_id=vendor,
        invoice_number=number,
        lines=[{"amount_minor": 480_00, "memo": f"{number} konsulent", **line}],
    )
    return str(created["id"])


async def _record(world: World, bill_id: str) -> Any:
    connection = await world.runtime.store.get_connection("acme")
    record = await world.runtime.store.find_record(connection.id, "bill", bill_id)
    assert record is not None
    return record


def _posted_line(world: World, number: str) -> dict[str, Any]:
    (invoice,) = [i for i in world.visma.invoices() if i.get("supplierReference") == number]
    line: dict[str, Any] = invoice["invoiceLines"][0]
    return line


async def test_a_project_line_with_no_task_needs_attention_and_nothing_is_written(
    world: World,
) -> None:
    """P1002 has two active tasks and the bill names none: the record names the project and both
    candidates, and Visma receives no write at all (not even the new vendor's supplier)."""
    vendor = world.ramp.create_vendor(name="Skyhuset AS", currency="NOK", org_number="912345679")
    bill_id = _bill(world, "TASK-NONE", vendor=str(vendor["id"]), project="P1002")
    world.visma.journal.clear()

    summary = await sync_once(world.runtime, "acme", settle_s=0)

    assert summary.needs_attention == 1
    record = await _record(world, bill_id)
    assert record.status is SyncStatus.NEEDS_ATTENTION
    assert record.error_code == "project_task_ambiguous"
    assert "project P1002 (DNB skymigrering)" in (record.last_error or "")
    assert "01 (Analyse), 02 (Migrering)" in (record.last_error or "")
    assert "mappings set" in (record.hint or "")
    assert _visma_writes(world) == []
    assert world.visma.invoices() == []
    assert bill_id in {e.object_id for e in world.ramp.state.export_errors}


async def test_the_projects_one_active_ap_task_is_taken_and_visma_accepts_it(world: World) -> None:
    """P1003's only task that is active and visible in AP goes on the line; the sandbox, which
    refuses project lines without a task, stores the invoice."""
    _bill(world, "TASK-ONE", project="P1003")

    summary = await sync_once(world.runtime, "acme", settle_s=0)

    assert summary.visma_invoices_created == 1
    line = _posted_line(world, "TASK-ONE")
    assert line["project"]["id"] == "P1003"
    assert line["projectTask"] == {"id": "01", "description": "Prosessanalyse"}


async def test_a_task_set_for_the_project_in_the_mapping(world: World) -> None:
    """``@project,P1002,task,,02`` settles P1002's lines that name no task."""
    await set_rule(
        Actor.local_admin("tester"),
        world.runtime,
        "acme",
        MappingRule("@project", "P1002", Target.TASK, "02"),
    )
    _bill(world, "TASK-MAP", project="P1002")

    summary = await sync_once(world.runtime, "acme", settle_s=0)

    assert summary.visma_invoices_created == 1
    assert _posted_line(world, "TASK-MAP")["projectTask"]["id"] == "02"


async def test_the_task_field_in_ramp_comes_first(world: World) -> None:
    """A Ramp task selection (``P1004/02``) wins over the mapping's task for the project."""
    await set_rule(
        Actor.local_admin("tester"),
        world.runtime,
        "acme",
        MappingRule("@project", "P1004", Target.TASK, "01"),
    )
    _bill(world, "TASK-FIELD", project="P1004", project_task="P1004/02")

    summary = await sync_once(world.runtime, "acme", settle_s=0)

    assert summary.visma_invoices_created == 1
    line = _posted_line(world, "TASK-FIELD")
    assert line["projectTask"] == {"id": "02", "description": "Leverandørvalg"}


async def test_a_task_the_mapping_cannot_use_is_refused_when_saved(world: World) -> None:
    """A mapped task Visma does not have (or has completed) is refused at save time."""
    with pytest.raises(MappingTableError, match="task 02 of project P1003 is not active"):
        await set_rule(
            Actor.local_admin("tester"),
            world.runtime,
            "acme",
            MappingRule("@project", "P1003", Target.TASK, "02"),
        )


async def test_an_inactive_cost_centre_stops_the_bill_naming_it(world: World) -> None:
    """A segment value inactive in Visma stops the bill with its number and name, before any
    write; once it is active again the same bill posts."""
    world.visma.set_segment_value(1, "410", "Marketing Oslo", active=False)
    bill_id = _bill(world, "SEG-OFF", cost_centre="410", project="X")
    world.visma.journal.clear()

    await sync_once(world.runtime, "acme", settle_s=0)

    record = await _record(world, bill_id)
    assert record.error_code == "segment_value_inactive"
    assert record.last_error == "Line 1: Kostnadssted 410 (Marketing Oslo) is inactive in Visma"
    assert _visma_writes(world) == []

    world.visma.set_segment_value(1, "410", active=True)
    (item,) = await replay(
        Actor.local_admin("tester"), world.runtime, "acme", [record], dry_run=False
    )
    assert item.status_after == "succeeded"
    assert _posted_line(world, "SEG-OFF")["subaccount"]["segments"][0]["segmentValue"] == "410"
