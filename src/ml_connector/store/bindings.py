"""Field binding versions, per connection.

Like the mapping table (``store.mappings``), every change to a connection's field bindings is a
new, numbered version (1, 2, 3, …) that is never edited or deleted; the store keeps the JSON
document ``mapping.bindings`` writes and does not interpret it.

A save names the version it was based on (``base``). When another save landed in between (a
person binding a field while discovery runs), the save is refused (None) and nothing is written:
the caller reads the new version and applies its change again. This is what keeps discovery from
overwriting a binding a person just set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ml_connector.store.engine import Repository
from ml_connector.store.tables import ConnectionRow, FieldBindingVersionRow

__all__ = ["BindingRepository", "BindingVersion"]


@dataclass(frozen=True, slots=True)
class BindingVersion:
    """One saved version of a connection's field bindings."""

    connection_id: int
    version: int
    document: dict[str, Any]
    author: str
    note: str
    created_at: datetime


def _to_version(row: FieldBindingVersionRow) -> BindingVersion:
    return BindingVersion(
        connection_id=row.connection_id,
        version=row.version,
        document=dict(row.document),
        author=row.author,
        note=row.note,
        created_at=row.created_at,
    )


class BindingRepository(Repository):
    """Save and read field binding versions."""

    async def save_binding_version(
        self,
        connection_id: int,
        document: dict[str, Any],
        *,
        base: int | None,
        author: str = "",
        note: str = "",
        now: datetime | None = None,
    ) -> BindingVersion | None:
        """Store ``document`` as version ``base + 1`` (1 when ``base`` is None) and return it.

        Returns None, writing nothing, when the newest version is no longer ``base``. The
        connection's row is locked (PostgreSQL) or the write transaction is exclusive (SQLite)
        while the check and the insert run, so concurrent saves never share a number.
        """
        now = self._now(now)
        async with self._db.write() as session:
            await session.execute(
                select(ConnectionRow.id).where(ConnectionRow.id == connection_id).with_for_update()
            )
            latest = await session.scalar(
                select(func.max(FieldBindingVersionRow.version)).where(
                    FieldBindingVersionRow.connection_id == connection_id
                )
            )
            if latest != base:
                return None
            row = FieldBindingVersionRow(
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

    async def current_bindings(self, connection_id: int) -> BindingVersion | None:
        """The newest version, or None before the first save."""
        async with self._db.read() as session:
            row = await session.scalar(
                select(FieldBindingVersionRow)
                .where(FieldBindingVersionRow.connection_id == connection_id)
                .order_by(FieldBindingVersionRow.version.desc())
                .limit(1)
            )
            return None if row is None else _to_version(row)

    async def get_binding_version(self, connection_id: int, version: int) -> BindingVersion | None:
        """One version by number, or None."""
        async with self._db.read() as session:
            row = await session.scalar(
                select(FieldBindingVersionRow).where(
                    FieldBindingVersionRow.connection_id == connection_id,
                    FieldBindingVersionRow.version == version,
                )
            )
            return None if row is None else _to_version(row)

    async def list_binding_versions(self, connection_id: int) -> list[BindingVersion]:
        """Every version of the connection, oldest first."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(FieldBindingVersionRow)
                .where(FieldBindingVersionRow.connection_id == connection_id)
                .order_by(FieldBindingVersionRow.version)
            )
            return [_to_version(row) for row in rows]
