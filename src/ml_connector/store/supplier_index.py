"""The per-connection supplier index: Visma's suppliers, kept in the store for matching.

``supplier_index`` holds one row per (connection, supplier number) with what matching compares:
the folded name, and the organisation and VAT numbers as index keys (``"NO:923609016"``; see
``mapping.identifiers``). ``supplier_index_state`` holds, per connection, how far the rows are
known to be current:

- ``watermark``: the newest ``lastModifiedDateTime`` read from Visma, as Visma wrote it (company
  time, no offset); the next delta read asks for records modified since then;
- ``read_at``: when the newest complete read *started* (the store's clock), so a reader can
  tell whether a read began after some moment of its own (say, after it took a lock);
- ``full_at``: when the newest full read started.

Every process of a connection shares both tables. The state only moves forward: a read that
finishes late never winds ``watermark`` or ``read_at`` back (one upsert with CASE
expressions, atomic on both backends). A full read removes the rows it no longer saw, unless
someone wrote them after that read had started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, and_, case, delete, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from ml_connector.store.engine import Repository
from ml_connector.store.tables import Base

__all__ = [
    "IndexedSupplier",
    "SupplierIndexRepository",
    "SupplierIndexRow",
    "SupplierIndexState",
    "SupplierIndexStateRow",
]


class SupplierIndexRow(Base):
    """One Visma supplier as matching sees it (revision 0010)."""

    __tablename__ = "supplier_index"
    __table_args__ = (
        Index(None, "connection_id", "corporate_key"),
        Index(None, "connection_id", "vat_key"),
        Index(None, "connection_id", "name_key"),
    )

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    corporate_id: Mapped[str | None] = mapped_column(String(60))
    corporate_key: Mapped[str | None] = mapped_column(String(60))
    vat_registration_id: Mapped[str | None] = mapped_column(String(60))
    vat_key: Mapped[str | None] = mapped_column(String(60))
    modified: Mapped[str | None] = mapped_column(String(32))
    seen_at: Mapped[datetime]


class SupplierIndexStateRow(Base):
    """How current a connection's supplier index is (revision 0010)."""

    __tablename__ = "supplier_index_state"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    watermark: Mapped[str | None] = mapped_column(String(32))
    read_at: Mapped[datetime]
    full_at: Mapped[datetime | None]


@dataclass(frozen=True, slots=True)
class IndexedSupplier:
    """A supplier row: keys are ``"CC:number"`` (``mapping.identifiers.BusinessId.key``)."""

    number: str
    name: str
    name_key: str
    status: str
    corporate_id: str | None = None
    corporate_key: str | None = None
    vat_registration_id: str | None = None
    vat_key: str | None = None
    modified: str | None = None  # Visma's lastModifiedDateTime, ISO text without offset


@dataclass(frozen=True, slots=True)
class SupplierIndexState:
    watermark: str | None
    read_at: datetime
    full_at: datetime | None


_FIELDS = tuple(f for f in IndexedSupplier.__dataclass_fields__)


def _to_supplier(row: Any) -> IndexedSupplier:
    values = row._mapping
    return IndexedSupplier(**{name: values[name] for name in _FIELDS})


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


class SupplierIndexRepository(Repository):
    """Read and write the supplier index; see the module docstring."""

    async def supplier_index_state(self, connection_id: int) -> SupplierIndexState | None:
        """How current the index is, or None before its first complete read."""
        async with self._db.read() as session:
            row = await session.get(SupplierIndexStateRow, connection_id)
            if row is None:
                return None
            return SupplierIndexState(row.watermark, row.read_at, row.full_at)

    async def upsert_indexed_suppliers(
        self,
        connection_id: int,
        suppliers: Sequence[IndexedSupplier],
        *,
        now: datetime | None = None,
    ) -> None:
        """Insert or replace rows (one page of a read, or a supplier the connector created)."""
        if not suppliers:
            return
        now = self._now(now)
        insert = self._db.insert(SupplierIndexRow)
        columns = [name for name in _FIELDS if name != "number"]
        upsert = insert.on_conflict_do_update(
            index_elements=[SupplierIndexRow.connection_id, SupplierIndexRow.number],
            set_={
                **{name: getattr(insert.excluded, name) for name in columns},
                "seen_at": insert.excluded.seen_at,
            },
        )
        rows = [
            {
                "connection_id": connection_id,
                "number": s.number,
                "name": s.name[:255],
                "name_key": s.name_key[:255],
                "status": s.status[:20],
                "corporate_id": _clip(s.corporate_id, 60),
                "corporate_key": _clip(s.corporate_key, 60),
                "vat_registration_id": _clip(s.vat_registration_id, 60),
                "vat_key": _clip(s.vat_key, 60),
                "modified": s.modified,
                "seen_at": now,
            }
            for s in sorted(suppliers, key=lambda s: s.number)  # one lock order for all writers
        ]
        async with self._db.write() as session:
            conn = await session.connection()
            for row in rows:
                await conn.execute(upsert, row)

    async def mark_supplier_index_read(
        self,
        connection_id: int,
        *,
        started_at: datetime,
        watermark: str | None,
        full: bool,
    ) -> None:
        """Record a complete read that began at ``started_at`` (never moving the state back).

        A full read also drops the rows nobody wrote since it began: suppliers that are gone.
        """
        started_at = self._now(started_at)
        state = SupplierIndexStateRow
        insert = self._db.insert(state).values(
            connection_id=connection_id,
            watermark=watermark,
            read_at=started_at,
            full_at=started_at if full else None,
        )
        new = insert.excluded
        upsert = insert.on_conflict_do_update(
            index_elements=[state.connection_id],
            set_={
                "watermark": case(
                    (
                        or_(state.watermark.is_(None), new.watermark > state.watermark),
                        new.watermark,
                    ),
                    else_=state.watermark,
                ),
                "read_at": case((new.read_at > state.read_at, new.read_at), else_=state.read_at),
                "full_at": case(
                    (
                        and_(
                            new.full_at.is_not(None),
                            or_(state.full_at.is_(None), new.full_at > state.full_at),
                        ),
                        new.full_at,
                    ),
                    else_=state.full_at,
                ),
            },
        )
        async with self._db.write() as session:
            if full:
                await session.execute(
                    delete(SupplierIndexRow).where(
                        SupplierIndexRow.connection_id == connection_id,
                        SupplierIndexRow.seen_at < started_at,
                    )
                )
            await session.execute(upsert)

    async def find_indexed_suppliers(
        self,
        connection_id: int,
        *,
        numbers: Iterable[str] = (),
        keys: Iterable[str] = (),
        names: Iterable[str] = (),
    ) -> list[IndexedSupplier]:
        """Rows whose number, organisation/VAT key or folded name is among those given."""
        numbers, keys, names = list(numbers), list(keys), list(names)
        conditions = []
        if numbers:
            conditions.append(SupplierIndexRow.number.in_(numbers))
        if keys:
            conditions.append(SupplierIndexRow.corporate_key.in_(keys))
            conditions.append(SupplierIndexRow.vat_key.in_(keys))
        if names:
            conditions.append(SupplierIndexRow.name_key.in_(names))
        if not conditions:
            return []
        query = (
            select(*(getattr(SupplierIndexRow, name) for name in _FIELDS))
            .where(SupplierIndexRow.connection_id == connection_id, or_(*conditions))
            .order_by(SupplierIndexRow.number)
        )
        async with self._db.read() as session:
            return [_to_supplier(row) for row in await session.execute(query)]

    async def indexed_supplier_numbers(self, connection_id: int, prefix: str = "") -> list[str]:
        """Every indexed supplier number that starts with ``prefix``."""
        query = select(SupplierIndexRow.number).where(
            SupplierIndexRow.connection_id == connection_id
        )
        if prefix:
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(SupplierIndexRow.number.like(f"{escaped}%", escape="\\"))
        async with self._db.read() as session:
            return list(await session.scalars(query))

    async def indexed_supplier_statuses(
        self, connection_id: int, statuses: Iterable[str]
    ) -> dict[str, str]:
        """Supplier number → status, for the suppliers in one of ``statuses``."""
        query = select(SupplierIndexRow.number, SupplierIndexRow.status).where(
            SupplierIndexRow.connection_id == connection_id,
            SupplierIndexRow.status.in_(list(statuses)),
        )
        async with self._db.read() as session:
            return {str(number): str(status) for number, status in await session.execute(query)}
