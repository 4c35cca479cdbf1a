"""The chart map: which Ramp object each pushed Visma chart value became.

One entry per (connection, kind, scope, Visma id). ``kind`` says what the value is on Ramp's
side (a GL account, a custom field, a field option, an accounting vendor); ``scope`` is the
field's external id for options (so one Visma value may sit in several fields) and empty
otherwise. ``content_hash`` is a digest of what was last sent, so the next push diffs against
it without asking Ramp. ``active`` false means the push removed (soft-deleted) it in Ramp;
an entry with ``error`` and no ``ramp_id`` is one Ramp refused, kept so ``chart status`` can
show it and the next push can retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ml_connector.store.engine import Repository
from ml_connector.store.tables import ChartEntryRow

__all__ = ["ChartEntry", "ChartRepository"]


@dataclass(frozen=True, slots=True)
class ChartEntry:
    """One mapped chart value. ``updated_at`` is set by the store."""

    kind: str
    scope: str
    visma_id: str
    ramp_id: str | None
    content_hash: str
    active: bool = True
    error: str | None = None
    updated_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.scope, self.visma_id)


def _to_entry(row: ChartEntryRow) -> ChartEntry:
    return ChartEntry(
        kind=row.kind,
        scope=row.scope,
        visma_id=row.visma_id,
        ramp_id=row.ramp_id,
        content_hash=row.content_hash,
        active=row.active,
        error=row.error,
        updated_at=row.updated_at,
    )


class ChartRepository(Repository):
    """Read and record chart map entries."""

    async def list_chart_entries(
        self, connection_id: int, kind: str | None = None, scope: str | None = None
    ) -> list[ChartEntry]:
        """Entries of a connection (optionally of one kind and scope), in a stable order."""
        query = select(ChartEntryRow).where(ChartEntryRow.connection_id == connection_id)
        if kind is not None:
            query = query.where(ChartEntryRow.kind == kind)
        if scope is not None:
            query = query.where(ChartEntryRow.scope == scope)
        query = query.order_by(ChartEntryRow.kind, ChartEntryRow.scope, ChartEntryRow.visma_id)
        async with self._db.read() as session:
            return [_to_entry(row) for row in await session.scalars(query)]

    async def record_chart_entries(
        self, connection_id: int, entries: Sequence[ChartEntry], *, now: datetime | None = None
    ) -> None:
        """Insert or overwrite entries (keyed by kind, scope and Visma id), in one transaction."""
        if not entries:
            return
        now = self._now(now)
        async with self._db.write() as session:
            for start in range(0, len(entries), 500):
                chunk = entries[start : start + 500]
                insert = self._db.insert(ChartEntryRow).values(
                    [
                        {
                            "connection_id": connection_id,
                            "kind": e.kind,
                            "scope": e.scope,
                            "visma_id": e.visma_id,
                            "ramp_id": e.ramp_id,
                            "content_hash": e.content_hash,
                            "active": e.active,
                            "error": e.error,
                            "updated_at": now,
                        }
                        for e in chunk
                    ]
                )
                excluded = insert.excluded
                await session.execute(
                    insert.on_conflict_do_update(
                        index_elements=[
                            ChartEntryRow.connection_id,
                            ChartEntryRow.kind,
                            ChartEntryRow.scope,
                            ChartEntryRow.visma_id,
                        ],
                        set_={
                            "ramp_id": excluded.ramp_id,
                            "content_hash": excluded.content_hash,
                            "active": excluded.active,
                            "error": excluded.error,
                            "updated_at": excluded.updated_at,
                        },
                    )
                )
