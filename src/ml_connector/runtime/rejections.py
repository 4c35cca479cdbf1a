"""The receivers' rejection log, bounded: one row per refusal only where that is worth a row.

A refused webhook request leaves, at most, one row in ``rejections`` (size, sha256, a short
scrubbed excerpt; never headers). Two kinds of refusal are counted instead, in memory, and
added to one row per (scope, source, HTTP status) of ``rejection_tallies`` at most every
``flush_s`` seconds (and when the app stops):

- requests to a connection name nobody configured: anyone can send anything there, so they
  never write a row of their own (scope ``UNKNOWN_SCOPE``);
- refusals beyond ``rows_per_minute`` for one configured connection (scope: its name), so a
  flood of forged requests to a real name grows a count, not the table.

Log lines follow the same rule: a logged row is a warning; a counted refusal is a debug line,
and each flush logs one summary.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from ml_connector.audit import Redactor
from ml_connector.errors import ConnectorError
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import UNKNOWN_SCOPE, EventSource, Store

__all__ = ["RejectionLog", "RejectionPolicy"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RejectionPolicy:
    """How many rejection rows a connection may write per minute, how often counted
    rejections are written, and how long an excerpt may be."""

    rows_per_minute: int = 60
    flush_s: float = 10.0
    excerpt_chars: int = 120


class RejectionLog:
    """Writes or counts refused requests (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        redactor: Redactor,
        policy: RejectionPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._redactor = redactor
        self.policy = policy or RejectionPolicy()
        self._clock = clock
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._rows: dict[str, tuple[float, int]] = {}  # connection -> (minute start, rows)
        self._flushed_at = clock()
        self._flushing: asyncio.Task[None] | None = None

    @classmethod
    def of(
        cls,
        runtime: Runtime,
        policy: RejectionPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> RejectionLog:
        """The rejection log of ``runtime``'s store, scrubbed by its redactor."""
        return cls(runtime.store, runtime.redactor, policy, clock=clock)

    @property
    def counted(self) -> int:
        """Refusals counted in memory and not yet written."""
        return sum(self._counts.values())

    async def refuse(
        self,
        name: str,
        source: EventSource,
        status: int,
        reason: str,
        *,
        known: bool,
        body: bytes,
        size: int,
        excerpt: bool,
    ) -> None:
        """Log or count one refusal. ``known``: the name is a configured connection."""
        source = EventSource(source)
        scope = name if known else UNKNOWN_SCOPE
        if known and self._take_row(name):
            log.warning(
                "webhook rejected",
                connection=name,
                source=str(source),
                status=status,
                reason=reason,
            )
            try:
                await self._store.insert_rejection(
                    name,
                    source,
                    http_status=status,
                    reason=reason,
                    body_size=size,
                    body_sha256=hashlib.sha256(body).hexdigest() if body else None,
                    excerpt=self._excerpt(body) if excerpt and body else None,
                )
            except ConnectorError as exc:
                log.error("rejection not logged", connection=name, error=str(exc))
        else:
            log.debug("webhook rejected (counted)", scope=scope, source=str(source), status=status)
            self._counts[(scope, source.value, status)] += 1
        self._maybe_flush()

    def _take_row(self, name: str) -> bool:
        now = self._clock()
        started, rows = self._rows.get(name, (now, 0))
        if now - started >= 60.0:
            started, rows = now, 0
        if rows >= self.policy.rows_per_minute:
            self._rows[name] = (started, rows)
            return False
        self._rows[name] = (started, rows + 1)
        return True

    def _maybe_flush(self) -> None:
        due = self._clock() - self._flushed_at >= self.policy.flush_s
        if due and self._counts and (self._flushing is None or self._flushing.done()):
            self._flushing = asyncio.create_task(self.flush(), name="rejection-tally")

    async def flush(self) -> None:
        """Write the counted refusals; on a store error they are kept for the next flush."""
        self._flushed_at = self._clock()
        counts, self._counts = self._counts, Counter()
        if not counts:
            return
        try:
            await self._store.add_rejection_tallies(dict(counts))
        except ConnectorError as exc:
            self._counts.update(counts)
            log.error("rejection counts not written", error=str(exc))
            return
        log.info("webhook rejections counted", refused=sum(counts.values()))

    async def close(self) -> None:
        """Finish a flush in progress and write what is still counted."""
        if self._flushing is not None:
            await asyncio.shield(self._flushing)
        await self.flush()

    def _excerpt(self, body: bytes) -> str:
        text = body[: self.policy.excerpt_chars].decode("utf-8", errors="replace")
        printable = "".join(c if c.isprintable() else "?" for c in text)
        return self._redactor.scrub_text(printable)
