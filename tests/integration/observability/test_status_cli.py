"""``ml-connector status`` and ``alerts`` from the command line, after a small sync."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from integration.observability.obs_kit import NAME, World, open_world
from ml_connector import metrics
from ml_connector.cli import app
from ml_connector.runtime.sync import sync_once


@pytest.fixture
def synced(tmp_path: Path) -> tuple[World, dict[str, str], dict[str, float]]:
    """The demo world after one sync, the environment a CLI needs for its store, and the
    counters the run left (closed again: the CLI opens its own runtime)."""

    async def run() -> tuple[World, dict[str, float]]:
        world = await open_world(tmp_path)
        try:
            await sync_once(world.runtime, NAME)
            counters = await world.runtime.store.counters()
            return world, {f"{n}|{lab}": v for (_, n, lab), v in counters.items()}
        finally:
            await world.runtime.close()

    world, counters = asyncio.run(run())
    assert world.settings.master_key is not None
    env = {
        "ML_CONNECTOR_DATABASE_URL": world.settings.database_url,
        "ML_CONNECTOR_MASTER_KEY": world.settings.master_key.get_secret_value(),
    }
    return world, env, counters


def _run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def test_status_reports_types_oldest_error_and_calls_per_bill(
    synced: tuple[World, dict[str, str], dict[str, float]],
) -> None:
    """``status --json`` counts per object type and state, names the last error, and gives
    vendor calls per synced bill per system as stored calls divided by bills synced."""
    _, env, counters = synced
    result = _run(env, "status", NAME, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert set(info["by_type"]) == {"bill", "purchase_order", "payment"}
    bills = info["by_type"]["bill"]
    assert bills["needs_attention"] == 6
    assert bills["succeeded"] == info["bills_synced"] > 0
    assert info["last_error_record"]["code"] in {"account_unknown", "period_closed"}
    assert info["oldest_pending_record"] is None
    visma_calls = sum(
        value
        for key, value in counters.items()
        if key.startswith(f"{metrics.CALLS}|") and "system=visma" in key and "=bill," in key
    )
    assert info["vendor_calls"]["visma"]["bill"] == visma_calls
    assert info["calls_per_bill"]["visma"] == round(visma_calls / info["bills_synced"], 2)
    assert info["calls_per_bill"]["ramp"] > 0
    table = _run(env, "status", NAME)
    assert "vendor calls per synced bill" in table.output
    assert "last error:" in table.output


def test_alerts_set_show_and_test_keep_the_secret_out_of_sight(
    synced: tuple[World, dict[str, str], dict[str, float]],
) -> None:
    """``alerts set`` reads the secret from the environment, ``show`` only says it is set, and
    ``test`` against an unreachable receiver fails with exit code 1."""
    _, env, _ = synced
    secret = "cli-alert-secret-value"
    env = {**env, "ALERT_SECRET": secret}
    url = "http://127.0.0.1:9/hooks/token-in-path"
    result = _run(
        env, "alerts", "set", NAME, "--webhook-url", url, "--secret-from-env", "ALERT_SECRET"
    )
    assert result.exit_code == 0, result.output
    shown = _run(env, "alerts", "show", NAME, "--json")
    info = json.loads(shown.output)
    assert info["webhook_secret_set"] is True
    assert info["webhook_url"] == "http://127.0.0.1:9/…"
    tested = _run(env, "alerts", "test", NAME)
    assert tested.exit_code == 1
    assert "FAILED" in tested.output
    for output in (result.output, shown.output, tested.output):
        assert secret not in output
        assert "token-in-path" not in output
    missing = _run(env, "alerts", "set", NAME, "--webhook-url", url, "--clear")
    assert missing.exit_code == 1
