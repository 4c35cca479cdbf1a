"""Fixtures shared by every test layer: vendor specs and the PostgreSQL server.

Also the rule that keeps the suite from shrinking quietly: the tests that need a service
(PostgreSQL, the vendor specs, Chromium) skip with a reason on a laptop, but with ``CI=true``
such a skip fails the run.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Hypothesis checks properties, not speed: a loaded 2-core machine must make its examples
# slower, never red (its default 200 ms deadline failed healthy tests under load).
hypothesis.settings.register_profile("suite", deadline=None)
hypothesis.settings.load_profile("suite")
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

# pytest-xdist starts its workers with COLUMNS=80. Rich's consoles (the CLI's are made at import)
# fix their width from COLUMNS when they are created, which would pin every CLI test to 80
# columns whatever COLUMNS the test gives its run; a shell that sets no COLUMNS is what the
# CLI tests model, so the workers drop it.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)


def specs_dir() -> Path | None:
    """Where the vendors' OpenAPI specs are: $ML_CONNECTOR_SPECS_DIR or ../shared/specs."""
    configured = os.environ.get("ML_CONNECTOR_SPECS_DIR")
    candidate = Path(configured) if configured else REPO_ROOT.parent / "shared" / "specs"
    return candidate if (candidate / "ramp-developer-api.openapi.json").is_file() else None


def pg_url() -> str:
    """$ML_CONNECTOR_TEST_PG_URL or the local ``test`` database; under pytest-xdist each worker
    gets a database of its own beside it (``test_gw0``, …), so NOTIFY channels stay apart."""
    base = os.environ.get("ML_CONNECTOR_TEST_PG_URL", DEFAULT_PG_URL)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return base
    server, _, name = base.rpartition("/")
    return f"{server}/{name}_{worker}"


def _pg_reachable(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``, else the reason it does not."""
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a core dependency
        return "asyncpg is not installed"

    async def probe() -> None:
        dsn = url.replace("postgresql+asyncpg", "postgresql")
        if os.environ.get("PYTEST_XDIST_WORKER"):  # create this worker's database once
            base = os.environ.get("ML_CONNECTOR_TEST_PG_URL", DEFAULT_PG_URL)
            admin = await asyncpg.connect(
                base.replace("postgresql+asyncpg", "postgresql"), timeout=3
            )
            try:
                name = dsn.rpartition("/")[2]
                if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    await admin.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # a previous run made it
            finally:
                await admin.close()
        conn = await asyncpg.connect(dsn, timeout=3)
        await conn.close()

    failure: list[str] = []

    def run_probe() -> None:
        # A thread of its own: the fixture may be first requested inside a running event loop.
        try:
            asyncio.run(probe())
        except Exception as exc:
            failure.append(f"PostgreSQL not reachable at {url}: {type(exc).__name__}: {exc}")

    thread = threading.Thread(target=run_probe)
    thread.start()
    thread.join()
    return failure[0] if failure else None


_PG_SKIP_REASON: str | bool | None = False


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL URL; skips the test, with the reason, when the server is absent."""
    global _PG_SKIP_REASON
    if _PG_SKIP_REASON is False:
        _PG_SKIP_REASON = _pg_reachable(pg_url())
    if isinstance(_PG_SKIP_REASON, str):
        pytest.skip(_PG_SKIP_REASON)
    return pg_url()


@pytest.fixture(scope="session")
def shared_specs_dir() -> Path:
    """The vendor specs folder; skips the test, with the reason, when it is absent."""
    found = specs_dir()
    if found is None:
        pytest.skip(
            "vendor specs not found: set ML_CONNECTOR_SPECS_DIR or place shared/specs beside "
            "the repository"
        )
    return found


# --- with CI=true, a test that needs a service must run ------------------------------------------

# marker: what the test needs (the postgres marker is set by hand or by the store fixtures).
NEEDS_A_SERVICE = {
    "postgres": "the PostgreSQL server",
    "specs": "the vendor specs",
    "browser": "Chromium",
}
BROWSER_TESTS = REPO_ROOT / "tests" / "browser"


def in_ci() -> bool:
    """Whether this run is CI's (``CI=true``, as ``.ci/run`` exports)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what each test needs: PostgreSQL, the vendor specs, or Chromium."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "postgres_url" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if "shared_specs_dir" in fixtures:
            item.add_marker(pytest.mark.specs)
        if item.path.is_relative_to(BROWSER_TESTS):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI, a skip of a test that needs a service is a failure that says why it skipped."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if not report.skipped or hasattr(report, "wasxfail") or not in_ci():
        return
    needed = [what for marker, what in NEEDS_A_SERVICE.items() if item.get_closest_marker(marker)]
    if needed:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        report.outcome = "failed"
        report.longrepr = (
            f"CI=true, and this test needs {' and '.join(needed)} but was skipped: {reason}"
        )
