"""Fixtures shared by every test layer: vendor specs and the PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def specs_dir() -> Path | None:
    """Where the vendors' OpenAPI specs are: $ML_CONNECTOR_SPECS_DIR or ../shared/specs."""
    configured = os.environ.get("ML_CONNECTOR_SPECS_DIR")
    candidate = Path(configured) if configured else REPO_ROOT.parent / "shared" / "specs"
    return candidate if (candidate / "ramp-developer-api.openapi.json").is_file() else None


def pg_url() -> str:
    return os.environ.get("ML_CONNECTOR_TEST_PG_URL", DEFAULT_PG_URL)


def _pg_reachable(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``, else the reason it does not."""
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a core dependency
        return "asyncpg is not installed"

    async def probe() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"), timeout=3)
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
