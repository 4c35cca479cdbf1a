"""Dashboard and admin-API users, and what they sign in with: API tokens and sessions.

The store keeps only what the web layer hands it: a password *hash* (argon2, computed in
``web/auth.py``), a token *digest* (SHA-256 of a random token) and a session id's SHA-256
(``store/sessions.py`` resolves sessions). Neither a password, a token nor a session id in the
clear ever reaches the database.

A user's ``connection_ids`` scope them to those connections; None means every connection.

User ids are never reused (revision 0008): ``AUTOINCREMENT`` on SQLite, an identity sequence on
PostgreSQL. Disabling a user, removing them, or changing their role or password deletes their
sessions in the same transaction, so no session outlives the access it was granted under.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ml_connector.errors import ConfigurationError, StoreError
from ml_connector.store.engine import Repository
from ml_connector.store.tables import Base

__all__ = [
    "UNCHANGED",
    "ApiTokenRow",
    "Role",
    "SessionRow",
    "Unchanged",
    "User",
    "UserRepository",
    "UserRow",
    "end_user_sessions_in",
    "to_user",
]

_JSON = JSON().with_variant(JSONB(), "postgresql")


class Role(StrEnum):
    """What a user may do: admins everything, operators act on records, viewers only look."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


_ROLES = "role IN (" + ", ".join(f"'{r.value}'" for r in Role) + ")"


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_ROLES, name="role"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    connection_ids: Mapped[list[int] | None] = mapped_column(_JSON, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class SessionRow(Base):
    """A dashboard session: the SHA-256 of its id, its user, its start and last use."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index(None, "user_id"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


async def end_user_sessions_in(session: AsyncSession, user_id: int) -> int:
    """Delete every session of the user inside the caller's transaction; returns how many."""
    result = await session.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class User:
    """A user as the web layer sees it. ``password_hash`` is never rendered or serialised."""

    id: int
    email: str
    password_hash: str
    role: Role
    connection_ids: frozenset[int] | None
    disabled: bool
    created_at: datetime

    def may_see(self, connection_id: int) -> bool:
        """True when the user's scope includes this connection."""
        return self.connection_ids is None or connection_id in self.connection_ids

    def __repr__(self) -> str:
        # The hash stays out of reprs: it would help an offline guessing attack.
        return f"User(id={self.id}, email={self.email!r}, role={self.role.value!r})"


class Unchanged:
    """The type of :data:`UNCHANGED`."""

    def __repr__(self) -> str:
        return "UNCHANGED"


# ``update_user(..., connection_ids=UNCHANGED)`` keeps the scope; None means every connection.
UNCHANGED = Unchanged()


def to_user(row: UserRow) -> User:
    ids = row.connection_ids
    return User(
        id=row.id,
        email=row.email,
        password_hash=row.password_hash,
        role=Role(row.role),
        connection_ids=None if ids is None else frozenset(int(i) for i in ids),
        disabled=row.disabled,
        created_at=row.created_at,
    )


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if "@" not in cleaned or len(cleaned) > 320:
        raise ConfigurationError(f"not an email address: {email!r}")
    return cleaned


class UserRepository(Repository):
    """Users and API tokens."""

    async def create_user(
        self,
        email: str,
        *,
        password_hash: str,
        role: Role,
        connection_ids: frozenset[int] | None = None,
        now: datetime | None = None,
    ) -> User:
        """A new user. Raises ConfigurationError when the email is taken."""
        row = UserRow(
            email=normalise_email(email),
            password_hash=password_hash,
            role=Role(role).value,
            connection_ids=None if connection_ids is None else sorted(connection_ids),
            disabled=False,
            created_at=self._now(now),
        )
        try:
            async with self._db.write() as session:
                session.add(row)
                await session.flush()
                return to_user(row)
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise ConfigurationError(f"a user {row.email!r} exists already") from None
            raise

    async def find_user(self, email: str) -> User | None:
        """The user with this email (case-insensitive), or None."""
        async with self._db.read() as session:
            query = select(UserRow).where(UserRow.email == email.strip().lower())
            row = (await session.scalars(query)).one_or_none()
            return None if row is None else to_user(row)

    async def get_user(self, user_id: int) -> User | None:
        async with self._db.read() as session:
            row = await session.get(UserRow, user_id)
            return None if row is None else to_user(row)

    async def list_users(self) -> list[User]:
        async with self._db.read() as session:
            rows = await session.scalars(select(UserRow).order_by(UserRow.id))
            return [to_user(row) for row in rows]

    async def add_api_token(self, user_id: int, digest: str, *, now: datetime | None = None) -> int:
        """Store a token's digest for the user; returns the token's row id."""
        row = ApiTokenRow(user_id=user_id, digest=digest, created_at=self._now(now))
        async with self._db.write() as session:
            session.add(row)
            await session.flush()
            return row.id

    async def user_for_token(self, digest: str, *, now: datetime | None = None) -> User | None:
        """The (enabled) user owning the token with this digest; stamps its last use."""
        async with self._db.write() as session:
            query = select(ApiTokenRow).where(ApiTokenRow.digest == digest)
            token = (await session.scalars(query)).one_or_none()
            if token is None:
                return None
            token.last_used_at = self._now(now)
            user = await session.get(UserRow, token.user_id)
            if user is None or user.disabled:
                return None
            return to_user(user)

    async def update_user(
        self,
        user_id: int,
        *,
        role: Role | None = None,
        connection_ids: frozenset[int] | Unchanged | None = UNCHANGED,
        disabled: bool | None = None,
        password_hash: str | None = None,
    ) -> User:
        """Change a user's role, scope, disabled flag or password hash; returns the new user.

        Arguments left at their defaults keep their value (``connection_ids=None`` widens the
        scope to every connection). A new role, a new password or disabling ends the user's
        sessions in the same transaction. Raises ConfigurationError when there is no such user.
        """
        async with self._db.write() as session:
            row = await session.get(UserRow, user_id)
            if row is None:
                raise ConfigurationError(f"no user with id {user_id}")
            before_role = row.role
            if role is not None:
                row.role = Role(role).value
            if not isinstance(connection_ids, Unchanged):
                row.connection_ids = None if connection_ids is None else sorted(connection_ids)
            if disabled is not None:
                row.disabled = disabled
            if password_hash is not None:
                row.password_hash = password_hash
            ends_sessions = (
                (role is not None and Role(role).value != before_role)
                or (disabled is True)
                or password_hash is not None
            )
            if ends_sessions:
                await end_user_sessions_in(session, user_id)
            return to_user(row)

    async def delete_user(self, user_id: int) -> bool:
        """Remove a user, their API tokens and sessions; False when there was no such user."""
        async with self._db.write() as session:
            row = await session.get(UserRow, user_id)
            if row is None:
                return False
            await session.execute(delete(ApiTokenRow).where(ApiTokenRow.user_id == user_id))
            await end_user_sessions_in(session, user_id)
            await session.delete(row)
            return True

    async def count_api_tokens(self) -> dict[int, int]:
        """How many API tokens each user holds (users without tokens are left out)."""
        async with self._db.read() as session:
            query = select(ApiTokenRow.user_id, func.count()).group_by(ApiTokenRow.user_id)
            return {int(uid): int(n) for uid, n in (await session.execute(query)).all()}

    async def revoke_api_tokens(self, user_id: int) -> int:
        """Delete every API token of the user; returns how many there were."""
        async with self._db.write() as session:
            tokens = list(
                await session.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == user_id))
            )
            for token in tokens:
                await session.delete(token)
            return len(tokens)
