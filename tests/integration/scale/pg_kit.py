"""A PostgreSQL outage confined to one database: every session cut, new ones refused, then back.

This is how the scale tests "restart PostgreSQL" without touching the shared server: the test's
database stops accepting connections (``ALTER DATABASE … ALLOW_CONNECTIONS false``, which binds
superusers too), every backend connected to it is terminated with ``pg_terminate_backend`` (what
clients see when the server restarts: their sockets close mid-statement), and after ``down_s``
the database accepts connections again. The ``finally`` re-opens it whatever happens, so a
failing test never leaves the database closed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class Outage:
    """What one outage did."""

    terminated: int
    down_s: float


def _admin_dsn(database_url: str) -> tuple[str, str]:
    """(a DSN for the server's ``postgres`` database, the name of ``database_url``'s database)."""
    url = make_url(database_url)
    name = url.database or ""
    admin = url.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), name


async def database_outage(database_url: str, down_s: float) -> Outage:
    """Cut every session of ``database_url``'s database and refuse new ones for ``down_s``."""
    dsn, name = _admin_dsn(database_url)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            terminated = await admin.fetchval(
                "SELECT count(*) FROM ("
                " SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()) AS cut",
                name,
            )
            await asyncio.sleep(down_s)
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()
    return Outage(int(terminated), down_s)
