"""Nothing in Ramp that Visma lacks: the chart push retires values it did not create, and offers
each active project's tasks.

The Ramp side starts with history: the demo's chart as an earlier tool left it (the connector's
chart map knows none of it), plus account 6999, which bills were coded to but Visma never had.
"""

from __future__ import annotations

from pathlib import Path

from integration.chart.chart_kit import ChartWorld, open_chart_world
from ml_connector.app.mappings import set_rule
from ml_connector.app.principal import Actor
from ml_connector.flows.chart_plan import ChartAction, ChartPushResult
from ml_connector.mapping.table import MappingRule, Target
from ml_connector.runtime import chart as chart_runtime
from ml_connector.sandbox import seed
from ml_connector.sandbox._demo import UNKNOWN_ACCOUNT  # coded on demo bills; Visma lacks it
from ml_connector.sandbox.ramp.chart import new_gl_account, new_option
from ml_connector.sandbox.seed import demo_dataset


async def _push(world: ChartWorld, *, dry_run: bool = False) -> ChartPushResult:
    return await chart_runtime.push(world.runtime, world.name, dry_run=dry_run)


def _history(world: ChartWorld) -> None:
    """Two more values nobody pushed from Visma: account 6998 and cost centre 777."""
    state, now = world.ramp.state, world.ramp.clock()
    connection = state.active_connection_id()
    new_gl_account(state, now, "6998", "Gamle kurs", connection_id=connection)
    field = state.field_by_remote(seed.FIELD_COST_CENTRE)
    assert field is not None
    new_option(state, now, field.ramp_id, "777", "Tromsø (gammel)")


async def test_first_push_offers_each_active_projects_tasks(tmp_path: Path) -> None:
    """The task field holds ``project/task`` options named "project · task", only for Active,
    AP-visible tasks of Active, AP-visible projects."""
    async with open_chart_world(tmp_path) as world:
        await _push(world)
        tasks = world.options(seed.FIELD_TASK, active=None)
        assert {k: v.value for k, v in tasks.items()} == {
            "P1001/01": "P1001 · 01 Rådgivning",
            "P1002/01": "P1002 · 01 Analyse",
            "P1002/02": "P1002 · 02 Migrering",
            "P1003/01": "P1003 · 01 Prosessanalyse",
            "P1004/01": "P1004 · 01 Kartlegging",
            "P1004/02": "P1004 · 02 Leverandørvalg",
        }
        # A project that stops taking costs takes its tasks out of Ramp with it.
        world.visma.set_project("P1002", status="Completed")
        await _push(world)
        assert set(world.options(seed.FIELD_TASK)) == {
            "P1001/01",
            "P1003/01",
            "P1004/01",
            "P1004/02",
        }


async def test_dry_run_lists_what_would_be_retired_first_and_changes_nothing(
    tmp_path: Path,
) -> None:
    """6999 and 777 match nothing in Visma and no mapping row: listed first; 6998 has a row and
    stays. Nothing is written to Ramp or to the chart map."""
    async with open_chart_world(tmp_path, ramp_dataset=demo_dataset()) as world:
        _history(world)
        await set_rule(
            Actor.local_admin("tester"),
            world.runtime,
            world.name,
            MappingRule("gl_account", "6998", Target.ACCOUNT, "6800"),
        )
        world.ramp.journal.clear()

        result = await _push(world, dry_run=True)

        retired = [c for c in result.changes if c.action is ChartAction.RETIRE]
        assert [(c.kind, c.visma_id) for c in retired] == [
            ("gl_account", UNKNOWN_ACCOUNT),
            ("option", "777"),
        ]
        assert result.changes[: len(retired)] == retired
        assert world.ramp_writes() == []
        assert world.gl_accounts()[UNKNOWN_ACCOUNT].is_active
        connection = await world.connection()
        assert await world.runtime.store.list_chart_entries(connection.id) == []


async def test_push_retires_what_visma_lacks_and_keeps_mapped_values(tmp_path: Path) -> None:
    """The account is soft-deleted and the option hidden (still active, so bills coded to it
    keep their coding); the mapped account stays; a second push writes nothing; an account
    Visma gains later is reactivated."""
    async with open_chart_world(tmp_path, ramp_dataset=demo_dataset()) as world:
        _history(world)
        await set_rule(
            Actor.local_admin("tester"),
            world.runtime,
            world.name,
            MappingRule("gl_account", "6998", Target.ACCOUNT, "6800"),
        )

        result = await _push(world)

        assert result.failures == []
        assert result.applied["retire gl_account"] == 1
        assert result.applied["retire option"] == 1
        assert UNKNOWN_ACCOUNT in world.gl_accounts(active=False)
        assert "6998" in world.gl_accounts()
        hidden = world.options(seed.FIELD_COST_CENTRE)["777"]
        assert (hidden.is_active, hidden.visibility) == (True, "HIDDEN")
        retired_account = world.ramp.state.gl_by_remote(UNKNOWN_ACCOUNT)
        assert retired_account is not None
        coded = [
            bill
            for bill in world.ramp.state.bills.values()
            for line in bill.lines
            if any(sel.ramp_id == retired_account.ramp_id for sel in line.selections)
        ]
        assert coded  # the bills coded to the retired account keep their coding

        world.ramp.journal.clear()
        again = await _push(world)
        assert again.changes == []
        assert world.ramp_writes() == []

        world.visma.add_account(UNKNOWN_ACCOUNT, "Nå i Visma", "Expense")
        await _push(world)
        assert world.gl_accounts()[UNKNOWN_ACCOUNT].name == "Nå i Visma"
