"""Creating suppliers as the Visma company is set up: class, credit terms, VAT zone, numbering."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from integration.core.company import NEW_VENDORS, READY_BILLS, core_dataset
from integration.core.world import World, open_world, operator_settings
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.flows.supplier_options import SupplierOptions
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.supplier_settings import (
    SupplierChange,
    check_in_visma,
    merged_supplier_settings,
)
from ml_connector.store.testing import Backend

MANUAL = replace(core_dataset(), supplier_numbering="manual")
PATIENT = RetryPolicy(max_attempts=40, base_s=0.02, cap_s=0.1, floor_s=0.02)


def _settings(**suppliers: Any) -> dict[str, Any]:
    return {**operator_settings(MANUAL), "suppliers": suppliers}


def _created(world: World) -> list[dict[str, Any]]:
    """The suppliers the connector created (the core company had 50001 and 50002)."""
    return [s for s in world.visma.suppliers() if s["number"] not in ("50001", "50002")]


async def test_manual_numbering_is_detected_and_numbers_follow_on(tmp_path: Path) -> None:
    """In a company that does not number suppliers, each gets the next free number."""
    async with open_world(
        tmp_path, dataset=MANUAL, connection_settings=operator_settings(MANUAL)
    ) as world:
        await world.sync()

        assert sorted(s["number"] for s in _created(world)) == ["50003", "50004", "50005"]
        assert {e.status for e in world.supplier_posts()} == {201}
        await world.check_exactly_once()


async def test_a_refused_number_less_create_switches_to_manual(tmp_path: Path) -> None:
    """A stale "auto" answer: Visma's refusal switches the connection to numbering itself."""
    async with open_world(
        tmp_path, dataset=MANUAL, connection_settings=_settings(numbering="detect")
    ) as world:
        ctx = await world.runtime.context(await world.runtime.store.get_connection(world.name))
        stale = {"manual": False, "length": None, "checked_at": ctx.suppliers.now().isoformat()}
        await ctx.store.set_cursor(ctx.connection_id, "supplier_numbering", json.dumps(stale))
        await world.sync()

        statuses = [e.status for e in world.supplier_posts()]
        assert statuses.count(400) == 1
        assert statuses.count(201) == len(NEW_VENDORS)
        assert len(_created(world)) == len(NEW_VENDORS)
        await world.check_exactly_once()


async def test_a_prefix_and_width_make_the_numbers(tmp_path: Path) -> None:
    """The connection's prefix and counter width: R0001, R0002, R0003."""
    async with open_world(
        tmp_path, dataset=MANUAL, connection_settings=_settings(number_prefix="R", number_width=4)
    ) as world:
        await world.sync()

        assert sorted(s["number"] for s in _created(world)) == ["R0001", "R0002", "R0003"]
        await world.check_exactly_once()


async def _race(world: World) -> None:
    other = await world.open_runtime("core-b")
    await asyncio.gather(
        world.sync(concurrency=2, policy=PATIENT), world.sync(other, concurrency=2, policy=PATIENT)
    )
    numbers = [s["number"] for s in _created(world)]
    assert len(numbers) == len(set(numbers)) == len(NEW_VENDORS)
    assert sum(1 for e in world.invoice_posts() if e.status == 201) == len(READY_BILLS)
    await world.check_exactly_once()


async def test_two_runtimes_number_suppliers_without_a_clash_on_sqlite(tmp_path: Path) -> None:
    """Two processes creating suppliers at once never pick the same number."""
    async with open_world(
        tmp_path, dataset=MANUAL, connection_settings=operator_settings(MANUAL)
    ) as world:
        await _race(world)


@pytest.mark.postgres
async def test_two_runtimes_number_suppliers_without_a_clash_on_postgres(
    tmp_path: Path, postgres_url: str
) -> None:
    """The same race on PostgreSQL."""
    backend: Backend = "postgresql"
    async with open_world(
        tmp_path,
        dataset=MANUAL,
        backend=backend,
        postgres_url=postgres_url,
        connection_settings=operator_settings(MANUAL),
    ) as world:
        await _race(world)


async def test_class_terms_and_zone_of_created_suppliers(tmp_path: Path) -> None:
    """The connection's class, credit terms and VAT zone land on every supplier it creates."""
    settings = {
        **operator_settings(core_dataset()),
        "suppliers": {"supplier_class": "UTL", "credit_terms": "10D", "vat_zone": "03"},
    }
    async with open_world(tmp_path, connection_settings=settings) as world:
        await world.sync()

        created = _created(world)
        assert len(created) == len(NEW_VENDORS)
        for supplier in created:
            assert supplier["supplierClass"]["id"] == "UTL"
            assert supplier["creditTerms"]["id"] == "10D"
            assert supplier["vatZone"]["id"] == "03"


async def test_without_terms_a_supplier_takes_its_classs(tmp_path: Path) -> None:
    """Ramp vendors carry no payment terms: the class's credit terms apply."""
    settings = {**operator_settings(core_dataset()), "suppliers": {"supplier_class": "UTL"}}
    async with open_world(tmp_path, connection_settings=settings) as world:
        await world.sync()

        assert {s["creditTerms"]["id"] for s in _created(world)} == {"14D"}


async def test_defaults_are_checked_against_visma(world: World) -> None:
    """A class, terms or zone the company lacks is refused, naming what Visma has."""
    ctx = await world.runtime.context(await world.runtime.store.get_connection(world.name))
    merged = merged_supplier_settings({}, SupplierChange(supplier_class="LEV", vat_zone="01"))
    await check_in_visma(
        ctx.visma, SupplierOptions.from_settings(ConnectionSettings.parse(merged))
    )  # both exist
    with pytest.raises(ConfigurationError, match="supplier class 'NOPE'; it has: LEV, UTL"):
        await check_in_visma(ctx.visma, SupplierOptions(supplier_class="NOPE"))
    with pytest.raises(ConfigurationError, match=r"credit terms .* 'KONT'"):
        await check_in_visma(ctx.visma, SupplierOptions(credit_terms="KONT"))  # customers only
    with pytest.raises(ConfigurationError, match="VAT zone '99'"):
        await check_in_visma(ctx.visma, SupplierOptions(vat_zone="99"))


def test_settings_changes_merge_and_validate() -> None:
    """Labels accumulate, "" clears a value, and a bad value is refused before storing."""
    first = merged_supplier_settings(
        {"mode": "polling"}, SupplierChange(add_org_labels=("Foretaksregister-ID",))
    )
    second = merged_supplier_settings(
        first, SupplierChange(add_org_labels=("Org-ID",), supplier_class="LEV")
    )
    assert second["suppliers"] == {
        "org_labels": ["Foretaksregister-ID", "Org-ID"],
        "supplier_class": "LEV",
    }
    assert second["mode"] == "polling"
    cleared = merged_supplier_settings(second, SupplierChange(clear_labels=True, supplier_class=""))
    assert "suppliers" not in cleared
    with pytest.raises(ConfigurationError, match="numbering"):
        merged_supplier_settings({}, SupplierChange(numbering="sometimes"))
    with pytest.raises(ConfigurationError, match="number_prefix"):
        merged_supplier_settings({}, SupplierChange(number_prefix="R 1"))
    with pytest.raises(ConfigurationError, match="form label"):
        merged_supplier_settings({}, SupplierChange(add_vat_labels=("-- --",)))
