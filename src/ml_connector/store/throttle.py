"""Login throttling counters, shared by every process on the store (revision 0008).

One row per (scope, key): an email, a client address, one trusted browser, or the single global
counter (``app/login_throttle.py`` decides which apply to an attempt and hashes
the keys). Each row counts failures in a fixed window and, once the count passes the limit,
holds a lock until ``locked_until``. Every further lock of the same key doubles in length, up to
a ceiling, until the key has been quiet for that ceiling.

An attempt is counted *before* the password is checked (:meth:`take_login_attempt`), in one
write transaction that locks the rows involved, and given back when it succeeds
(:meth:`settle_login_success`). Parallel guesses therefore cannot all slip through before the
first failure is written, from one process or from many.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ml_connector.errors import StoreError
from ml_connector.store.engine import Repository
from ml_connector.store.tables import Base

__all__ = [
    "Counter",
    "LoginThrottleRow",
    "ThrottleRepository",
    "ThrottleRule",
    "ThrottleVerdict",
    "count_attempt",
]


class LoginThrottleRow(Base):
    __tablename__ = "login_throttle"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    lockouts: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime]


@dataclass(frozen=True)
class ThrottleRule:
    """At most ``limit`` failures per ``window_s`` for one key of one scope."""

    scope: str
    key: str
    limit: int
    window_s: float


@dataclass(frozen=True)
class ThrottleVerdict:
    """Whether an attempt may go on to the password check.

    When refused, ``retry_after_s`` says how long the longest lock involved still holds, and
    ``locked_now`` names the scopes this very attempt locked (the caller audits those once).
    """

    allowed: bool
    retry_after_s: float = 0.0
    locked_now: tuple[str, ...] = ()


@dataclass(frozen=True)
class Counter:
    """One key's state: failures in the window that began at ``window_start``, how many locks
    it has had since it was last quiet, and when it was last counted."""

    failures: int
    window_start: datetime
    lockouts: int
    last_at: datetime


def count_attempt(
    counter: Counter, rule: ThrottleRule, at: datetime, lockout_max_s: float
) -> tuple[Counter, float | None]:
    """The counter after one more attempt at ``at``, and the lock it earns (seconds) if any.

    The window restarts once ``window_s`` has passed; the lock history is forgotten once the
    key has been quiet for the lock ceiling. Passing the limit locks the key for
    ``window_s * 2**lockouts``, at most ``lockout_max_s`` (never less than one window).
    """
    failures, window_start, lockouts = counter.failures, counter.window_start, counter.lockouts
    if (at - window_start).total_seconds() >= rule.window_s:
        failures, window_start = 0, at
    ceiling_s = max(lockout_max_s, rule.window_s)
    if (at - counter.last_at).total_seconds() >= ceiling_s:
        lockouts = 0
    failures += 1
    if failures <= rule.limit:
        return Counter(failures, window_start, lockouts, at), None
    lock_s = float(min(rule.window_s * 2 ** min(lockouts, 30), ceiling_s))
    return Counter(0, at, lockouts + 1, at), lock_s


def _locked_for(rows: Sequence[LoginThrottleRow | None], at: datetime) -> float | None:
    """The longest lock still holding on any of ``rows`` (seconds), or None."""
    waits = [(r.locked_until - at).total_seconds() for r in rows if r and r.locked_until]
    return max(waits) if any(wait > 0 for wait in waits) else None


class ThrottleRepository(Repository):
    """Count login attempts against limits, across processes."""

    async def take_login_attempt(
        self,
        rules: Sequence[ThrottleRule],
        *,
        lockout_max_s: float,
        now: datetime | None = None,
    ) -> ThrottleVerdict:
        """Count one attempt against every rule, or refuse it when a key is locked.

        A refused attempt while locked counts nothing: it neither extends the lock nor writes
        a row, not even for keys seen for the first time. The attempt that passes a limit
        locks that key and is refused itself.
        """
        at = self._now(now)
        ordered = sorted(rules, key=lambda r: (r.scope, r.key))  # one lock order: no deadlock
        async with self._db.write() as session:
            found = [
                await session.get(LoginThrottleRow, (r.scope, r.key), with_for_update=True)
                for r in ordered
            ]
            held = _locked_for(found, at)
            if held is not None:
                return ThrottleVerdict(False, held)  # nothing written, not even new keys
            rows = [
                row if row is not None else await self._create(session, rule, at)
                for rule, row in zip(ordered, found, strict=True)
            ]
            # A row created meanwhile by concurrent attempts may have been locked by them.
            held = _locked_for(rows, at)
            if held is not None:
                return ThrottleVerdict(False, held)
            locked: list[tuple[str, float]] = []
            for rule, row in zip(ordered, rows, strict=True):
                before = Counter(row.failures, row.window_start, row.lockouts, row.last_at)
                after, lock_s = count_attempt(before, rule, at, lockout_max_s)
                row.failures, row.window_start = after.failures, after.window_start
                row.lockouts, row.last_at = after.lockouts, after.last_at
                if lock_s is not None:
                    row.locked_until = at + timedelta(seconds=lock_s)
                    locked.append((rule.scope, lock_s))
            if locked:
                return ThrottleVerdict(
                    False, max(s for _, s in locked), tuple(sorted({c for c, _ in locked}))
                )
            return ThrottleVerdict(True)

    async def _create(
        self, session: AsyncSession, rule: ThrottleRule, at: datetime
    ) -> LoginThrottleRow:
        """The rule's row, created fresh; a concurrent creator makes this wait, not fail."""
        await session.execute(
            self._db.insert(LoginThrottleRow)
            .values(
                scope=rule.scope,
                key=rule.key,
                failures=0,
                window_start=at,
                locked_until=None,
                lockouts=0,
                last_at=at,
            )
            .on_conflict_do_nothing()
        )
        row = await session.get(LoginThrottleRow, (rule.scope, rule.key), with_for_update=True)
        if row is None:  # pragma: no cover - the insert or a committed concurrent one made it
            raise StoreError(f"login counter {rule.scope} could not be created")
        return row

    async def settle_login_success(
        self, rules: Sequence[ThrottleRule], *, reset_scopes: frozenset[str]
    ) -> None:
        """Give back a successful attempt: rows of ``reset_scopes`` start afresh (their
        failures and lock history are forgotten), the others lose the one count taken."""
        ordered = sorted(rules, key=lambda r: (r.scope, r.key))
        async with self._db.write() as session:
            for rule in ordered:
                where = (LoginThrottleRow.scope == rule.scope, LoginThrottleRow.key == rule.key)
                if rule.scope in reset_scopes:
                    await session.execute(delete(LoginThrottleRow).where(*where))
                else:
                    await session.execute(
                        update(LoginThrottleRow)
                        .where(*where, LoginThrottleRow.failures > 0)
                        .values(failures=LoginThrottleRow.failures - 1)
                    )

    async def throttle_row(self, scope: str, key: str) -> tuple[int, datetime | None] | None:
        """(failures in the current window, locked until) of one key, or None (for tests and
        ``users`` diagnostics)."""
        async with self._db.read() as session:
            row = await session.get(LoginThrottleRow, (scope, key))
            return None if row is None else (row.failures, row.locked_until)

    async def prune_login_throttle(self, *, idle_s: float, now: datetime | None = None) -> int:
        """Delete rows untouched for ``idle_s`` that hold no lock; returns how many."""
        at = self._now(now)
        async with self._db.write() as session:
            result = await session.execute(
                delete(LoginThrottleRow).where(
                    LoginThrottleRow.last_at < at - timedelta(seconds=idle_s),
                    or_(
                        LoginThrottleRow.locked_until.is_(None), LoginThrottleRow.locked_until <= at
                    ),
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)
