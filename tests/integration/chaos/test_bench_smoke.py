"""The benchmarks at a smoke size: each runs with one command and its result is correct.

Never a timing assertion: these only prove the benchmark still measures what it says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.postgres
def test_ingest_benchmark_smoke(postgres_url: str, tmp_path: Path) -> None:
    """``python -m bench.ingest --small``: every signed event acked and queued once."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--small"],
        cwd=ROOT,
        env={
            **os.environ,
            "ML_CONNECTOR_TEST_PG_URL": postgres_url,
            "ML_CONNECTOR_BENCH_RESULTS": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ingest: ")
    result = json.loads((tmp_path / "ingest_small.json").read_text())
    assert {(r["backend"], r["receivers"]) for r in result["runs"]} == {
        ("sqlite", 1), ("sqlite", 2), ("postgresql", 1), ("postgresql", 2)
    }  # fmt: skip
    for run in result["runs"]:
        assert run["acks"] == run["requests"] == run["records_queued"], run
        assert run["other_statuses"] == {}, run
