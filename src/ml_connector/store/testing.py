"""Throw-away databases for tests: a fresh SQLite file, or a fresh PostgreSQL schema.

```python
async with scratch_database("sqlite", directory=tmp_path) as scratch:
    store = scratch.store  # migrated and ready
    other = scratch.open_store()  # a second engine on the same database, as another process
```

A PostgreSQL scratch database is a schema with a random name inside the given database; it is
dropped (with everything in it) on exit, so test runs never see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.ext.asyncio import create_async_engine

from ml_connector.store.engine import Clock, normalise_url, utcnow
from ml_connector.store.facade import Store

__all__ = ["Backend", "ScratchDatabase", "scratch_database"]

Backend = Literal["sqlite", "postgresql"]
T = TypeVar("T")


@dataclass
class ScratchDatabase:
    """One scratch database and the stores opened on it (closed together on exit)."""

    backend: Backend
    url: str
    pg_schema: str | None
    clock: Clock
    store: Store
    _opened: list[Store] = field(default_factory=list)

    def open_store(self, *, clock: Clock | None = None) -> Store:
        """Another store (its own engine and pool) on the same database; it is not migrated."""
        store = Store.open(self.url, pg_schema=self.pg_schema, clock=clock or self.clock)
        self._opened.append(store)
        return store

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run raw SQL (to tamper with rows, say) in its own transaction; returns rows matched."""
        async with self.store._db.engine.begin() as conn:
            result = await conn.execute(text(sql), dict(params or {}))
            return result.rowcount

    async def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row of a raw query (outside any store method)."""
        async with self.store._db.engine.connect() as conn:
            return (await conn.execute(text(sql), dict(params or {}))).scalar()

    async def run_sync(self, work: Callable[[SyncConnection], T]) -> T:
        """Run blocking SQLAlchemy code (say, Alembic's schema comparison) on one connection."""
        return await self.store._db.run_sync_write(work)

    async def _close_all(self) -> None:
        for store in self._opened:
            await store.close()


@asynccontextmanager
async def scratch_database(
    backend: Backend,
    *,
    directory: Path | None = None,
    postgres_url: str | None = None,
    clock: Clock = utcnow,
    migrate: bool = True,
) -> AsyncIterator[ScratchDatabase]:
    """A scratch database, migrated unless ``migrate`` is false.

    SQLite: a new file in ``directory``. PostgreSQL: a new schema in the database at
    ``postgres_url``, dropped on exit.
    """
    if backend == "sqlite":
        if directory is None:
            raise ValueError("a SQLite scratch database needs a directory")
        url, pg_schema = f"sqlite+aiosqlite:///{directory / 'scratch.db'}", None
    else:
        if postgres_url is None:
            raise ValueError("a PostgreSQL scratch database needs postgres_url")
        url, pg_schema = normalise_url(postgres_url), f"scratch_{uuid.uuid4().hex[:16]}"
    store = Store.open(url, pg_schema=pg_schema, clock=clock)
    scratch = ScratchDatabase(backend, url, pg_schema, clock, store, [store])
    try:
        if migrate:
            await store.migrate()
        yield scratch
    finally:
        await scratch._close_all()
        if pg_schema is not None:
            await _drop_schema(url, pg_schema)


async def _drop_schema(url: str, schema: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()
