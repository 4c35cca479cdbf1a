"""``connection set`` (mode and poll schedule, merged into settings) and ``audit prune``."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from ml_connector.app import connection_admin as admin
from ml_connector.app import inbox
from ml_connector.app.inbox import EventSource
from ml_connector.app.principal import Actor
from ml_connector.cli import app
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings


@dataclass
class Operator:
    settings: Settings
    env: dict[str, str]

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env, catch_exceptions=False)

    def stored(self) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            runtime = await Runtime.open(self.settings)
            try:
                return (await runtime.store.get_connection("acme")).settings.as_stored()
            finally:
                await runtime.close()

        return asyncio.run(read())


@pytest.fixture
def operator(tmp_path: Path) -> Operator:
    """A store with connection ``acme`` whose settings hold a mapping section."""
    key = Fernet.generate_key().decode()
    database = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    settings = Settings(
        database_url=database, master_key=SecretStr(key), master_key_file=tmp_path / "k"
    )

    async def add() -> None:
        runtime = await Runtime.open(settings)
        try:
            await admin.add_connection(
                Actor.local_admin("tests"),
                runtime,
                "acme",
                credentials={
                    "ramp_client_id": "r",
                    "ramp_client_secret": "r-secret",
                    "visma_client_id": "v",
                    "visma_client_secret": "v-secret",
                    "visma_tenant_id": "t",
                    "visma_company_id": "1",
                },
                ramp_base_url="http://ramp.invalid",
                visma_base_url="http://visma.invalid",
                visma_token_url="http://visma.invalid/connect/token",
                settings={"mapping": {"default_vat": "1"}},
            )
        finally:
            await runtime.close()

    asyncio.run(add())
    env = {
        "ML_CONNECTOR_DATABASE_URL": database,
        "ML_CONNECTOR_MASTER_KEY": key,
        "ML_CONNECTOR_LOG_JSON": "false",
        "COLUMNS": "300",
        "NO_COLOR": "1",
    }
    return Operator(settings, env)


def test_set_mode_and_cron_then_interval(operator: Operator) -> None:
    """Mode and cron are stored beside the mapping; a later interval replaces the cron."""
    result = operator.run(
        "connection", "set", "acme", "--mode", "polling", "--poll-cron", "*/15 * * * *"
    )
    assert result.exit_code == 0, result.output
    assert operator.stored() == {
        "mapping": {"default_vat": "1"},
        "mode": "polling",
        "poll_cron": "*/15 * * * *",
    }
    assert operator.run("connection", "set", "acme", "--poll-interval", "90").exit_code == 0
    assert operator.stored() == {
        "mapping": {"default_vat": "1"},
        "mode": "polling",
        "poll_interval_s": 90.0,
    }


def test_bad_cron_is_refused_and_nothing_changes(operator: Operator) -> None:
    """A malformed cron expression exits 1 and leaves the settings as they were."""
    result = operator.run(
        "connection", "set", "acme", "--mode", "both", "--poll-cron", "61 * * * *"
    )
    assert result.exit_code == 1
    assert "poll_cron" in result.output
    assert operator.stored() == {"mapping": {"default_vat": "1"}}


def test_audit_prune_refuses_a_non_positive_age(operator: Operator) -> None:
    """``audit prune --older-than 0`` exits 1; a positive age prunes (nothing here) and exits 0."""
    refused = operator.run("audit", "prune", "acme", "--older-than", "0")
    assert refused.exit_code == 1
    assert "--older-than" in refused.output
    done = operator.run("audit", "prune", "acme", "--older-than", "30")
    assert done.exit_code == 0, done.output
    assert "Pruned 0 audit entries of acme." in done.output


def test_purchase_orders_and_payments_switch_on_and_off(operator: Operator) -> None:
    """The optional flows are switched per connection; tolerance is kept as exact text."""
    result = operator.run(
        "connection", "set", "acme", "--purchase-orders", "--po-tolerance", "2.5",
        "--payments", "--cash-account", "1920",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert operator.stored() == {
        "mapping": {"default_vat": "1"},
        "purchase_orders": {"enabled": True, "tolerance_percent": "2.5"},
        "payments": {"enabled": True, "cash_account": "1920"},
    }
    assert operator.run("connection", "set", "acme", "--no-payments").exit_code == 0
    assert operator.stored()["payments"] == {"enabled": False, "cash_account": "1920"}


def test_payments_without_a_cash_account_are_refused(operator: Operator) -> None:
    """Payments need a cash account; the refusal names it and stores nothing."""
    result = operator.run("connection", "set", "acme", "--payments")
    assert result.exit_code == 1
    assert "--cash-account" in result.output
    refused = operator.run("connection", "set", "acme", "--po-tolerance", "lots")
    assert refused.exit_code == 1
    assert "not a number" in refused.output
    assert operator.stored() == {"mapping": {"default_vat": "1"}}


def test_supplier_form_labels_and_numbering(operator: Operator) -> None:
    """Form labels add up, numbering settings are stored, a bad value is refused unstored."""
    result = operator.run(
        "connection", "set", "acme", "--org-label", "Foretaksregister-ID",
        "--vat-label", "Avgiftsnr", "--supplier-numbering", "manual",
        "--supplier-number-prefix", "R",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    more = operator.run("connection", "set", "acme", "--org-label", "Org-ID")
    assert more.exit_code == 0, more.output
    assert operator.stored()["suppliers"] == {
        "org_labels": ["Foretaksregister-ID", "Org-ID"],
        "vat_labels": ["Avgiftsnr"],
        "numbering": "manual",
        "number_prefix": "R",
    }
    refused = operator.run("connection", "set", "acme", "--supplier-numbering", "sometimes")
    assert refused.exit_code == 1
    assert "suppliers.numbering" in refused.output
    cleared = operator.run("connection", "set", "acme", "--clear-form-labels")
    assert cleared.exit_code == 0, cleared.output
    assert "org_labels" not in operator.stored()["suppliers"]


def test_connection_and_event_views_are_the_cli_json(operator: Operator) -> None:
    """``connection list/show --json`` and ``events list/show`` print the models' as_dict()."""

    async def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        runtime = await Runtime.open(operator.settings)
        actor = Actor.local_admin("tests")
        try:
            connection = await runtime.store.get_connection("acme")
            await runtime.store.insert_event(
                connection.id, EventSource.RAMP, "evt-1", "bills.approved", "b-1", {"id": "b-1"}
            )
            described = [d.as_dict() for d in await admin.describe_connections(actor, runtime)]
            listed = [e.as_dict() for e in await inbox.list_events(actor, runtime, "acme")]
            shown = (await inbox.find_event(actor, runtime, "acme", "evt-1")).as_dict()
            return described, listed, shown
        finally:
            await runtime.close()

    described, listed, shown = asyncio.run(read())
    assert json.loads(operator.run("connection", "list", "--json").output) == described
    assert json.loads(operator.run("connection", "show", "acme", "--json").output) == described[0]
    assert described[0]["credentials"]["ramp_client_secret"] != "r-secret"
    assert json.loads(operator.run("events", "list", "acme", "--json").output) == listed
    assert json.loads(operator.run("events", "show", "acme", "evt-1").output) == shown
    assert "payload" not in listed[0]
    assert shown["payload"] == {"id": "b-1"}
    assert {k: v for k, v in shown.items() if k != "payload"} == listed[0]
