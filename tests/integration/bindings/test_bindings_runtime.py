"""Field bindings in a running connector, against the in-process sandboxes playing a customer
with history: versions only on change, a person's binding outlives discovery, the chart push's
fields bind themselves, old hand-written settings keep working, and an edit reaches the
running context at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ml_connector.app import bindings as app_bindings
from ml_connector.app.mappings import pull
from ml_connector.app.principal import Actor
from ml_connector.app.replay import replay, select_records
from ml_connector.runtime import bindings as binding_ops
from ml_connector.runtime.chart import push
from ml_connector.runtime.sync import sync_once
from ml_connector.store import SyncStatus
from support.customer_history import (
    BILL_CAMPAIGN,
    CAMPAIGN_FIELD,
    VENDOR_TELENOR,
    customer_history_dataset,
)
from support.demo_world import DemoWorld, open_demo_world

NAME = "nordlys"
ADMIN = Actor.local_admin("tester")
KARI = Actor.local_admin("kari")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[DemoWorld]:
    """The customer with history in both sandboxes, one connection, no bindings yet."""
    opened = await open_demo_world(tmp_path, customer_history_dataset())
    try:
        yield opened
    finally:
        await opened.runtime.close()


async def _fields(world: DemoWorld) -> dict[str, dict[str, Any]]:
    connection = await world.runtime.store.get_connection(NAME)
    view = await app_bindings.fields_view(ADMIN, world.runtime, connection)
    return {row["field"]: row for row in view.as_dict()["fields"]}


async def _versions(world: DemoWorld) -> list[int]:
    connection = await world.runtime.store.get_connection(NAME)
    return [v.version for v in await world.runtime.store.list_binding_versions(connection.id)]


async def test_pull_writes_a_version_only_when_something_changed(world: DemoWorld) -> None:
    """A second pull of the same Ramp adds no version; a new field on a bill does."""
    first = await pull(ADMIN, world.runtime, NAME)
    assert first.bindings is not None
    assert first.bindings.written
    again = await pull(ADMIN, world.runtime, NAME)
    assert again.bindings is not None
    assert not again.bindings.written
    assert await _versions(world) == [1]

    world.setup.ramp.create_bill(
        vendor_id=VENDOR_TELENOR,
        invoice_number="NEW-1",
        lines=[{"amount_minor": 10_00, "memo": "x", "selections": {"Category": "6800"}}],
        selections={"dim_region": "R1"},
    )
    third = await pull(ADMIN, world.runtime, NAME)
    assert third.bindings is not None
    assert third.bindings.changed == ("dim_region",)
    assert await _versions(world) == [1, 2]
    assert (await _fields(world))["dim_region"]["target"] is None


async def test_discovery_never_overwrites_a_persons_binding(world: DemoWorld) -> None:
    """A person binds the cost centre field to segment 2; later pulls keep it, with the author,
    and the audit trail names who did it."""
    await pull(ADMIN, world.runtime, NAME)
    binding, version = await app_bindings.bind_field(
        KARI, world.runtime, NAME, "dim_kst", "segment:2", note="moved in 2026"
    )
    assert (binding.target, binding.decided_by, binding.author) == ("segment:2", "person", "kari")
    await pull(ADMIN, world.runtime, NAME)
    kept = (await _fields(world))["dim_kst"]
    assert (kept["target"], kept["decided_by"], kept["evidence"]) == (
        "segment:2",
        "person",
        "moved in 2026",
    )
    assert kept["types"] == ["COST_CENTER"]
    connection = await world.runtime.store.get_connection(NAME)
    entries = await world.runtime.store.list_audit(connection.id, None)
    acts = [e.data for e in entries if e.kind == "user_action"]
    assert {"user": "kari", "action": "bind field", "field": "dim_kst"}.items() <= acts[-1].items()
    assert acts[-1]["version"] == version.version


async def test_an_edit_reaches_the_running_context_and_the_bill_syncs(world: DemoWorld) -> None:
    """In one process: the campaign bill stops with nothing written, the field is ignored by a
    person, and a replay posts the bill with Ramp's coding (the same runtime, no restart)."""
    await pull(ADMIN, world.runtime, NAME)
    summary = await sync_once(world.runtime, NAME, settle_s=0)
    assert (summary.needs_attention, summary.visma_invoices_created) == (1, 2)
    await app_bindings.bind_field(KARI, world.runtime, NAME, CAMPAIGN_FIELD, "ignore")
    connection = await world.runtime.store.get_connection(NAME)
    stuck = await select_records(
        ADMIN, world.runtime, connection.id, status=SyncStatus.NEEDS_ATTENTION
    )
    assert [r.object_id for r in stuck] == [BILL_CAMPAIGN]
    (item,) = await replay(ADMIN, world.runtime, NAME, stuck, dry_run=False)
    assert item.status_after == "succeeded", item
    record = await world.runtime.store.find_record(connection.id, "bill", BILL_CAMPAIGN)
    assert record is not None
    entries = await world.runtime.store.list_audit(connection.id, record.id)
    noted = [e.data for e in entries if e.kind == "mapped_payload"]
    assert noted[-1]["binding_version"] == 2


async def test_the_chart_push_fields_bind_themselves(world: DemoWorld) -> None:
    """After a push, the push's own fields are bound by the chart push; the customer's stay as
    the evidence bound them; pulls keep both (and, once Ramp's names are known, add nothing)."""
    await pull(ADMIN, world.runtime, NAME)
    result = await push(world.runtime, NAME)
    assert not result.failures
    fields = await _fields(world)
    for field_id, target in (
        ("subaccount-1", "segment:1"),
        ("subaccount-2", "segment:2"),
        ("project", "project"),
        ("vat", "vat"),
    ):
        assert (fields[field_id]["target"], fields[field_id]["decided_by"]) == (
            target,
            "chart push",
        ), field_id
        assert fields[field_id]["stored"]
    assert fields["dim_kst"]["decided_by"] == "value overlap"
    await pull(ADMIN, world.runtime, NAME)  # sees the new fields' names and Ramp ids
    after = await _fields(world)
    assert (after["subaccount-1"]["decided_by"], after["subaccount-1"]["name"]) == (
        "chart push",
        "Kostnadssted",
    )
    versions = await _versions(world)
    await pull(ADMIN, world.runtime, NAME)
    assert await _versions(world) == versions


async def test_hand_written_field_settings_still_work_without_bindings(tmp_path: Path) -> None:
    """A connection whose settings name its fields (the old way) syncs as before, with no
    discovery; a field the settings leave out still stops its bill instead of vanishing."""
    dataset = customer_history_dataset(project_by_code=False)
    opened = await open_demo_world(tmp_path, dataset)
    try:
        settings = {
            "mapping": {
                "gl_fields": ["Category"],
                "segment_fields": {"dim_kst": 1, "dim_avd": 2},
                "project_field": "dim_prosjekt",
                "vat_field": "dim_mva",
                "default_vat": "0",
            }
        }
        connection = await opened.runtime.store.get_connection(NAME)
        await opened.runtime.store.update_connection_settings(connection.id, settings)
        summary = await sync_once(opened.runtime, NAME, settle_s=0)
        assert (summary.visma_invoices_created, summary.needs_attention) == (2, 1)
        assert await opened.runtime.store.current_bindings(connection.id) is None
        invoice = next(
            i for i in opened.setup.visma.invoices() if i.get("supplierReference") == "CH-1001"
        )
        line = invoice["invoiceLines"][0]
        assert (line["project"]["id"], line["vatCode"]["id"]) == ("P1001", "11")
        connection = await opened.runtime.store.get_connection(NAME)  # with the new settings
        view = await app_bindings.fields_view(ADMIN, opened.runtime, connection)
        shown = {row["field"]: row for row in view.as_dict()["fields"]}
        assert (shown["dim_kst"]["decided_by"], shown["dim_kst"]["stored"]) == (
            "configuration",
            False,
        )
        stuck = await opened.runtime.store.find_record(connection.id, "bill", BILL_CAMPAIGN)
        assert stuck is not None
        assert stuck.error_code == "unbound_field"
    finally:
        await opened.runtime.close()


async def test_a_bind_racing_discovery_is_never_lost(world: DemoWorld) -> None:
    """A person's bind and a discovery that run at the same time: whichever saves first, the
    person's binding is what stays, and no version number is shared or skipped."""
    await pull(ADMIN, world.runtime, NAME)
    for target in ("segment:2", "segment:1", "ignore"):
        await asyncio.gather(
            binding_ops.refresh(world.runtime, NAME, write=True),
            app_bindings.bind_field(KARI, world.runtime, NAME, "dim_kst", target),
            binding_ops.refresh(world.runtime, NAME, write=True),
        )
        kept = (await _fields(world))["dim_kst"]
        assert (kept["target"], kept["decided_by"]) == (target, "person")
    versions = await _versions(world)
    assert versions == list(range(1, len(versions) + 1))
