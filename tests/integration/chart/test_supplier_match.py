"""Vendor matching controls: the per-connection match order decides how vendors are linked."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.chart.chart_kit import open_chart_world
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.vendor_match import propose_supplier_links
from ml_connector.sandbox.seed import demo_dataset

TELENOR = "Telenor Norge AS"  # org number and name both match supplier 50001


async def _proposals(tmp_path: Path, order: list[str] | None) -> dict[str, dict[str, object]]:
    extra = {} if order is None else {"supplier_match": order}
    async with open_chart_world(
        tmp_path, ramp_dataset=demo_dataset(), extra_settings=extra
    ) as world:
        proposals = await propose_supplier_links(world.runtime, world.name)
        for box in (world.visma, world.ramp):
            writes = [e.path for e in box.journal.entries() if e.method != "GET"]
            assert [p for p in writes if "token" not in p] == []  # a dry run writes nothing
        return {p.vendor_name: p.as_dict() for p in proposals}


async def test_default_order_matches_by_organisation_number_first(tmp_path: Path) -> None:
    """By default the organisation number wins over the name."""
    proposals = await _proposals(tmp_path, None)
    assert proposals[TELENOR]["matched_by"] == "org_number"
    assert proposals[TELENOR]["supplier"] == "50001"


async def test_name_first_order_matches_by_name(tmp_path: Path) -> None:
    """With the name step first, the same vendor is linked by its name."""
    proposals = await _proposals(tmp_path, ["name", "org_number", "vat_number"])
    assert proposals[TELENOR]["matched_by"] == "name"


async def test_a_step_left_out_is_skipped(tmp_path: Path) -> None:
    """Only org numbers: vendors without one would get new suppliers, never a name match."""
    proposals = await _proposals(tmp_path, ["org_number"])
    assert proposals[TELENOR]["matched_by"] == "org_number"
    by_name_only = [p for p in proposals.values() if p["matched_by"] == "name"]
    assert by_name_only == []
    assert any(p["action"] == "create" for p in proposals.values())


async def test_unknown_step_is_a_configuration_error(tmp_path: Path) -> None:
    """A misspelt step is refused with the allowed names, not silently ignored."""
    with pytest.raises(ConfigurationError, match="remote_id, org_number, vat_number, name"):
        await _proposals(tmp_path, ["org_nr"])
