"""Alembic migrations, run programmatically: no alembic.ini is needed at runtime.

``upgrade(connection)`` brings a database to the newest revision. The same revision files serve
SQLite and PostgreSQL (SQLite alterations go through Alembic's batch mode). Running it again is
a no-op. On PostgreSQL an advisory lock makes concurrent upgrades from several processes wait for
each other instead of racing.

To write a new revision, add a file to ``versions/`` by hand (see ``script.py.mako``) and make
the contract test that compares the migrated schema with ``tables.py`` pass on both backends.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

__all__ = ["HEAD", "MIGRATIONS_DIR", "alembic_config", "current_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent
HEAD = "0011"
"""The newest revision id; keep it in step with versions/."""

# An arbitrary constant: the key of the PostgreSQL advisory lock that serialises upgrades.
_UPGRADE_LOCK_KEY = 7_204_151_931


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at this package, bound to ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, *, pg_schema: str | None = None) -> None:
    """Upgrade the database behind ``connection`` (in a transaction) to the newest revision."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK_KEY})")
        if pg_schema is not None:
            # pg_schema was validated as a plain identifier by Database.open.
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{pg_schema}"')
    command.upgrade(alembic_config(connection), "head")


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None before the first upgrade."""
    return MigrationContext.configure(connection).get_current_revision()
