"""F6 write-back: tell Ramp which bills are in Visma, in batches.

``POST /accounting/syncs`` takes many objects per call, so successful bills are collected and
posted together (one call per batch instead of one per bill). The idempotency key of a batch is
derived from the sorted bill ids, so re-posting the same batch after a timeout is harmless.

If Ramp refuses a batch (for instance because one bill in it was archived meanwhile), the batch
is split and each bill is posted on its own with its own key, so one bad bill never holds back
the rest. A bill whose write-back never lands stays "not synced" in Ramp, and the next polling
pass picks it up again: the flow finds its invoice through the link and only writes back.
"""

from __future__ import annotations

import asyncio
import uuid

import structlog

from ml_connector.clients import RampClient
from ml_connector.clients.ramp_models import SyncSuccess
from ml_connector.errors import FatalVendorError, VendorError

__all__ = ["WriteBack", "batch_key"]

log = structlog.get_logger(__name__)
_NAMESPACE = uuid.UUID("6a0c1c0e-0f57-4d7e-9b8e-1b2f0de5a7c3")


def batch_key(connection_id: int, sync_type: str, ids: list[str]) -> str:
    """The same key for the same batch, whoever posts it and however often."""
    return str(uuid.uuid5(_NAMESPACE, f"{connection_id}:{sync_type}:{','.join(sorted(ids))}"))


class WriteBack:
    """Buffers successful syncs of one connection and posts them in batches."""

    def __init__(
        self,
        ramp: RampClient,
        connection_id: int,
        *,
        sync_type: str = "BILL_SYNC",
        batch_size: int = 100,
    ) -> None:
        self._ramp = ramp
        self._connection_id = connection_id
        self._sync_type = sync_type
        self._batch_size = batch_size
        self._pending: dict[str, SyncSuccess] = {}
        self._lock = asyncio.Lock()
        self.posted: list[str] = []  # bill ids Ramp accepted, in order
        self.failed: dict[str, str] = {}  # bill id → why Ramp refused it

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def add(self, item: SyncSuccess) -> None:
        self._pending[item.id] = item
        if len(self._pending) >= self._batch_size:
            await self.flush()

    async def flush(self) -> None:
        """Post everything buffered; never raises (what fails stays unsynced in Ramp)."""
        async with self._lock:
            batch, self._pending = list(self._pending.values()), {}
            if batch:
                await self._post(batch)

    async def _post(self, batch: list[SyncSuccess]) -> None:
        key = batch_key(self._connection_id, self._sync_type, [item.id for item in batch])
        try:
            await self._ramp.post_sync(self._sync_type, key, successful=batch)
        except FatalVendorError as exc:
            if len(batch) > 1:
                for item in batch:
                    await self._post([item])
                return
            self.failed[batch[0].id] = exc.vendor_message or str(exc)
            log.warning("ramp refused write-back", bill=batch[0].id, error=str(exc))
            return
        except VendorError as exc:
            for item in batch:
                self.failed[item.id] = str(exc)
            log.warning("write-back failed; the next pass retries", error=str(exc))
            return
        self.posted.extend(item.id for item in batch)
