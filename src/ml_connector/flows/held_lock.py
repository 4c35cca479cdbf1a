"""A named store lock held on a short lease, renewed for as long as its holder works.

The supplier flows take a store lock (``store.locks``) before they match or create a vendor's
supplier. A lock that simply lasted a minute would, when its worker is killed, stall that vendor
for the whole minute. Instead the lock is taken for ``LOCK_LEASE_S`` and, while the holder is
alive and inside :func:`renewed`, extended every third of that: a live holder never loses it to
expiry, a dead one frees it ``LOCK_LEASE_S`` after its last renewal.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Protocol

from ml_connector.errors import StoreError

__all__ = ["LOCK_LEASE_S", "Locks", "renewed"]

LOCK_LEASE_S = 15.0
"""How long a supplier lock outlives its last renewal (so a killed holder's lock frees)."""


class Locks(Protocol):
    """The store's named leases, as the flows use them."""

    async def try_lock(
        self, name: str, owner: str, ttl_s: float, now: datetime | None = None
    ) -> bool: ...


@contextlib.asynccontextmanager
async def renewed(
    locks: Locks,
    name: str,
    owner: str,
    *,
    lease_s: float = LOCK_LEASE_S,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[None]:
    """Renew ``owner``'s lock ``name`` (already taken) every ``lease_s / 3`` inside the block.

    Renewal stops when the block ends (the caller then releases the lock) or when the lock has
    passed to someone else; the caller's own re-check with ``try_lock`` then says so.
    """

    async def renew() -> None:
        while True:
            await sleep(lease_s / 3)
            try:
                if not await locks.try_lock(name, owner, ttl_s=lease_s):
                    return
            except StoreError:  # the store went away: the lock lapses, the flow fails its own way
                return

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
