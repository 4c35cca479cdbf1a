"""``python -m bench.e2e_throughput --small``: the end-to-end benchmark still measures what it says.

Correctness only, never timing: every ready bill became one invoice, nothing needed attention,
and the report's per-bill figures are there and add up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench.e2e_throughput import per_bill

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_e2e_benchmark_smoke(tmp_path: Path) -> None:
    """A small SQLite run: all bills invoiced once, CPU and call counts reported per bill."""
    env = {**os.environ, "ML_CONNECTOR_BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.e2e_throughput", "--small", "--backends", "sqlite"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The last line is the summary (the sandboxes' child process prints before it).
    assert done.stdout.strip().splitlines()[-1].startswith("e2e_throughput[sqlite]: ")
    result = json.loads((tmp_path / "e2e_throughput_small.json").read_text())
    [run] = result["runs"]
    assert run["backend"] == "sqlite"
    assert run["bills_ready"] == result["bills"] > 0
    assert run["invoices_created"] == run["bills_ready"]
    assert run["needs_attention"] == 0
    assert run["connector_cpu_us"] > 0
    # The per-bill figures are the exact counts divided and rounded once (never rounded twice).
    bills = run["invoices_created"]
    assert run["cpu_ms_per_bill"] == per_bill(run["connector_cpu_us"] / 1000, bills, 2)
    assert run["visma_calls_per_bill"] == per_bill(run["visma_calls"], bills)
    assert run["store_transactions_per_bill"] == per_bill(run["store_transactions"], bills, 2)
    # One invoice POST per bill at least, and the store is reached in a few transactions.
    assert run["visma_calls"] >= bills
    assert 0 < run["store_transactions"] <= run["store_statements"]
