"""The benchmarks at a smoke size: each runs with one command and its result is correct.

Never a timing assertion: these only prove the benchmark still measures what it says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _bench(module: str, results: Path, *args: str, pg_url: str | None = None) -> str:
    """Run ``python -m bench.<module> *args`` with results in ``results``; its stdout."""
    env = {**os.environ, "ML_CONNECTOR_BENCH_RESULTS": str(results)}
    if pg_url is not None:
        env["ML_CONNECTOR_TEST_PG_URL"] = pg_url
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.postgres
def test_ingest_benchmark_smoke(postgres_url: str, tmp_path: Path) -> None:
    """``python -m bench.ingest --small``: every signed event acked and queued once, in every
    configuration, and each target compared with a named row."""
    out = _bench("ingest", tmp_path, "--small", pg_url=postgres_url)
    assert out.startswith("ingest: ")
    result = json.loads((tmp_path / "ingest_small.json").read_text())
    acked: dict[tuple[str, int], int] = defaultdict(int)
    queued: dict[tuple[str, int], int] = {}
    for run in result["runs"]:
        assert run["acks"] == run["requests"], run
        assert run["other_statuses"] == {}, run
        acked[run["backend"], run["receivers"]] += run["acks"]
        queued[run["backend"], run["receivers"]] = run["records_queued_all_rows"]
    assert set(acked) == {("sqlite", 1), ("sqlite", 2), ("postgresql", 1), ("postgresql", 2)}
    assert acked == queued
    assert {run["connections"] for run in result["runs"]} == {8, 32}
    assert [t["issue"] for t in result["targets"]] == [4, 8]
    assert all(isinstance(t["met"], bool) and t["compared_row"] for t in result["targets"])


@pytest.mark.slow
def test_latency_benchmark_smoke(tmp_path: Path) -> None:
    """``python -m bench.latency --small`` on SQLite: every approved bill became exactly one
    Visma invoice, through a real webhook, in both phases."""
    out = _bench("latency", tmp_path, "--small", "--backends", "sqlite")
    assert out.splitlines()[-1].startswith("latency: ")  # the sandboxes' process prints too
    result = json.loads((tmp_path / "latency_small.json").read_text())
    assert [(r["backend"], r["phase"]) for r in result["runs"]] == [
        ("sqlite", "steady"),
        ("sqlite", "burst"),
    ]
    for run in result["runs"]:
        assert run["bills"] == run["invoiced_once"] == 10, run
        assert (run["without_invoice"], run["invoiced_twice_or_more"]) == (0, 0), run
        assert 0 < run["to_inbox_p50_ms"] <= run["p50_ms"] <= run["max_ms"], run
