"""The scale benchmarks (fairness, memory, chaos) at smoke size: correctness only, never timing.

Each runs as the one command the README gives (``python -m bench.<name> --small``) with its JSON
going to a temporary folder, and must report a correct run: every small tenant's bill invoiced
once; the backfill saw the whole history and synced exactly the ready bills; the chaos run ended
with no duplicate and no loss, and every process exited 0 on SIGTERM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_small(name: str, results: Path, postgres_url: str | None = None) -> dict[str, Any]:
    """Run ``python -m bench.<name> --small``; its summary line and JSON, checked for shape."""
    env = {**os.environ, "ML_CONNECTOR_BENCH_RESULTS": str(results)}
    if postgres_url is not None:
        env["ML_CONNECTOR_TEST_PG_URL"] = postgres_url
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--small"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # generous: a loaded machine is slower, never red
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1].startswith(f"{name}: ")
    return dict(json.loads((results / f"{name}_small.json").read_text()))


@pytest.mark.slow
@pytest.mark.postgres
def test_fairness_benchmark_smoke(postgres_url: str, tmp_path: Path) -> None:
    """``bench.fairness --small``: each small tenant's bill is invoiced once, behind a backlog."""
    result = _run_small("fairness", tmp_path, postgres_url)
    assert result["correct"] is True, result["problems"]
    assert result["small_bills"] == result["tenants"] == 5
    assert result["backlog_done_meanwhile"] > 0


@pytest.mark.slow
def test_memory_benchmark_smoke(tmp_path: Path) -> None:
    """``bench.memory --small``: both backfills saw their whole history and synced the ready."""
    result = _run_small("memory", tmp_path)
    assert result["correct"] is True, [r["problems"] for r in result["runs"]]
    assert [(r["history_bills"], r["backfill"]["bills_seen"]) for r in result["runs"]] == [
        (300, 300),
        (1000, 1000),
    ]
    assert all(r["backfill"]["visma_invoices_created"] == 10 for r in result["runs"])
    assert all(r["peak_rss_mb"] > 0 for r in result["runs"])


@pytest.mark.slow
@pytest.mark.postgres
def test_chaos_benchmark_smoke(postgres_url: str, tmp_path: Path) -> None:
    """``bench.chaos --small``: SIGKILLs of receivers and workers lose and duplicate nothing."""
    result = _run_small("chaos", tmp_path, postgres_url)
    assert (result["duplicates"], result["losses"], result["unsynced_in_ramp"]) == (0, 0, 0)
    assert result["record_statuses"] == {"succeeded": 30}
    assert len(result["kills"]) == 2
    assert set(result["exit_codes"].values()) == {0}
