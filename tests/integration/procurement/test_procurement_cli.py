"""``ml-connector sync NAME --only purchase-orders`` as an operator runs it: separate processes.

Both sandboxes run as their own processes with the demo company (twelve Ramp purchase orders);
the CLI runs twice against an SQLite file. The first run writes one Visma order per Ramp order
and counts them by object type; the second writes nothing.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from acceptance.acceptance_kit import CliWorkspace, SandboxPair

pytestmark = pytest.mark.slow

NOTE_PREFIX = "ramp-po:"


def test_only_purchase_orders_through_the_cli(tmp_path: Path) -> None:
    """Every demo order becomes one Visma order; bills are left alone; a rerun writes nothing."""
    (tmp_path / "sandboxes").mkdir()
    pair = SandboxPair.start(tmp_path / "sandboxes")
    try:
        cli = CliWorkspace(tmp_path / "operator")
        cli.folder.mkdir()
        added = cli.add_connection("demo", pair)
        assert added.returncode == 0, added.describe()
        ramp_orders = pair.ramp_state()["purchase_orders"]

        first = cli.run("sync", "demo", "--only", "purchase-orders", "--json")

        assert first.returncode == 0, first.describe()
        summary = first.json()
        assert summary["only"] == ["purchase-orders"]
        counts = summary["by_type"]["purchase_order"]
        assert counts["queued"] == counts["created"] == len(ramp_orders) > 0
        assert counts["needs_attention"] == 0
        assert "bill" not in summary["by_type"]
        visma = pair.visma_state()
        refs = Counter(
            str(o.get("note")).split(NOTE_PREFIX, 1)[1]
            for o in visma["purchase_orders"]
            if NOTE_PREFIX in str(o.get("note"))
        )
        assert set(refs) == {o["id"] for o in ramp_orders}
        assert set(refs.values()) == {1}
        assert visma["invoices"] == []

        mark = pair.journal_mark(pair.visma)
        second = cli.run("sync", "demo", "--only", "purchase-orders")
        assert second.returncode == 0, second.describe()
        assert "records by object type" not in second.stdout  # nothing was queued
        writes = [e for e in pair.journal(pair.visma, after=mark) if e["method"] != "GET"]
        assert [e for e in writes if e["path"] != "/connect/token"] == []
    finally:
        pair.stop()


def test_only_refuses_an_unknown_part(tmp_path: Path) -> None:
    """``--only invoices`` exits 1 and names the parts that exist."""
    cli = CliWorkspace(tmp_path)
    result = cli.run("sync", "nothing", "--only", "invoices")
    assert result.returncode == 1
    assert "purchase-orders, bills, payments" in result.output
