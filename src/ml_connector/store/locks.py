"""Named leases: a lock that expires by itself, so a crashed holder cannot wedge anyone.

Used where a unique constraint alone is not enough, for instance "one worker at a time matches
or creates the supplier for this new vendor". A lock is one row keyed by name; taking it is a
single INSERT … ON CONFLICT DO UPDATE whose WHERE clause only lets the update through when the
lock has expired or already belongs to the caller. That one statement is atomic on both
PostgreSQL and SQLite, so there is no read-then-write window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select

from ml_connector.store.engine import Repository
from ml_connector.store.tables import LockRow, as_utc

__all__ = ["LockRepository"]


class LockRepository(Repository):
    """Take, extend and release named leases."""

    async def try_lock(
        self, name: str, owner: str, ttl_s: float, now: datetime | None = None
    ) -> bool:
        """Take (or, for its owner, extend) the lock ``name`` until ``now + ttl_s``.

        True when ``owner`` holds the lock afterwards: it was free, expired, or already
        ``owner``'s. False while someone else's lease runs.
        """
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        now = self._now(now)
        expires_at = now + timedelta(seconds=ttl_s)
        async with self._db.write() as session:
            insert = self._db.insert(LockRow).values(
                name=name, owner=owner, acquired_at=now, expires_at=expires_at
            )
            upsert = insert.on_conflict_do_update(
                index_elements=[LockRow.name],
                set_={
                    "owner": insert.excluded.owner,
                    "acquired_at": insert.excluded.acquired_at,
                    "expires_at": insert.excluded.expires_at,
                },
                where=or_(LockRow.expires_at <= now, LockRow.owner == owner),
            )
            taken = (await session.execute(upsert.returning(LockRow.name))).scalar()
            return taken is not None

    async def release_lock(self, name: str, owner: str) -> bool:
        """Give the lock back. False when ``owner`` did not hold it (it expired and moved on)."""
        async with self._db.write() as session:
            result = await session.execute(
                delete(LockRow)
                .where(LockRow.name == name, LockRow.owner == owner)
                .returning(LockRow.name)
            )
            return result.scalar() is not None

    async def lock_expiry(self, name: str, now: datetime | None = None) -> datetime | None:
        """When the lock ``name`` runs out, or None when it is free or already expired."""
        now = self._now(now)
        async with self._db.read() as session:
            query = select(LockRow.expires_at).where(LockRow.name == name, LockRow.expires_at > now)
            expiry = (await session.scalars(query)).one_or_none()
            return None if expiry is None else as_utc(expiry)

    async def lock_holder(self, name: str, now: datetime | None = None) -> str | None:
        """Who holds the lock ``name`` at ``now``, or None when it is free or expired."""
        now = self._now(now)
        async with self._db.read() as session:
            query = select(LockRow.owner).where(LockRow.name == name, LockRow.expires_at > now)
            return (await session.scalars(query)).one_or_none()
