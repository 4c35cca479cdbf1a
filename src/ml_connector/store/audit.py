"""The audit trail: append-only, hash-chained per connection, and checkable.

Entry ``n`` of a connection stores ``hash = sha256(prev_hash + canonical_json(entry))`` where
``prev_hash`` is entry ``n - 1``'s hash (64 zeros for the first) and the canonical JSON covers
the connection, sequence number, record, kind, time and data. ``audit_heads`` keeps each chain's
newest sequence number and hash. Changing, deleting or inserting any entry therefore breaks a
link that ``verify_audit`` reports, including removal of the newest entries.

Appends to one chain are serialised so it never forks: PostgreSQL locks the chain's head row,
SQLite runs the append in its single write transaction.

Retention (``prune_audit``) deletes a chain's oldest entries, always a prefix, and records the
seq and hash of the newest deleted entry on the head row as the chain's anchor; ``verify_audit``
then starts from the anchor instead of the genesis hash. Every surviving entry stays checkable,
and deleting or altering entries after the anchor is still detected. The anchor itself is
trusted: someone able to rewrite it together with the entries could hide a truncated prefix, so
an operator who needs more exports the trail before pruning (``audit export``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ml_connector.audit import Redactor
from ml_connector.store.audit_chain import (
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    check_entry,
    entry_hash,
)
from ml_connector.store.engine import Database, Dialect, Repository
from ml_connector.store.records import AuditEntry, AuditProblem
from ml_connector.store.tables import AuditEntryRow, AuditHeadRow

__all__ = [
    "GENESIS_HASH",
    "AuditRepository",
    "append_audit_in",
    "canonical_json",
    "entry_hash",
]

# The backstop: key-based redaction (and bearer tokens in text) applied to every entry.
_REDACTOR = Redactor()
_VERIFY_PAGE = 1000


def _to_entry(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        connection_id=row.connection_id,
        seq=row.seq,
        record_id=row.record_id,
        kind=row.kind,
        data=json.loads(row.data),
        at=row.at,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


@dataclass(frozen=True)
class _Statements:
    """The append's statements for one dialect, built once (parameters bound per call)."""

    lock_head: Any
    insert: Any
    insert_returning: Any


@functools.cache
def _statements(dialect: Dialect) -> _Statements:
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # DO UPDATE (to the same value), not DO NOTHING: the statement then always returns the head
    # row, and on PostgreSQL holds its lock until the transaction ends.
    lock_head = (
        maker(AuditHeadRow)
        .on_conflict_do_update(
            index_elements=[AuditHeadRow.connection_id],
            set_={"last_seq": AuditHeadRow.last_seq},
        )
        .returning(AuditHeadRow.last_seq, AuditHeadRow.last_hash)
    )
    insert = maker(AuditEntryRow)
    return _Statements(lock_head, insert, insert.returning(AuditEntryRow.id, AuditEntryRow.seq))


_MOVE_HEAD = (
    update(AuditHeadRow)
    .where(AuditHeadRow.connection_id == bindparam("head_connection"))
    .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
)


async def _append(
    db: Database,
    session: AsyncSession,
    connection_id: int,
    entries: Sequence[tuple[int | None, str, Mapping[str, Any], datetime]],
    *,
    with_ids: bool,
) -> tuple[list[dict[str, Any]], list[int]]:
    """Hash and insert ``entries`` after the chain's head; returns the rows written and, when
    ``with_ids``, their ids. Two statements for the head (an upsert that creates the head if
    missing, locks it and returns it; the final update) and one multi-row INSERT."""
    conn = await session.connection()
    statements = _statements(db.dialect)
    head = {"connection_id": connection_id, "last_seq": 0, "last_hash": GENESIS_HASH}
    last_seq, last_hash = (await conn.execute(statements.lock_head, head)).one()
    values: list[dict[str, Any]] = []
    for record_id, kind, data, at in entries:
        last_seq += 1
        data_json = canonical_json(_REDACTOR.scrub(data))
        digest = chain_hash(
            last_hash,
            connection_id=connection_id,
            seq=last_seq,
            record_id=record_id,
            kind=kind,
            data_canonical=data_json,
            at=at,
        )
        values.append(
            {
                "connection_id": connection_id,
                "seq": last_seq,
                "record_id": record_id,
                "kind": kind,
                "data": data_json,
                "at": at,
                "prev_hash": last_hash,
                "hash": digest,
            }
        )
        last_hash = digest
    ids: list[int] = []
    if with_ids:
        # Matched back by seq (unique within the chain), not by row order: SQLite cannot batch
        # an ordered RETURNING and would send one INSERT per entry.
        inserted = await conn.execute(statements.insert_returning, values)
        by_seq = {seq: entry_id for entry_id, seq in inserted}
        ids = [by_seq[value["seq"]] for value in values]
    else:
        await conn.execute(statements.insert, values)
    moved = {"head_connection": connection_id, "new_seq": last_seq, "new_hash": last_hash}
    await conn.execute(_MOVE_HEAD, moved)
    return values, ids


async def append_audit_in(
    db: Database,
    session: AsyncSession,
    connection_id: int,
    entries: Sequence[tuple[int | None, str, Mapping[str, Any], datetime]],
) -> list[AuditEntry]:
    """Append entries ``(record_id, kind, data, at)`` to one chain inside the caller's write
    transaction (``at`` in UTC); returns them as stored.

    The chain's head row stays locked until the transaction ends (see the module docstring).
    Core statements, not ORM objects: one multi-row INSERT however many entries there are.
    """
    if not entries:
        return []
    values, ids = await _append(db, session, connection_id, entries, with_ids=True)
    return [
        AuditEntry(
            id=entry_id,
            connection_id=connection_id,
            seq=value["seq"],
            record_id=value["record_id"],
            kind=value["kind"],
            data=json.loads(value["data"]),
            at=value["at"],
            prev_hash=value["prev_hash"],
            hash=value["hash"],
        )
        for entry_id, value in zip(ids, values, strict=True)
    ]


class AuditRepository(Repository):
    """Append to, read and verify the per-connection audit chains."""

    async def append_audit(
        self,
        connection_id: int,
        record_id: int | None,
        kind: str,
        data: Mapping[str, Any],
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append one entry to the connection's chain.

        Callers pass redacted data; as a backstop, values under secret-named keys and bearer
        tokens in text are replaced with ``[redacted]`` here too (``ml_connector.audit``).
        """
        entries = await self.append_audit_many(connection_id, [(record_id, kind, data, at)])
        return entries[0]

    async def append_audit_many(
        self,
        connection_id: int,
        entries: Sequence[tuple[int | None, str, Mapping[str, Any], datetime | None]],
    ) -> list[AuditEntry]:
        """Append several entries ``(record_id, kind, data, at)``, in order, in one transaction."""
        if not entries:
            return []
        async with self._db.write() as session:
            return await append_audit_in(
                self._db,
                session,
                connection_id,
                [(record_id, kind, data, self._now(at)) for record_id, kind, data, at in entries],
            )

    async def record_audit(
        self,
        connection_id: int,
        entries: Sequence[tuple[int | None, str, Mapping[str, Any], datetime | None]],
    ) -> int:
        """Like :meth:`append_audit_many`, for a writer that needs nothing back (a unit of
        work's timeline): no ids are read back and no entries rebuilt. Returns how many."""
        if not entries:
            return 0
        stamped = [(record_id, kind, data, self._now(at)) for record_id, kind, data, at in entries]
        async with self._db.write() as session:
            await _append(self._db, session, connection_id, stamped, with_ids=False)
        return len(stamped)

    async def list_audit(
        self,
        connection_id: int,
        record_id: int | None = None,
        *,
        after_seq: int = 0,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """A connection's entries in chain order, optionally only those about one record."""
        query = select(AuditEntryRow).where(
            AuditEntryRow.connection_id == connection_id, AuditEntryRow.seq > after_seq
        )
        if record_id is not None:
            query = query.where(AuditEntryRow.record_id == record_id)
        query = query.order_by(AuditEntryRow.seq)
        if limit is not None:
            query = query.limit(limit)
        async with self._db.read() as session:
            return [_to_entry(row) for row in await session.scalars(query)]

    async def prune_audit(self, connection_id: int, *, before: datetime) -> int:
        """Delete the chain's oldest entries, those before the first one at or after ``before``.

        Only a prefix of the chain goes, so an entry stamped out of order never leaves a gap.
        The newest deleted entry becomes the head's anchor (module docstring); returns how many
        entries were deleted. The head row is locked, so appends wait rather than interleave.
        """
        async with self._db.write() as session:
            conn = await session.connection()
            head_query = (
                select(AuditHeadRow.last_seq)
                .where(AuditHeadRow.connection_id == connection_id)
                .with_for_update()
            )
            last_seq = (await conn.execute(head_query)).scalar()
            if last_seq is None:
                return 0
            first_kept = (
                await conn.execute(
                    select(func.min(AuditEntryRow.seq)).where(
                        AuditEntryRow.connection_id == connection_id, AuditEntryRow.at >= before
                    )
                )
            ).scalar()
            cut = last_seq if first_kept is None else first_kept - 1
            newest_pruned = (
                await conn.execute(
                    select(AuditEntryRow.seq, AuditEntryRow.hash)
                    .where(AuditEntryRow.connection_id == connection_id, AuditEntryRow.seq <= cut)
                    .order_by(AuditEntryRow.seq.desc())
                    .limit(1)
                )
            ).first()
            if newest_pruned is None:
                return 0
            anchor_seq, anchor_hash = newest_pruned
            deleted = await conn.execute(
                delete(AuditEntryRow).where(
                    AuditEntryRow.connection_id == connection_id, AuditEntryRow.seq <= anchor_seq
                )
            )
            await conn.execute(
                update(AuditHeadRow)
                .where(AuditHeadRow.connection_id == connection_id)
                .values(anchor_seq=anchor_seq, anchor_hash=anchor_hash)
            )
            return int(deleted.rowcount)

    async def verify_audit(self, connection_id: int) -> list[AuditProblem]:
        """Every break in the connection's chain; an empty list means it is intact."""
        problems: list[AuditProblem] = []
        expected_seq, prev_hash = 1, GENESIS_HASH
        # One snapshot for head and entries, so a concurrent append cannot look like tampering.
        async with self._db.read(snapshot=True) as session:
            head = await session.get(AuditHeadRow, connection_id)
            if head is not None:  # after pruning, the chain starts at the anchor
                expected_seq, prev_hash = head.anchor_seq + 1, head.anchor_hash
            while True:
                query = (
                    select(AuditEntryRow)
                    .where(
                        AuditEntryRow.connection_id == connection_id,
                        AuditEntryRow.seq >= expected_seq,
                    )
                    .order_by(AuditEntryRow.seq)
                    .limit(_VERIFY_PAGE)
                )
                rows = list(await session.scalars(query))
                for row in rows:
                    problems.extend(check_entry(row, expected_seq, prev_hash))
                    expected_seq, prev_hash = row.seq + 1, row.hash
                if len(rows) < _VERIFY_PAGE:
                    break
        last_seq = expected_seq - 1
        if head is None:
            if last_seq:
                problems.append(AuditProblem(None, "entries exist but the chain head is missing"))
        elif head.last_seq != last_seq:
            problems.append(
                AuditProblem(
                    None,
                    f"the head counts {head.last_seq} entries but the chain ends at entry "
                    f"{last_seq}: entries were removed or added",
                )
            )
        elif head.last_hash != prev_hash:
            problems.append(AuditProblem(None, "the newest entry's hash differs from the head's"))
        return problems
