"""Store fixtures shared by suites that run on both backends: ``backend`` and ``scratch``.

A conftest (or a module) imports them by name; every test using ``scratch`` (or
``world_store``) then runs on SQLite and on PostgreSQL (skipped with a visible reason when no
server answers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ml_connector.store.testing import Backend, ScratchDatabase, scratch_database

BACKENDS = [pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> tuple[Backend, str | None]:
    """Each backend with its URL; resolved outside the event loop (postgres_url probes with one)."""
    if request.param == "postgresql":
        return "postgresql", request.getfixturevalue("postgres_url")
    return "sqlite", None


@pytest.fixture
def world_store(backend: tuple[Backend, str | None]) -> dict[str, Any]:
    """``open_world`` keywords for the backend under test (a module imports it to run its
    worlds on both backends)."""
    return {"backend": backend[0], "postgres_url": backend[1]}


@pytest.fixture
async def scratch(
    backend: tuple[Backend, str | None], tmp_path: Path
) -> AsyncIterator[ScratchDatabase]:
    """A migrated scratch database on the backend under test."""
    async with scratch_database(backend[0], directory=tmp_path, postgres_url=backend[1]) as db:
        yield db
