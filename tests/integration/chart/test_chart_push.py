"""F4 Visma → Ramp chart push against both sandboxes: exact first push, diffs, batches, bisect."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from integration.chart.chart_kit import API, ChartWorld, open_chart_world
from ml_connector.app import chart as app_chart
from ml_connector.app.principal import Actor
from ml_connector.clients.ramp_models import AccountingVendorUpload
from ml_connector.flows.chart_plan import ChartPushResult
from ml_connector.runtime import chart as chart_runtime
from ml_connector.sandbox.ramp.chart import new_gl_account
from ml_connector.sandbox.seed import Dataset, SeedAccount, empty_dataset

CLASSIFICATION = {
    "Asset": "ASSET",
    "Liability": "LIABILITY",
    "Income": "REVENUE",
    "Expense": "EXPENSE",
}


async def _push(world: ChartWorld, *, dry_run: bool = False) -> ChartPushResult:
    return await chart_runtime.push(world.runtime, world.name, dry_run=dry_run)


async def test_first_push_creates_exactly_vismas_active_chart(tmp_path: Path) -> None:
    """Into an empty Ramp: the connection, every active account, segment value, AP project,
    VAT code and usable supplier; nothing inactive, nothing else."""
    async with open_chart_world(tmp_path) as world:
        data = world.dataset
        result = await _push(world)

        assert result.failures == []
        assert world.ramp.state.active_connection_id() is not None
        accounts = world.gl_accounts(active=None)
        assert set(accounts) == {a.number for a in data.accounts if a.active}
        for account in data.accounts:
            if account.active:
                pushed = accounts[account.number]
                assert (pushed.name, pushed.code) == (account.description, account.number)
                assert pushed.classification == CLASSIFICATION[account.type]
        for segment in data.segments:
            options = world.options(f"subaccount-{segment.segment_id}", active=None)
            assert set(options) == {v.value for v in segment.values if v.active}
            assert world.ramp.state.field_by_remote(f"subaccount-{segment.segment_id}").name == (
                segment.description
            )
        projects = world.options("project", active=None)
        wanted = {p.project_id for p in data.projects if p.status == "Active" and p.visible_in_ap}
        assert set(projects) == wanted
        assert set(world.options("vat", active=None)) == {v.vat_id for v in data.vat_codes}
        usable = {s.number for s in data.suppliers if s.status not in ("Inactive", "OnHold")}
        assert set(world.vendors(active=None)) == usable


async def test_second_push_without_changes_writes_nothing(tmp_path: Path) -> None:
    """An unchanged Visma means an empty diff: no POST, PATCH or DELETE at all."""
    async with open_chart_world(tmp_path) as world:
        await _push(world)
        world.ramp.journal.clear()
        result = await _push(world)
        assert result.changes == []
        assert world.ramp_writes() == []


async def test_after_visma_changes_the_push_sends_only_the_diff(tmp_path: Path) -> None:
    """A new account, a deactivated cost centre, a renamed project and a new supplier: one
    POST, one DELETE, one PATCH and one POST; Ramp then matches Visma."""
    async with open_chart_world(tmp_path) as world:
        await _push(world)
        world.visma.add_account("6999", "Konsulenttjenester", "Expense")
        world.visma.set_segment_value(1, "200", active=False)
        world.visma.set_project("P1002", "Nytt navn på prosjektet")
        new = world.visma.add_supplier("Fjordkraft AS", currency="NOK", country="NO")
        world.ramp.journal.clear()

        await _push(world)

        assert sorted(world.write_summary()) == sorted(
            [
                ("POST", "accounts"),
                ("DELETE", "field-options"),
                ("PATCH", "field-options"),
                ("POST", "vendors"),
            ]
        )
        assert world.gl_accounts()["6999"].name == "Konsulenttjenester"
        assert "200" not in world.options("subaccount-1")
        assert world.options("subaccount-1", active=False)["200"].value
        assert world.options("project")["P1002"].value == "Nytt navn på prosjektet"
        assert world.vendors()[new["number"]].name == "Fjordkraft AS"


async def test_a_value_that_comes_back_is_reactivated(tmp_path: Path) -> None:
    """Deactivate then reactivate a cost centre: DELETE, then one PATCH with reactivate."""
    async with open_chart_world(tmp_path) as world:
        await _push(world)
        world.visma.set_segment_value(1, "300", active=False)
        await _push(world)
        world.visma.set_segment_value(1, "300", active=True)
        world.ramp.journal.clear()
        await _push(world)
        assert world.write_summary() == [("PATCH", "field-options")]
        assert world.options("subaccount-1")["300"].is_active


async def test_dry_run_reports_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    """A dry run lists every planned write but sends none and records nothing."""
    async with open_chart_world(tmp_path) as world:
        result = await _push(world, dry_run=True)
        planned = result.summary()["planned"]
        active = sum(a.active for a in world.dataset.accounts)
        assert planned["create gl_account"] == active
        assert planned["create field"] == 5  # two segments, project, project task, VAT
        assert result.connection_created
        assert world.ramp_writes() == []
        assert world.ramp.state.active_connection_id() is None
        connection = await world.connection()
        assert await world.runtime.store.list_chart_entries(connection.id) == []


def _big_chart(count: int) -> Dataset:
    accounts = tuple(SeedAccount(f"{40000 + i}", f"Account {i}", "Expense") for i in range(count))
    return dataclasses.replace(empty_dataset(), accounts=accounts, vat_codes=())


async def test_twelve_hundred_accounts_go_in_three_batches(tmp_path: Path) -> None:
    """1,200 accounts: three POSTs of 500, 500 and 200, and all of them land."""
    dataset = _big_chart(1200)
    async with open_chart_world(tmp_path, dataset=dataset, chart={"suppliers": False}) as world:
        result = await _push(world)
        posts = [e for e in world.ramp_writes() if e.path == f"{API}/accounts"]
        assert len(posts) == 3
        assert [size for kind, size in result.batches if kind == "gl_account"] == [500, 500, 200]
        assert len(world.gl_accounts()) == 1200


async def test_one_bad_item_is_isolated_and_the_rest_land(tmp_path: Path) -> None:
    """Someone creates account 40321 in Ramp mid-push: its batch is bisected, that one item is
    reported with Ramp's words, the other 1,199 land; the next push adopts it without a POST."""
    dataset = _big_chart(1200)
    async with open_chart_world(tmp_path, dataset=dataset, chart={"suppliers": False}) as world:
        state = world.ramp.state

        def intruder() -> None:
            new_gl_account(
                state,
                world.ramp.clock(),
                "40321",
                "Made by hand",
                connection_id=state.active_connection_id(),
            )

        # Right after the push listed Ramp's (empty) chart, before its first batch.
        world.ramp_hooks.after("GET", f"{API}/accounts", 1, intruder)
        result = await _push(world)

        assert [(f.kind, f.visma_id) for f in result.failures] == [("gl_account", "40321")]
        assert "40321" in result.failures[0].message
        assert sum(size for kind, size in result.batches if kind == "gl_account") == 1199
        assert len(world.gl_accounts()) == 1200
        status = await app_chart.chart_status(
            Actor.local_admin("tester"), world.runtime, world.name
        )
        assert status.counts["gl_account"]["failed"] == 1

        world.ramp.journal.clear()
        again = await _push(world)
        assert again.failures == []
        assert again.adopted == 1
        assert world.write_summary() == [("PATCH", "accounts")]  # its name differs from Visma's
        assert world.gl_accounts()["40321"].name == "Account 321"
        status = await app_chart.chart_status(
            Actor.local_admin("tester"), world.runtime, world.name
        )
        assert status.counts["gl_account"] == {"active": 1200, "removed": 0, "failed": 0}


async def test_vendor_made_by_the_bills_flow_is_adopted_not_reposted(tmp_path: Path) -> None:
    """A supplier the bills flow created (and pushed to Ramp itself) is adopted by the next
    chart push: no second POST, and later renames are PATCHed to it."""
    async with open_chart_world(tmp_path) as world:
        await _push(world)
        supplier = world.visma.add_supplier("Nye Leverandør AS", currency="NOK", country="NO")
        number = supplier["number"]
        connection = await world.connection()
        ctx = await world.runtime.context(connection)
        await ctx.ramp.upload_accounting_vendors(
            [AccountingVendorUpload(number, "Nye Leverandør AS")]
        )
        world.ramp.journal.clear()

        result = await _push(world)

        assert result.adopted == 1
        assert world.write_summary() == []
        assert len([v for v in world.vendors().values() if v.remote_id == number]) == 1
