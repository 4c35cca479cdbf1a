"""``Store``: the one object the rest of ml-connector uses to reach the database.

It combines the per-concept repositories (connections, links, locks, work, audit, cursors, the
webhook inbox and its guard, mapping and field binding versions, the chart map, users, their
sessions, login throttling, the security log, stats, cross-process wake-ups, alerts, the sealing
of credential-like values at rest, the supplier index and the Ramp write-back outbox) over one
:class:`~ml_connector.store.engine.Database`. Every method is its own short transaction and
returns frozen records; SQLAlchemy objects never leave the store, and database errors leave it
as StoreError.
"""

from __future__ import annotations

from ml_connector.store import migrations
from ml_connector.store.alerts import AlertRepository
from ml_connector.store.at_rest import AtRestRepository
from ml_connector.store.audit import AuditRepository
from ml_connector.store.bindings import BindingRepository
from ml_connector.store.chart import ChartRepository
from ml_connector.store.connections import ConnectionRepository
from ml_connector.store.cursors import CursorRepository
from ml_connector.store.engine import Clock, Database, Dialect, utcnow
from ml_connector.store.inbox import InboxRepository
from ml_connector.store.inbox_guard import InboxGuardRepository
from ml_connector.store.ingest import IngestRepository
from ml_connector.store.links import LinkRepository
from ml_connector.store.locks import LockRepository
from ml_connector.store.mappings import MappingRepository
from ml_connector.store.notify import NotifyRepository
from ml_connector.store.outbox import OutboxRepository
from ml_connector.store.rejections import RejectionRepository
from ml_connector.store.security_log import SecurityLogRepository
from ml_connector.store.sessions import SessionRepository
from ml_connector.store.stats import StatsRepository
from ml_connector.store.supplier_index import SupplierIndexRepository
from ml_connector.store.throttle import ThrottleRepository
from ml_connector.store.users import UserRepository
from ml_connector.store.work import WorkRepository

__all__ = ["Store"]


class Store(
    ConnectionRepository,
    LinkRepository,
    LockRepository,
    WorkRepository,
    AuditRepository,
    CursorRepository,
    InboxRepository,
    RejectionRepository,
    IngestRepository,
    MappingRepository,
    BindingRepository,
    ChartRepository,
    UserRepository,
    SessionRepository,
    ThrottleRepository,
    SecurityLogRepository,
    StatsRepository,
    NotifyRepository,
    AlertRepository,
    AtRestRepository,
    SupplierIndexRepository,
    OutboxRepository,
    InboxGuardRepository,
):
    """The connector's persistent state, on SQLite or PostgreSQL.

    Build it with :meth:`open`, call :meth:`migrate` once at start-up, and :meth:`close` at the
    end. Methods that compare or stamp times take ``now``; when omitted, the ``clock`` given to
    :meth:`open` supplies it.
    """

    @classmethod
    def open(
        cls,
        url: str,
        *,
        pg_schema: str | None = None,
        busy_timeout_s: float = 30.0,
        pool_size: int = 5,
        clock: Clock = utcnow,
    ) -> Store:
        """A store for ``url`` (``sqlite+aiosqlite:///file.db`` or ``postgresql+asyncpg://…``).

        No connection is made until the first call. ``pg_schema`` keeps every table in that
        PostgreSQL schema (created by :meth:`migrate`). Raises ConfigurationError for an
        unsupported URL.
        """
        database = Database.open(
            url, pg_schema=pg_schema, busy_timeout_s=busy_timeout_s, pool_size=pool_size
        )
        return cls(database, clock)

    @property
    def dialect(self) -> Dialect:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    async def migrate(self) -> None:
        """Bring the schema to the newest revision; a no-op when it already is.

        On SQLite this also switches the database file to WAL journaling.
        """
        await self._db.enable_wal()
        pg_schema = self._db.pg_schema
        await self._db.run_sync_write(lambda conn: migrations.upgrade(conn, pg_schema=pg_schema))

    async def schema_revision(self) -> str | None:
        """The schema revision the database is at (None before :meth:`migrate`)."""
        return await self._db.run_sync_write(migrations.current_revision)

    async def close(self) -> None:
        """Close the store's connections; the object cannot be used afterwards."""
        await self._db.close()

    def __repr__(self) -> str:
        return f"Store(dialect={self.dialect!r})"
