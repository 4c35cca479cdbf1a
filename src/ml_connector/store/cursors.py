"""Cursors: where a connection's delta polling left off, by name (one value per name)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ml_connector.store.engine import Repository
from ml_connector.store.tables import CursorRow

__all__ = ["CursorRepository"]


class CursorRepository(Repository):
    """Read and move polling cursors."""

    async def get_cursor(self, connection_id: int, name: str) -> str | None:
        """The cursor's value, or None before it was first set."""
        async with self._db.read() as session:
            row = await session.get(CursorRow, (connection_id, name))
            return None if row is None else row.value

    async def set_cursor(
        self, connection_id: int, name: str, value: str, *, now: datetime | None = None
    ) -> None:
        """Store the cursor's new value (insert or overwrite)."""
        now = self._now(now)
        async with self._db.write() as session:
            insert = self._db.insert(CursorRow).values(
                connection_id=connection_id, name=name, value=value, updated_at=now
            )
            await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[CursorRow.connection_id, CursorRow.name],
                    set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
                )
            )

    async def list_cursors(self, connection_id: int) -> dict[str, str]:
        """Every cursor of a connection, by name."""
        async with self._db.read() as session:
            rows = await session.execute(
                select(CursorRow.name, CursorRow.value).where(
                    CursorRow.connection_id == connection_id
                )
            )
            return {str(name): str(value) for name, value in rows}
