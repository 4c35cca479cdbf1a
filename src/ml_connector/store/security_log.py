"""The security log: logins, logouts and user changes, in one hash-chained trail (rev. 0008).

The audit trail (``store/audit.py``) has one chain per connection, for what happens to that
connection's records and settings. Who signed in, from where, and who was let in or changed
belongs to no connection (a failed login for an unknown email has none at all), so it has a
chain of its own, built the same way: entry ``n`` stores
``hash = sha256(prev_hash + canonical_json({"at", "data", "kind", "seq"}))``, and the head row
``security_log_head`` keeps the newest seq and hash, and, after pruning, the anchor the chain
then starts from. Appends lock the head row (PostgreSQL) or run in SQLite's single write
transaction, so the chain never forks.

Entries are written only for attempts that reached the password check, and once per lock, so
a stranger hammering a locked login writes nothing (``web/login.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, delete, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ml_connector.audit import Redactor
from ml_connector.store.audit_chain import GENESIS_HASH, canonical_json
from ml_connector.store.engine import Repository
from ml_connector.store.records import AuditProblem
from ml_connector.store.tables import Base

__all__ = ["SecurityEvent", "SecurityLogRepository"]

_REDACTOR = Redactor()
_HEAD_ID = 1


class SecurityEventRow(Base):
    __tablename__ = "security_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON, kept verbatim for the hash
    at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class SecurityHeadRow(Base):
    """The chain's newest link and its anchor; one row, locked by every append."""

    __tablename__ = "security_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    anchor_seq: Mapped[int] = mapped_column(Integer)
    anchor_hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class SecurityEvent:
    """One entry: what happened (``kind``), its details, when, and its place in the chain."""

    seq: int
    kind: str
    data: dict[str, Any]
    at: datetime
    hash: str


def _hash(prev_hash: str, seq: int, kind: str, data_json: str, at: datetime) -> str:
    body = canonical_json(
        {"at": at.isoformat(), "data": json.loads(data_json), "kind": kind, "seq": seq}
    )
    return hashlib.sha256((prev_hash + body).encode("ascii")).hexdigest()


def _to_event(row: SecurityEventRow) -> SecurityEvent:
    return SecurityEvent(row.seq, row.kind, json.loads(row.data), row.at, row.hash)


class SecurityLogRepository(Repository):
    """Append to, read, verify and prune the security log."""

    async def append_security_event(
        self, kind: str, data: Mapping[str, Any], *, at: datetime | None = None
    ) -> SecurityEvent:
        """Append one entry (secret-named keys are redacted as in the audit trail)."""
        stamp = self._now(at)
        data_json = canonical_json(_REDACTOR.scrub(dict(data)))
        async with self._db.write() as session:
            lock_head = (
                self._db.insert(SecurityHeadRow)
                .values(
                    id=_HEAD_ID,
                    last_seq=0,
                    last_hash=GENESIS_HASH,
                    anchor_seq=0,
                    anchor_hash=GENESIS_HASH,
                )
                .on_conflict_do_update(
                    index_elements=[SecurityHeadRow.id],
                    set_={"last_seq": SecurityHeadRow.last_seq},
                )
                .returning(SecurityHeadRow.last_seq, SecurityHeadRow.last_hash)
            )
            last_seq, last_hash = (await session.execute(lock_head)).one()
            seq = last_seq + 1
            digest = _hash(last_hash, seq, kind, data_json, stamp)
            row = SecurityEventRow(
                seq=seq, kind=kind, data=data_json, at=stamp, prev_hash=last_hash, hash=digest
            )
            session.add(row)
            await session.execute(
                update(SecurityHeadRow)
                .where(SecurityHeadRow.id == _HEAD_ID)
                .values(last_seq=seq, last_hash=digest)
            )
            return SecurityEvent(seq, kind, json.loads(data_json), stamp, digest)

    async def list_security_events(
        self, *, limit: int = 100, kinds: Sequence[str] = ()
    ) -> list[SecurityEvent]:
        """The newest entries first (optionally only those of some kinds)."""
        query = select(SecurityEventRow).order_by(SecurityEventRow.seq.desc()).limit(limit)
        if kinds:
            query = query.where(SecurityEventRow.kind.in_(list(kinds)))
        async with self._db.read() as session:
            return [_to_event(row) for row in await session.scalars(query)]

    async def verify_security_log(self) -> list[AuditProblem]:
        """Every break in the chain; an empty list means it is intact."""
        problems: list[AuditProblem] = []
        async with self._db.read(snapshot=True) as session:
            head = await session.get(SecurityHeadRow, _HEAD_ID)
            expected, prev = (
                (1, GENESIS_HASH) if head is None else (head.anchor_seq + 1, head.anchor_hash)
            )
            rows = await session.scalars(
                select(SecurityEventRow)
                .where(SecurityEventRow.seq >= expected)
                .order_by(SecurityEventRow.seq)
            )
            for row in rows:
                if row.seq != expected:
                    problems.append(
                        AuditProblem(row.seq, f"entries {expected}..{row.seq - 1} are missing")
                    )
                if row.prev_hash != prev:
                    problems.append(AuditProblem(row.seq, "does not link to the entry before it"))
                if _hash(row.prev_hash, row.seq, row.kind, row.data, row.at) != row.hash:
                    problems.append(
                        AuditProblem(row.seq, "content does not match its hash (altered)")
                    )
                expected, prev = row.seq + 1, row.hash
        if head is not None and (head.last_seq != expected - 1 or head.last_hash != prev):
            problems.append(
                AuditProblem(None, "the head does not match the newest entry: entries were removed")
            )
        elif head is None and expected > 1:
            problems.append(AuditProblem(None, "entries exist but the chain head is missing"))
        return problems

    async def prune_security_log(self, *, before: datetime) -> int:
        """Delete the oldest entries, those before the first one at or after ``before`` (always a
        prefix); the newest deleted one
        becomes the anchor, so the rest still verifies. Returns how many were deleted."""
        async with self._db.write() as session:
            head = await session.get(SecurityHeadRow, _HEAD_ID, with_for_update=True)
            if head is None:
                return 0
            first_kept = (
                await session.execute(
                    select(func.min(SecurityEventRow.seq)).where(SecurityEventRow.at >= before)
                )
            ).scalar()
            cut = head.last_seq if first_kept is None else first_kept - 1
            newest = (
                await session.execute(
                    select(SecurityEventRow.seq, SecurityEventRow.hash)
                    .where(SecurityEventRow.seq <= cut)
                    .order_by(SecurityEventRow.seq.desc())
                    .limit(1)
                )
            ).first()
            if newest is None:
                return 0
            seq, digest = newest
            result = await session.execute(
                delete(SecurityEventRow).where(SecurityEventRow.seq <= seq)
            )
            head.anchor_seq, head.anchor_hash = seq, digest
            return int(getattr(result, "rowcount", 0) or 0)
