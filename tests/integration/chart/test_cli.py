"""The chart, mappings and supplier-match commands, run as an operator runs them.

The sandboxes serve real HTTP on loopback ports (from a background thread); each command runs
through the Typer app with only environment variables for configuration, as in a shell.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.cli import app
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.ramp.chart import new_gl_account
from ml_connector.sandbox.seed import demo_dataset, empty_dataset
from ml_connector.sandbox.serve import start_server
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.settings import Settings

CSV = (
    "source,value,target,segment,visma_value,priority,fallback\n"
    "ramp_category,Travel,account,,7140,0,false\n"
    "@default,*,project,,X,0,false\n"
    "@entity,ent-1,segment,1,200,0,false\n"
)


@dataclass
class Served:
    ramp: RampSandbox
    visma: VismaSandbox
    env: dict[str, str]
    folder: Path

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env, catch_exceptions=False)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """Both sandboxes over HTTP and an operator's store with connection ``acme``."""
    ramp = RampSandbox("ramp-cli", "ramp-cli-secret-1", dataset=empty_dataset(), rate_limit=10_000)
    visma = VismaSandbox(
        "visma-cli", "visma-cli-secret-2", "tenant-cli", "4711", dataset=demo_dataset()
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers = [
        asyncio.run_coroutine_threadsafe(start_server(box.app), loop).result(30)
        for box in (ramp, visma)
    ]
    key = Fernet.generate_key().decode()
    database = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    env = {
        "ML_CONNECTOR_DATABASE_URL": database,
        "ML_CONNECTOR_MASTER_KEY": key,
        "ML_CONNECTOR_LOG_JSON": "false",
        "COLUMNS": "300",
        "NO_COLOR": "1",
    }

    async def add() -> None:
        runtime = await Runtime.open(
            Settings(
                database_url=database, master_key=SecretStr(key), master_key_file=tmp_path / "k"
            )
        )
        try:
            await admin.add_connection(
                Actor.local_admin("tests"),
                runtime,
                "acme",
                credentials={
                    "ramp_client_id": "ramp-cli",
                    "ramp_client_secret": "ramp-cli-secret-1",
                    "visma_client_id": "visma-cli",
                    "visma_client_secret": "visma-cli-secret-2",
                    "visma_tenant_id": "tenant-cli",
                    "visma_company_id": "4711",
                },
                ramp_base_url=servers[0].url,
                visma_base_url=servers[1].url,
                visma_token_url=f"{servers[1].url}/connect/token",
            )
        finally:
            await runtime.close()

    asyncio.run(add())
    try:
        yield Served(ramp, visma, env, tmp_path)
    finally:
        for server in servers:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _writes(box: RampSandbox | VismaSandbox) -> list[str]:
    return [
        f"{e.method} {e.path}"
        for e in box.journal.entries()
        if e.method in ("POST", "PATCH", "PUT", "DELETE") and "token" not in e.path
    ]


def test_chart_push_dry_run_then_push_then_status(served: Served) -> None:
    """--dry-run prints the diff and writes nothing; push writes it; status counts it."""
    dry = served.run("chart", "push", "acme", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    active = sum(a.active for a in demo_dataset().accounts)
    assert planned["planned"]["create gl_account"] == active
    assert _writes(served.ramp) == []

    done = served.run("chart", "push", "acme")
    assert done.exit_code == 0, done.output
    assert len(served.ramp.state.visible_gl_accounts()) == active

    status = served.run("chart", "status", "acme", "--json")
    assert status.exit_code == 0, status.output
    counts = json.loads(status.stdout)["counts"]
    assert counts["gl_account"]["active"] == active


def test_dry_run_lists_the_values_it_would_retire_first(served: Served) -> None:
    """After a push, an account someone else left in Ramp (6998) shows up at the top of the next
    dry run as a value to retire, in text and in JSON; a mapping row set through the CLI keeps
    it; nothing is written until the push runs."""
    assert served.run("chart", "push", "acme").exit_code == 0
    state = served.ramp.state
    new_gl_account(state, served.ramp.clock(), "6998", "Gamle kurs",
                   connection_id=state.active_connection_id())  # fmt: skip
    served.ramp.journal.clear()

    text = served.run("chart", "push", "acme", "--dry-run")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    retire = next(i for i, line in enumerate(lines) if "gl_account 6998 (Gamle kurs)" in line)
    assert "would retire" in lines[retire - 1]
    assert retire < next(i for i, line in enumerate(lines) if "change" in line and "count" in line)
    as_json = json.loads(served.run("chart", "push", "acme", "--dry-run", "--json").stdout)
    assert as_json["changes"][0] == {
        "action": "retire",
        "kind": "gl_account",
        "visma_id": "6998",
        "name": "Gamle kurs",
    }
    assert _writes(served.ramp) == []

    kept = served.run("mappings", "set", "acme", "gl_account", "6998", "account", "6800")
    assert kept.exit_code == 0, kept.output
    after = json.loads(served.run("chart", "push", "acme", "--dry-run", "--json").stdout)
    assert [c for c in after["changes"] if c["action"] == "retire"] == []


def test_mappings_import_export_round_trip_and_line_errors(served: Served) -> None:
    """Import a CSV, export the same text (cells starting with @ quoted, so a spreadsheet
    shows them as text); a malformed file names its line and column."""
    good = served.folder / "map.csv"
    good.write_text(CSV, encoding="utf-8")
    imported = served.run("mappings", "import", "acme", str(good))
    assert imported.exit_code == 0, imported.output
    assert "version 1" in imported.stdout
    exported = served.run("mappings", "export", "acme")
    assert exported.exit_code == 0, exported.output
    assert exported.stdout == CSV.replace("\n@", "\n'@")

    bad = served.folder / "bad.csv"
    bad.write_text(
        CSV.replace("@default,*,project,,X,0", "@default,*,project,,X,high"), encoding="utf-8"
    )
    refused = served.run("mappings", "import", "acme", str(bad))
    assert refused.exit_code == 1
    assert "line 3, column 6 (priority): 'high' is not a whole number" in refused.output

    unknown = served.run("mappings", "set", "acme", "ramp_category", "Meals", "account", "9999")
    assert unknown.exit_code == 1
    assert "account 9999 does not exist in Visma" in unknown.output
    shown = served.run("mappings", "show", "acme", "--json")
    assert json.loads(shown.stdout)["version"] == 1


def test_suppliers_match_dry_run_proposes_and_writes_nothing(served: Served) -> None:
    """Each vendor gets a proposed link or creation; neither side receives a write."""
    served.ramp.reset(demo_dataset())
    served.ramp.journal.clear()
    served.visma.journal.clear()
    result = served.run("suppliers", "match", "acme", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    proposals = json.loads(result.stdout)
    actions = {p["action"] for p in proposals}
    assert actions <= {"link", "create", "linked"}
    assert "link" in actions
    assert "create" in actions
    telenor = next(p for p in proposals if p["vendor_name"] == "Telenor Norge AS")
    assert (telenor["supplier"], telenor["matched_by"]) == ("50001", "org_number")
    assert _writes(served.ramp) == []
    assert _writes(served.visma) == []
