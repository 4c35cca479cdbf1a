"""Mapping table versions and the mapping catalog, per connection.

Every change to a connection's mapping table is a new, numbered version (1, 2, 3, …); a version
is never edited or deleted, so an audit entry that names "mapping version 4" can always be
looked up. The store keeps the table as the JSON document ``mapping.table`` writes and reads;
it does not interpret it.

The catalog is what ``mappings pull`` last saw on both sides (the Ramp fields and options, the
Visma values): one JSON document per connection, replaced on each pull.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ml_connector.store.engine import Repository
from ml_connector.store.tables import ConnectionRow, MappingCatalogRow, MappingVersionRow

__all__ = ["MappingCatalog", "MappingRepository", "MappingVersion"]


@dataclass(frozen=True, slots=True)
class MappingVersion:
    """One saved version of a connection's mapping table."""

    connection_id: int
    version: int
    document: dict[str, Any]
    author: str
    note: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MappingCatalog:
    """The known values of both sides at ``pulled_at``."""

    connection_id: int
    data: dict[str, Any]
    pulled_at: datetime


def _to_version(row: MappingVersionRow) -> MappingVersion:
    return MappingVersion(
        connection_id=row.connection_id,
        version=row.version,
        document=dict(row.document),
        author=row.author,
        note=row.note,
        created_at=row.created_at,
    )


class MappingRepository(Repository):
    """Save and read mapping table versions and catalogs."""

    async def save_mapping_version(
        self,
        connection_id: int,
        document: dict[str, Any],
        *,
        author: str = "",
        note: str = "",
        now: datetime | None = None,
    ) -> MappingVersion:
        """Store ``document`` as the connection's next version and return it.

        Concurrent saves get distinct, gap-free numbers: the connection's row is locked
        (PostgreSQL) or the write transaction is exclusive (SQLite) while the number is chosen.
        """
        now = self._now(now)
        async with self._db.write() as session:
            await session.execute(
                select(ConnectionRow.id).where(ConnectionRow.id == connection_id).with_for_update()
            )
            latest = await session.scalar(
                select(func.max(MappingVersionRow.version)).where(
                    MappingVersionRow.connection_id == connection_id
                )
            )
            row = MappingVersionRow(
                connection_id=connection_id,
                version=(latest or 0) + 1,
                document=dict(document),
                author=author,
                note=note,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            return _to_version(row)

    async def current_mapping(self, connection_id: int) -> MappingVersion | None:
        """The newest version, or None when the connection has never saved one."""
        async with self._db.read() as session:
            row = await session.scalar(
                select(MappingVersionRow)
                .where(MappingVersionRow.connection_id == connection_id)
                .order_by(MappingVersionRow.version.desc())
                .limit(1)
            )
            return None if row is None else _to_version(row)

    async def get_mapping_version(self, connection_id: int, version: int) -> MappingVersion | None:
        """One version by number, or None."""
        async with self._db.read() as session:
            row = await session.scalar(
                select(MappingVersionRow).where(
                    MappingVersionRow.connection_id == connection_id,
                    MappingVersionRow.version == version,
                )
            )
            return None if row is None else _to_version(row)

    async def list_mapping_versions(self, connection_id: int) -> list[MappingVersion]:
        """Every version of the connection, oldest first."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(MappingVersionRow)
                .where(MappingVersionRow.connection_id == connection_id)
                .order_by(MappingVersionRow.version)
            )
            return [_to_version(row) for row in rows]

    async def save_mapping_catalog(
        self, connection_id: int, data: dict[str, Any], *, now: datetime | None = None
    ) -> MappingCatalog:
        """Replace the connection's catalog."""
        now = self._now(now)
        async with self._db.write() as session:
            insert = self._db.insert(MappingCatalogRow).values(
                connection_id=connection_id, data=dict(data), pulled_at=now
            )
            await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[MappingCatalogRow.connection_id],
                    set_={"data": insert.excluded.data, "pulled_at": insert.excluded.pulled_at},
                )
            )
        return MappingCatalog(connection_id, dict(data), now)

    async def get_mapping_catalog(self, connection_id: int) -> MappingCatalog | None:
        """The catalog of the last pull, or None before the first."""
        async with self._db.read() as session:
            row = await session.get(MappingCatalogRow, connection_id)
            if row is None:
                return None
            return MappingCatalog(row.connection_id, dict(row.data), row.pulled_at)
