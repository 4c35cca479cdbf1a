"""The narrow store interfaces the flows see: what each flow reads and writes, and nothing more.

Flows never take the whole ``store.Store``. Each protocol here names one concern, with the
signatures the concrete store has (``Store`` satisfies them all structurally, with no
registration):

- ``LinkStore``: the Ramp↔Visma links, claimed, confirmed and updated exactly once;
- ``LockStore``: named leases across processes (vendor, supplier numbering, index reads);
- ``CursorStore``: small named values per connection (the supplier numbering cursor);
- ``AuditSink``: the audit trail a unit of work's timeline is flushed to;
- ``WriteBackQueue``: the outbox of write-backs to Ramp;
- ``RecordQueue``: the sync records a flow queues (a payment after its bill);
- ``ConnectionReader``: the connection's stored settings;
- ``ChartLedger``: what the chart push created in Ramp;
- ``SupplierIndexStore``: the connection's copy of Visma's suppliers.

``FlowStore`` is all of them: the type of ``FlowContext.store``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from ml_connector.store import (
    ChartEntry,
    Connection,
    IndexedSupplier,
    Link,
    LinkClaim,
    LinkKind,
    SupplierIndexState,
    SyncRecord,
    WriteBackItem,
)

__all__ = [
    "AuditSink",
    "ChartLedger",
    "ConnectionReader",
    "CursorStore",
    "FlowStore",
    "LinkStore",
    "LockStore",
    "RecordQueue",
    "SupplierIndexStore",
    "WriteBackQueue",
]


class LinkStore(Protocol):
    """The link rows: one per Ramp object, pointing at its Visma document."""

    async def get_link(self, connection_id: int, kind: LinkKind, ramp_id: str) -> Link | None: ...

    async def get_links(
        self,
        connection_id: int,
        keys: Iterable[tuple[LinkKind, str]],
        *,
        all_of: Iterable[LinkKind] = (),
    ) -> dict[tuple[LinkKind, str], Link]: ...

    async def list_links(self, connection_id: int, kind: LinkKind | None = None) -> list[Link]: ...

    async def claim_link(
        self,
        connection_id: int,
        kind: LinkKind,
        ramp_id: str,
        external_ref: str,
        owner: str,
        *,
        data: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> LinkClaim: ...

    async def confirm_link(
        self,
        connection_id: int,
        kind: LinkKind,
        ramp_id: str,
        visma_id: str,
        data: Mapping[str, Any] | None = None,
        *,
        external_ref: str | None = None,
        outbox: Sequence[WriteBackItem] = (),
        now: datetime | None = None,
    ) -> Link: ...

    async def update_link_data(
        self,
        connection_id: int,
        kind: LinkKind,
        ramp_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime | None = None,
    ) -> Link: ...


class LockStore(Protocol):
    """Named leases: held by one owner until released or ``ttl_s`` passes."""

    async def try_lock(
        self, name: str, owner: str, ttl_s: float, now: datetime | None = None
    ) -> bool: ...

    async def release_lock(self, name: str, owner: str) -> bool: ...

    async def lock_expiry(self, name: str, now: datetime | None = None) -> datetime | None: ...


class CursorStore(Protocol):
    """Small named values per connection."""

    async def get_cursor(self, connection_id: int, name: str) -> str | None: ...

    async def set_cursor(
        self, connection_id: int, name: str, value: str, *, now: datetime | None = None
    ) -> None: ...


class AuditSink(Protocol):
    """The hash-chained audit trail: entries of (record id, kind, data, time)."""

    async def record_audit(
        self,
        connection_id: int,
        entries: Sequence[tuple[int | None, str, Mapping[str, Any], datetime | None]],
    ) -> int: ...


class WriteBackQueue(Protocol):
    """The outbox of write-backs to Ramp, posted by the sender."""

    async def enqueue_writebacks(
        self, connection_id: int, items: Sequence[WriteBackItem], *, now: datetime | None = None
    ) -> None: ...


class RecordQueue(Protocol):
    """The sync records: a flow queues (or requeues) another object's unit of work."""

    async def upsert_record(
        self,
        connection_id: int,
        object_type: str,
        object_id: str,
        *,
        reason: str,
        replay: bool = False,
        now: datetime | None = None,
    ) -> SyncRecord: ...


class ConnectionReader(Protocol):
    """The stored connection, for its settings."""

    async def get_connection(self, name_or_id: str | int) -> Connection: ...


class ChartLedger(Protocol):
    """What the chart push created in Ramp, per connection."""

    async def list_chart_entries(
        self, connection_id: int, kind: str | None = None, scope: str | None = None
    ) -> list[ChartEntry]: ...

    async def record_chart_entries(
        self, connection_id: int, entries: Sequence[ChartEntry], *, now: datetime | None = None
    ) -> None: ...


class SupplierIndexStore(LockStore, Protocol):
    """The connection's index of Visma's suppliers, and the lease of a full read."""

    async def supplier_index_state(self, connection_id: int) -> SupplierIndexState | None: ...

    async def upsert_indexed_suppliers(
        self,
        connection_id: int,
        suppliers: Sequence[IndexedSupplier],
        *,
        now: datetime | None = None,
    ) -> None: ...

    async def mark_supplier_index_read(
        self, connection_id: int, *, started_at: datetime, watermark: str | None, full: bool
    ) -> None: ...

    async def find_indexed_suppliers(
        self,
        connection_id: int,
        *,
        numbers: Iterable[str] = (),
        keys: Iterable[str] = (),
        names: Iterable[str] = (),
    ) -> list[IndexedSupplier]: ...

    async def indexed_supplier_numbers(self, connection_id: int, prefix: str = "") -> list[str]: ...

    async def indexed_supplier_statuses(
        self, connection_id: int, statuses: Iterable[str]
    ) -> dict[str, str]: ...


class FlowStore(
    LinkStore,
    CursorStore,
    AuditSink,
    WriteBackQueue,
    RecordQueue,
    ConnectionReader,
    ChartLedger,
    SupplierIndexStore,
    Protocol,
):
    """Every store interface a connection's flows use (``FlowContext.store``)."""
