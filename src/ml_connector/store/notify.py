"""Cross-process wake-ups on PostgreSQL: NOTIFY when work is queued, LISTEN in the workers.

A transaction that queues work calls :func:`notify_work_in`, which runs
``SELECT pg_notify('ml_connector_work', '<connection id>')`` inside it; PostgreSQL delivers the
notification only when (and if) that transaction commits, so a listener never wakes for work it
cannot yet see. Notifications of one transaction with the same payload are folded into one.

Workers hold one dedicated asyncpg connection (outside the engine's pool, which recycles its
connections and would drop the LISTEN) through :meth:`NotifyRepository.listen_for_work`. The
listener is best effort by design: the worker still polls, so a missed notification only costs
latency. It therefore never raises into the worker; a lost connection is logged and re-opened
with capped exponential backoff, and the callback runs once after every (re)connect, because
notifications sent while nobody listened are gone.

The channel is database-wide (PostgreSQL channels ignore ``search_path``), so stores in
different schemas of one database wake each other; that costs an empty claim, nothing more.
On SQLite everything here is a no-op: one process shares the database, and it wakes its worker
in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ml_connector.store.engine import Database, Repository, describe_error

__all__ = ["WORK_CHANNEL", "Listener", "NotifyRepository", "listen", "notify_work_in"]

WORK_CHANNEL = "ml_connector_work"

log = structlog.get_logger(__name__)

# Options SQLAlchemy's asyncpg dialect understands but asyncpg.connect() does not.
_DIALECT_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func")


async def notify_work_in(
    db: Database, session: AsyncSession, connection_ids: Iterable[int]
) -> None:
    """Inside the caller's write transaction: announce work for these connections on commit.

    A no-op on SQLite and for an empty ``connection_ids``.
    """
    if db.dialect != "postgresql":
        return
    for connection_id in sorted(set(connection_ids)):
        await session.execute(select(func.pg_notify(WORK_CHANNEL, str(connection_id))))


@dataclass
class Listener:
    """A running LISTEN loop. ``connected`` is set while the LISTEN is in place."""

    connected: asyncio.Event = field(default_factory=asyncio.Event)
    connects: int = 0

    @property
    def reconnects(self) -> int:
        """How many times the LISTEN was re-opened after a loss."""
        return max(self.connects - 1, 0)


def _connect_args(db: Database) -> dict[str, Any]:
    """asyncpg.connect() keyword arguments for the engine's URL (password included)."""
    _, options = db.engine.dialect.create_connect_args(db.engine.url)
    args = dict(options)
    for name in _DIALECT_ONLY:
        args.pop(name, None)
    return args


async def _listen_once(
    db: Database,
    callback: Callable[[int | None], None],
    listener: Listener,
    *,
    channel: str,
    keepalive_s: float,
    connect_timeout_s: float,
) -> None:
    """Open a connection, LISTEN, and return once the connection is lost (or raise)."""
    lost = asyncio.Event()

    def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            connection_id: int | None = int(payload)
        except ValueError:
            connection_id = None
        callback(connection_id)

    conn = await asyncpg.connect(**_connect_args(db), timeout=connect_timeout_s)
    try:
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(channel, on_notify)
        listener.connected.set()
        if listener.connects:
            log.info("work listener reconnected", channel=channel)
        listener.connects += 1
        callback(None)  # anything queued while nobody listened
        while True:
            try:
                await asyncio.wait_for(lost.wait(), timeout=keepalive_s)
                return
            except TimeoutError:
                # A silent network cut never terminates the connection; a ping notices it.
                await conn.fetchval("SELECT 1", timeout=connect_timeout_s)
    finally:
        listener.connected.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), timeout=connect_timeout_s)


async def _serve(
    db: Database,
    callback: Callable[[int | None], None],
    listener: Listener,
    *,
    channel: str,
    backoff_s: float,
    max_backoff_s: float,
    keepalive_s: float,
    connect_timeout_s: float,
) -> None:
    """Keep a LISTEN open until cancelled, re-opening it with capped exponential backoff."""
    delay = backoff_s
    while True:
        connects = listener.connects
        try:
            await _listen_once(
                db,
                callback,
                listener,
                channel=channel,
                keepalive_s=keepalive_s,
                connect_timeout_s=connect_timeout_s,
            )
            log.warning("work listener lost its connection", channel=channel)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever breaks, listening is retried, never fatal
            log.warning(
                "work listener cannot listen",
                channel=channel,
                error=describe_error(exc),
                retry_in_s=round(delay, 3),
            )
        if listener.connects > connects:
            delay = backoff_s  # it did connect: start the backoff afresh
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_backoff_s)


@asynccontextmanager
async def listen(
    db: Database,
    callback: Callable[[int | None], None],
    *,
    channel: str = WORK_CHANNEL,
    backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
    keepalive_s: float = 30.0,
    connect_timeout_s: float = 10.0,
) -> AsyncIterator[Listener]:
    """Call ``callback(connection_id)`` for every notification on ``channel`` while in the block.

    ``callback(None)`` also runs after every (re)connect. The callback runs on the event loop
    and must not block. On SQLite nothing listens and the block just runs. Leaving the block
    stops the loop and closes its connection.
    """
    listener = Listener()
    if db.dialect != "postgresql":
        yield listener
        return
    task = asyncio.create_task(
        _serve(
            db,
            callback,
            listener,
            channel=channel,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            keepalive_s=keepalive_s,
            connect_timeout_s=connect_timeout_s,
        ),
        name="ml-connector-work-listener",
    )
    try:
        yield listener
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class NotifyRepository(Repository):
    """Cross-process wake-ups when work is queued (PostgreSQL; a no-op on SQLite)."""

    def listen_for_work(
        self,
        callback: Callable[[int | None], None],
        *,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        keepalive_s: float = 30.0,
    ) -> contextlib.AbstractAsyncContextManager[Listener]:
        """Listen for queued work in every process; see :func:`listen`."""
        return listen(
            self._db,
            callback,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            keepalive_s=keepalive_s,
        )
