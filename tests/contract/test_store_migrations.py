"""Store contract, migrations: idempotent, race-safe, and equal to the models, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from ml_connector.store import Store
from ml_connector.store.migrations import HEAD, alembic_config
from ml_connector.store.tables import Base
from ml_connector.store.testing import Backend, ScratchDatabase, scratch_database

BACKENDS = [pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> tuple[Backend, str | None]:
    """Each backend with its URL; resolved outside the event loop (postgres_url probes with one)."""
    if request.param == "postgresql":
        return "postgresql", request.getfixturevalue("postgres_url")
    return "sqlite", None


@pytest.fixture
async def fresh(
    backend: tuple[Backend, str | None], tmp_path: Path
) -> AsyncIterator[ScratchDatabase]:
    """An empty scratch database (not migrated) on the backend under test."""
    async with scratch_database(
        backend[0], directory=tmp_path, postgres_url=backend[1], migrate=False
    ) as db:
        yield db


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrate_twice_is_a_no_op(fresh: ScratchDatabase) -> None:
    """A second and third migrate change nothing and keep the data."""
    store = fresh.store
    assert await store.schema_revision() is None
    await store.migrate()
    assert await store.schema_revision() == HEAD
    connection = await store.create_connection(
        "acme",
        ramp_base_url="r",
        visma_base_url="v",
        visma_token_url="t",
        credentials_ciphertext=b"x",
    )
    await store.migrate()
    await store.migrate()
    assert await store.schema_revision() == HEAD
    assert await store.list_connections() == [connection]


async def test_migrated_schema_matches_the_models(fresh: ScratchDatabase) -> None:
    """The migrations build exactly the schema tables.py declares (no autogenerate diff)."""
    await fresh.store.migrate()
    assert await fresh.run_sync(_schema_diff) == []


async def test_concurrent_migrations_from_several_processes(fresh: ScratchDatabase) -> None:
    """Three engines migrating a fresh database at once all succeed, and it ends at head."""
    stores: list[Store] = [fresh.store, fresh.open_store(), fresh.open_store()]
    await asyncio.gather(*(store.migrate() for store in stores))
    assert {await store.schema_revision() for store in stores} == {HEAD}
    assert await fresh.store.list_connections() == []


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    """After migrate, a SQLite database journals in WAL mode with foreign keys enforced."""
    async with scratch_database("sqlite", directory=tmp_path, migrate=False) as fresh:
        assert await fresh.scalar("PRAGMA journal_mode") != "wal"
        await fresh.store.migrate()
        assert await fresh.scalar("PRAGMA journal_mode") == "wal"
        assert await fresh.scalar("PRAGMA foreign_keys") == 1


def test_head_constant_names_the_newest_revision() -> None:
    """migrations.HEAD is the single head of the revision files."""
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD]
