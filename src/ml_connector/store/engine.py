"""Engines, transactions and error translation: how the store reaches its database.

Two backends serve one interface:

- **SQLite** (``sqlite+aiosqlite:///file.db``), the embedded default. The file journals in WAL
  mode (switched on by ``enable_wal``, which ``Store.migrate`` calls); every connection has a
  busy timeout and foreign keys on. The database file is created owner-only (mode 0600) before
  SQLite opens it, and SQLite gives its ``-wal``, ``-shm`` and ``-journal`` files the mode of
  the database file; a file found readable by others is tightened to 0600 on connect.
  In-memory databases are refused: concurrent sessions would share one connection and one
  transaction. SQLAlchemy, not the sqlite3 module, emits
  BEGIN: read transactions use a plain (deferred) BEGIN, write transactions ``BEGIN IMMEDIATE``,
  so a writer takes the database's write lock up front (waiting up to the busy timeout) and
  never fails half way when upgrading from a read lock. One write transaction at a time is what
  makes claims atomic on SQLite.
- **PostgreSQL** (``postgresql+asyncpg://…``), for many processes sharing one database. Claims
  use row locks (``FOR UPDATE SKIP LOCKED``). ``pg_schema`` pins the ``search_path``, so a
  deployment (or a test) can live in its own schema.

Every SQLAlchemy, driver or socket error leaving a transaction becomes StoreError. Statement
parameters are hidden from error messages: they may carry credentials ciphertext or payloads.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

import structlog
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from ml_connector.errors import ConfigurationError, StoreError
from ml_connector.store.tables import Base, as_utc

__all__ = [
    "Clock",
    "Database",
    "Dialect",
    "Repository",
    "describe_error",
    "json_default",
    "json_dumps",
    "normalise_url",
    "restrict_sqlite_files",
    "utcnow",
]

log = structlog.get_logger(__name__)

Dialect = Literal["sqlite", "postgresql"]
Clock = Callable[[], datetime]
DbInsert = postgresql.Insert | sqlite.Insert
T = TypeVar("T")

_WRITE_OPTION = "ml_connector_write"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def utcnow() -> datetime:
    """The current time, aware, in UTC: the default clock."""
    return datetime.now(UTC)


def json_default(value: object) -> str:
    """How the store writes values JSON lacks; anything else is refused with TypeError."""
    # Money travels as Decimal and must keep every digit, so it is stored as a string.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


def json_dumps(value: Any) -> str:
    """JSON for the store's JSON columns: Decimals and dates become strings, never floats."""
    return json.dumps(value, default=json_default)


def normalise_url(url: str) -> str:
    """``url`` with its async driver: ``sqlite://`` becomes ``sqlite+aiosqlite://`` and so on.

    Raises ConfigurationError for a database other than SQLite or PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            "database_url is not a valid SQLAlchemy URL (expected sqlite+aiosqlite:///file.db "
            "or postgresql+asyncpg://user@host/db)"
        ) from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigurationError(
            f"unsupported database {parsed.drivername!r}: use sqlite+aiosqlite:///file.db or "
            "postgresql+asyncpg://user@host/db"
        )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.database in (None, "", ":memory:") or "memory" in str(parsed.query)


_PRIVATE = 0o600
_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def _create_private(url: str) -> None:
    """Create the SQLite file of ``url`` empty with mode 0600 unless it exists.

    SQLite would create it with 0644 (less the umask) and copy that mode to its ``-wal`` and
    ``-shm`` files. An empty file is a valid empty database. ``file:`` URIs are left to SQLite
    (and tightened on connect).
    """
    parsed = make_url(url)
    if parsed.query.get("uri") or not parsed.database or parsed.database.startswith("file:"):
        return
    try:
        fd = os.open(parsed.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE)
    except (FileExistsError, FileNotFoundError, NotADirectoryError):
        return  # there already, or a folder is missing: SQLite reports that clearly
    try:
        os.fchmod(fd, _PRIVATE)  # exactly 0600, whatever the umask
    finally:
        os.close(fd)


def restrict_sqlite_files(database: str) -> None:
    """Tighten the database file and its side files to owner-only where others may read them."""
    for suffix in _SQLITE_SIDE_FILES:
        path = Path(database + suffix)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            try:
                os.chmod(path, mode & 0o700)
            except OSError as exc:
                log.warning(
                    "database file readable by others", path=str(path), error=type(exc).__name__
                )


def describe_error(exc: BaseException) -> str:
    """A short, parameter-free description of a database error, safe for logs and messages."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first_line = str(original).strip().splitlines()[0] if str(original).strip() else ""
    # SQLAlchemy prefixes adapted driver errors with the driver's class in angle brackets.
    first_line = re.sub(r"^<class '[\w.]+'>:\s*", "", first_line)
    if isinstance(exc, SQLAlchemyError) and not isinstance(exc, DBAPIError):
        first_line = first_line.split(" [SQL:")[0]
    name = type(original).__name__
    return f"{name}: {first_line}" if first_line else name


class Database:
    """One async engine plus the transaction discipline described in the module docstring."""

    def __init__(
        self,
        engine: AsyncEngine,
        dialect: Dialect,
        pg_schema: str | None,
        *,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.engine = engine
        self.dialect: Dialect = dialect
        self.pg_schema = pg_schema
        self._busy_timeout_s = busy_timeout_s
        self._writer = engine.execution_options(**{_WRITE_OPTION: True})
        self._snapshot = (
            engine.execution_options(isolation_level="REPEATABLE READ")
            if dialect == "postgresql"
            else engine
        )

    @classmethod
    def open(
        cls,
        url: str,
        *,
        pg_schema: str | None = None,
        busy_timeout_s: float = 30.0,
        pool_size: int = 5,
        echo: bool = False,
    ) -> Database:
        """Create the engine for ``url`` (no connection is made yet)."""
        url = normalise_url(url)
        dialect: Dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        if dialect == "sqlite" and _in_memory(url):
            raise ConfigurationError(
                "an in-memory SQLite database cannot serve concurrent work; give a file path, "
                "e.g. sqlite+aiosqlite:///ml-connector.db"
            )
        if pg_schema is not None and (dialect != "postgresql" or not _SCHEMA_NAME.match(pg_schema)):
            raise ConfigurationError(
                "pg_schema must be a lower-case SQL identifier and needs a PostgreSQL database"
            )
        options: dict[str, Any] = {
            "hide_parameters": True,
            "echo": echo,
            "json_serializer": json_dumps,
        }
        if dialect == "sqlite":
            # One connection per engine: SQLite has one writer anyway, and waiting for the
            # connection in asyncio is far cheaper than writers spinning in SQLite's busy handler.
            options["pool_size"] = 1
            options["max_overflow"] = 0
            options["pool_timeout"] = busy_timeout_s
        if dialect == "postgresql":
            options["pool_size"] = pool_size
            options["pool_pre_ping"] = True
            if pg_schema is not None:
                options["connect_args"] = {"server_settings": {"search_path": pg_schema}}
        if dialect == "sqlite":
            _create_private(url)
        engine = create_async_engine(url, **options)
        if dialect == "sqlite":
            _install_sqlite_discipline(engine, busy_timeout_ms=int(busy_timeout_s * 1000))
        return cls(engine, dialect, pg_schema, busy_timeout_s=busy_timeout_s)

    @asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[AsyncSession]:
        """A session in a read transaction; it never writes.

        ``snapshot`` makes every query see the same committed state (REPEATABLE READ on
        PostgreSQL; a SQLite read transaction always does).
        """
        bind = self._snapshot if snapshot else self.engine
        async with self._session(bind) as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed when the block ends without error."""
        async with self._session(self._writer) as session:
            yield session

    @asynccontextmanager
    async def _session(self, bind: AsyncEngine) -> AsyncIterator[AsyncSession]:
        try:
            async with AsyncSession(bind, expire_on_commit=False) as session, session.begin():
                yield session
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"database error: {describe_error(exc)}") from exc

    async def run_sync_write(self, work: Callable[[SyncConnection], T]) -> T:
        """Run blocking SQLAlchemy code (Alembic) on one connection in a write transaction."""
        try:
            async with self._writer.begin() as conn:
                return await conn.run_sync(work)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"database error: {describe_error(exc)}") from exc

    async def enable_wal(self) -> None:
        """Switch a SQLite database file to WAL journaling (a no-op once it is, and on PostgreSQL).

        SQLite answers "database is locked" at once, without waiting, when another connection
        is busy while the mode changes, so this retries until the busy timeout runs out.
        """
        if self.dialect != "sqlite":
            return
        deadline = time.monotonic() + self._busy_timeout_s
        while True:
            try:
                async with self.engine.connect() as conn:
                    # Straight to the driver: SQLAlchemy would open a transaction first, and the
                    # journal mode cannot change inside one.
                    driver: Any = (await conn.get_raw_connection()).driver_connection
                    cursor = await driver.execute("PRAGMA journal_mode = WAL")
                    (mode,) = await cursor.fetchone()
                    await cursor.close()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise StoreError(f"cannot switch SQLite to WAL: {exc}") from exc
                await asyncio.sleep(0.02)
                continue
            except (SQLAlchemyError, OSError) as exc:
                raise StoreError(f"database error: {describe_error(exc)}") from exc
            if str(mode).lower() != "wal":
                raise StoreError(f"SQLite refused WAL journaling (journal mode is {mode})")
            return

    async def truncate_wal(self) -> None:
        """Checkpoint a SQLite write-ahead log and truncate it to nothing (best effort: a
        reader holding an older snapshot keeps it). A no-op on PostgreSQL."""
        if self.dialect != "sqlite":
            return
        try:
            async with self.engine.connect() as conn:
                driver: Any = (await conn.get_raw_connection()).driver_connection
                cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                await cursor.fetchall()
                await cursor.close()
        except (SQLAlchemyError, OSError, sqlite3.Error) as exc:
            log.warning("write-ahead log not truncated", error=describe_error(exc))

    def insert(self, model: type[Base]) -> DbInsert:
        """An INSERT for ``model`` that supports ON CONFLICT on this backend."""
        if self.dialect == "postgresql":
            return postgresql.insert(model)
        return sqlite.insert(model)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _install_sqlite_discipline(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN away from the sqlite3 module; the "begin" hook below emits it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            # WAL is a property of the database file, switched on once by enable_wal().
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA database_list")
            for _seq, _name, file in cursor.fetchall():
                if file:
                    restrict_sqlite_files(file)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: SyncConnection) -> None:
        writing = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


class Repository:
    """Base of the per-concept repositories that :class:`~ml_connector.store.Store` combines."""

    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    def _now(self, now: datetime | None) -> datetime:
        """``now`` in UTC, or the clock's time when None."""
        return as_utc(now if now is not None else self._clock())
