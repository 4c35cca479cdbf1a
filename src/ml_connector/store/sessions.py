"""Dashboard sessions, kept server-side (revision 0008).

The rows (``SessionRow``) are declared in ``store/users.py`` beside the user's other
credentials, the API tokens. A session row holds the SHA-256 of the session id (the id itself
lives only in the browser's cookie), the user, when the session began and when it was last
seen. A session ends when it sits unused longer than the idle timeout, when it reaches its
absolute lifetime, on logout, and when its user is disabled, removed, changes role or
password (``store/users.py`` deletes the user's rows in the same transaction as that change).

The last-seen time is written at most once per ``touch_s``: reading a session costs one read
transaction, and a write only when the stamp is older than that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from ml_connector.store.engine import Repository
from ml_connector.store.users import SessionRow, User, UserRow, end_user_sessions_in, to_user

__all__ = ["SessionInfo", "SessionPolicy", "SessionRepository"]


@dataclass(frozen=True)
class SessionInfo:
    """A session as shown to operators: whose, since when, last seen when (never its id)."""

    user_id: int
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live: unused (``idle_s``), at most (``lifetime_s``); how often the
    last-seen stamp is written (``touch_s``)."""

    idle_s: float = 1800.0
    lifetime_s: float = 8 * 3600.0
    touch_s: float = 60.0

    def expired(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return (now - last_seen_at).total_seconds() > self.idle_s or (
            now - created_at
        ).total_seconds() > self.lifetime_s


class SessionRepository(Repository):
    """Create, resolve and end dashboard sessions."""

    async def create_session(
        self, id_hash: str, user_id: int, *, now: datetime | None = None
    ) -> None:
        """Store a new session for the user (its id already hashed by the caller)."""
        at = self._now(now)
        async with self._db.write() as session:
            session.add(
                SessionRow(id_hash=id_hash, user_id=user_id, created_at=at, last_seen_at=at)
            )

    async def session_user(
        self, id_hash: str, policy: SessionPolicy, *, now: datetime | None = None
    ) -> User | None:
        """The enabled user of a live session, or None; stamps last-seen when due.

        An expired session is deleted on sight.
        """
        at = self._now(now)
        async with self._db.read() as session:
            query = (
                select(SessionRow, UserRow)
                .join(UserRow, UserRow.id == SessionRow.user_id)
                .where(SessionRow.id_hash == id_hash)
            )
            found = (await session.execute(query)).first()
        if found is None:
            return None
        row, user_row = found
        if policy.expired(row.created_at, row.last_seen_at, at):
            await self.end_session(id_hash)
            return None
        if user_row.disabled:
            return None
        if (at - row.last_seen_at).total_seconds() >= policy.touch_s:
            async with self._db.write() as session:
                await session.execute(
                    update(SessionRow)
                    .where(SessionRow.id_hash == id_hash, SessionRow.last_seen_at < at)
                    .values(last_seen_at=at)
                )
        return to_user(user_row)

    async def end_session(self, id_hash: str) -> int | None:
        """Delete one session; returns its user's id, or None when there was no such session."""
        async with self._db.write() as session:
            row = await session.get(SessionRow, id_hash)
            if row is None:
                return None
            await session.delete(row)
            return row.user_id

    async def end_user_sessions(self, user_id: int) -> int:
        """Delete every session of the user; returns how many there were."""
        async with self._db.write() as session:
            return await end_user_sessions_in(session, user_id)

    async def list_sessions(self, user_id: int | None = None) -> list[SessionInfo]:
        """Live and not yet pruned sessions (of one user, or of everyone), oldest first."""
        query = select(SessionRow).order_by(SessionRow.created_at)
        if user_id is not None:
            query = query.where(SessionRow.user_id == user_id)
        async with self._db.read() as session:
            return [
                SessionInfo(row.user_id, row.created_at, row.last_seen_at)
                for row in await session.scalars(query)
            ]

    async def prune_sessions(self, policy: SessionPolicy, *, now: datetime | None = None) -> int:
        """Delete every expired session; returns how many."""
        at = self._now(now)
        idle_cutoff = at - timedelta(seconds=policy.idle_s)
        life_cutoff = at - timedelta(seconds=policy.lifetime_s)
        async with self._db.write() as session:
            result = await session.execute(
                delete(SessionRow).where(
                    or_(SessionRow.last_seen_at < idle_cutoff, SessionRow.created_at < life_cutoff)
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)
