"""``python -m bench.quota --small``: the quota benchmark still measures what it says.

Correctness only, never timing: the sandboxes counted every window within the quota, nothing
was refused, invoices were created, and the report's figures add up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quota_benchmark_smoke(tmp_path: Path) -> None:
    """Two paced connections: no 429, no window over its limit, every synced bill invoiced."""
    env = {**os.environ, "ML_CONNECTOR_BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.quota", "--small"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("quota: ")
    result = json.loads((tmp_path / "quota_small.json").read_text())
    config = result["config"]
    assert result["http_429_total"] == 0
    assert result["invoices_created"] > 0
    assert len(result["companies"]) == config["connections"]
    for company in result["companies"]:
        assert len(company["windows"]) >= config["windows"]
        assert all(0 < w["used"] <= config["limit"] for w in company["windows"])
        assert all(w["refused"] == 0 for w in company["windows"])
        assert company["limiter"]["throttled"] == 0
        assert company["visma_calls"]["invoice_post"] == company["bills_synced"]
    # Supplier matching reads the per-connection index, not Visma lookup by lookup.
    # Compared as exact counts: total calls at most 5 % over the minimum.
    total_calls = sum(result["visma_calls"].values())
    assert 0 < total_calls * 100 <= 105 * result["minimum_calls"]
    index = result["supplier_index"]
    assert index["full_reads"] >= config["connections"]
    assert index["other_lookups"] == 0
    assert index["suppliers_created"] == result["visma_calls"]["supplier_post"]
    assert 0 < result["calls_used"] <= result["calls_capacity"]
