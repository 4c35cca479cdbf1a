"""With ``CI=true`` a skipped PostgreSQL, vendor-spec or browser test fails the run.

Each case runs one such test in a child pytest with its service made unreachable: on a laptop
it skips with the reason; with ``CI=true`` the same skip is a failure naming that reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bench._ports import free_port

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "postgres": (
        "tests/contract/test_store_work.py::test_upsert_is_idempotent[postgresql]",
        {"ML_CONNECTOR_TEST_PG_URL": "postgresql+asyncpg://postgres@127.0.0.1:{port}/test"},
        "PostgreSQL not reachable",
    ),
    "specs": (
        "tests/contract/test_client_requests.py::test_every_ramp_request_follows_the_ramp_spec",
        {"ML_CONNECTOR_SPECS_DIR": "{tmp}/no-specs"},
        "vendor specs not found",
    ),
    "browser": (
        "tests/browser/test_browser_dashboard.py::test_login_then_overview_matches_the_store",
        {"ML_CONNECTOR_CHROMIUM": "{tmp}/no-chromium"},
        "no Chromium at",
    ),
}


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    tests = [test for test, _, _ in CASES.values()]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_service_skips_pass_on_a_laptop_and_fail_in_ci(tmp_path: Path) -> None:
    """Unreachable services: skipped (exit 0) without CI, failed (exit 1) with CI=true."""
    values = {"port": str(free_port()), "tmp": str(tmp_path)}
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PYTEST_XDIST_WORKER"}}
    for _, unreachable, _ in CASES.values():
        env |= {name: value.format(**values) for name, value in unreachable.items()}
    laptop = _run(env)
    assert laptop.returncode == 0, laptop.stdout[-3000:]
    assert re.search(r"\b3 skipped\b", laptop.stdout), laptop.stdout[-3000:]
    ci = _run({**env, "CI": "true"})
    assert ci.returncode == 1, ci.stdout[-3000:]
    # A skip in a fixture becomes an error at setup, one in the test body a failure.
    lines = [line for line in ci.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    for test, _, reason in CASES.values():
        [line] = [line for line in lines if line.split()[1] == test]
        assert "CI=true, and this test needs" in line
        assert reason in line
    for _, _, reason in CASES.values():
        assert reason in laptop.stdout
