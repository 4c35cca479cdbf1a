"""The receivers' cache of connections: which names exist, and each one's webhook secrets.

Both are read from the store at most once per TTL, and concurrent requests share one read, so
the hot path costs no store read per request, and neither does a flood of requests to names
nobody configured. Decrypted secrets are registered with the redactor as they are read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ml_connector.errors import ConnectorError, StoreError
from ml_connector.runtime.webhook_secrets import read_secrets
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection, EventSource

__all__ = ["CachedConnection", "SecretCache"]


@dataclass(frozen=True)
class CachedConnection:
    """A connection as the receivers saw it, with its active secrets per source."""

    connection: Connection
    secrets: Mapping[EventSource, tuple[str, ...]] = field(repr=False)
    loaded_at: float


_Load = tuple[float, "asyncio.Future[CachedConnection | None]"]


class SecretCache:
    """Connections and their decrypted webhook secrets, by name, kept briefly in memory."""

    def __init__(
        self, runtime: Runtime, *, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._runtime = runtime
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, CachedConnection] = {}
        self._loading: dict[str, tuple[float, asyncio.Future[CachedConnection | None]]] = {}
        self._names: frozenset[str] = frozenset()
        self._names_at = float("-inf")
        self._names_loading: asyncio.Future[frozenset[str]] | None = None

    async def known(self, name: str) -> bool:
        """Whether ``name`` is a configured connection, from a list read at most once per TTL
        (shared by concurrent callers), so unknown names never cost a store read each."""
        if name in self._entries or name in self._names:
            return True
        if self._clock() - self._names_at < self._ttl_s:
            return False
        if self._names_loading is None or self._names_loading.done():
            self._names_loading = asyncio.ensure_future(self._load_names())
        return name in await asyncio.shield(self._names_loading)

    async def _load_names(self) -> frozenset[str]:
        started = self._clock()
        names = frozenset(c.name for c in await self._runtime.store.list_connections())
        self._names, self._names_at = names, started
        return names

    async def get(self, name: str, *, loaded_after: float | None = None) -> CachedConnection | None:
        """The entry for ``name``: cached up to the TTL, and read no earlier than
        ``loaded_after`` when given. None when there is no such connection.

        Concurrent callers share one read. Raises StoreError or VaultError when the
        connection cannot be read or decrypted.
        """
        now = self._clock()
        cached = self._entries.get(name)
        if (
            cached is not None
            and now - cached.loaded_at < self._ttl_s
            and (loaded_after is None or cached.loaded_at >= loaded_after)
        ):
            return cached
        pending = self._loading.get(name)
        if pending is None or (loaded_after is not None and pending[0] < loaded_after):
            pending = (now, asyncio.ensure_future(self._load(name, now)))
            self._loading[name] = pending
            pending[1].add_done_callback(lambda _: self._forget_load(name, pending))
        # Shielded: one caller giving up must not cancel the read the others wait for.
        return await asyncio.shield(pending[1])

    def _forget_load(
        self, name: str, done: tuple[float, asyncio.Future[CachedConnection | None]]
    ) -> None:
        if self._loading.get(name) is done:
            del self._loading[name]

    async def _load(self, name: str, started: float) -> CachedConnection | None:
        try:
            connection = await self._runtime.store.get_connection(name)
        except ConnectorError as exc:
            if isinstance(exc, StoreError):
                raise
            self._entries.pop(name, None)
            return None
        creds = self._runtime.credentials(connection)
        secrets = {
            source: tuple(s.secret for s in read_secrets(creds, source)) for source in EventSource
        }
        self._runtime.redactor.add(s for group in secrets.values() for s in group)
        entry = CachedConnection(connection, secrets, started)
        self._entries[name] = entry
        return entry

    def clear(self) -> None:
        """Forget everything (the next request reads the store)."""
        self._entries.clear()
        self._names, self._names_at = frozenset(), float("-inf")
