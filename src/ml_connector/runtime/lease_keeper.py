"""Keep a claimed record's lease alive while its flow runs.

A worker claims a record with a lease (``lease_s``); when the lease runs out the record is due
again and another worker may claim it. That is how a killed worker's records come back. A
worker that is alive but slow (a long Visma call, a starved machine) must not lose its record
the same way: the second worker would find the bill's link ``attempted``, look the invoice up
before the first worker's POST had landed, and post it a second time. So while the flow runs,
the lease is pushed out every third of its length; only a dead worker stops renewing it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Protocol

import structlog

from ml_connector.errors import StoreError
from ml_connector.store import SyncRecord

__all__ = ["LeaseStore", "kept_lease"]

log = structlog.get_logger(__name__)


class LeaseStore(Protocol):
    async def extend_lease(
        self, record_id: int, owner: str, *, lease_s: float, now: datetime | None = None
    ) -> SyncRecord: ...


@contextlib.asynccontextmanager
async def kept_lease(
    store: LeaseStore,
    record_id: int,
    owner: str,
    lease_s: float,
    clock: Callable[[], datetime],
) -> AsyncIterator[None]:
    """Renew ``owner``'s lease on the record every ``lease_s / 3`` until the body ends.

    A renewal the store refuses (the lease was lost after all, say to a stalled event loop)
    is logged and ends the renewals; the state move at the end of the unit then fails as
    not leased, and the record's new holder carries on from the link.
    """

    async def renew() -> None:
        interval = lease_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await store.extend_lease(record_id, owner, lease_s=lease_s, now=clock())
            except StoreError as exc:
                log.warning("record lease lost", record_id=record_id, error=str(exc))
                return

    task = asyncio.create_task(renew(), name=f"lease-{record_id}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
