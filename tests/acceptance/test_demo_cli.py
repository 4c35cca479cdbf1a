"""``ml-connector demo --json`` through the real command: every ready bill is accounted for."""

from __future__ import annotations

import pytest

from acceptance.acceptance_kit import DemoRun

pytestmark = pytest.mark.slow


def test_demo_accounts_for_every_ready_bill_without_duplicates(demo_run: DemoRun) -> None:
    """The demo exits 0; invoices plus needs-attention equal the ready bills; no duplicates."""
    result = demo_run.result
    assert result.returncode == 0, result.describe()
    summary = result.json()  # stdout is the JSON summary and nothing else

    assert summary["duplicates"] == 0
    assert summary["unaccounted"] == 0
    assert summary["ramp_bills_ready"] > 0
    assert summary["visma_invoices_created"] > 0
    assert (
        summary["visma_invoices_created"] + summary["needs_attention"]
        == summary["ramp_bills_ready"]
    )
