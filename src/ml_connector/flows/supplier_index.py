"""The supplier index of one connection: Visma's suppliers, read once and kept current.

Matching a Ramp vendor used to cost up to six Visma lookups (number, org number and VAT number
in two spellings each, then the name). The index replaces them: one paged read of
``GET /v1/supplier``, then delta reads (``lastModifiedDateTime`` with the condition ``>=``,
from the newest stamp read, less a two-minute overlap for writes that committed late), and
every match is a store query.

**Where it lives: in the store, not in memory.** The index is shared state of a connection,
not of a process:

- many workers serve one connection on PostgreSQL; a memory index would cost each of them its
  own full read of Visma (from the company's hourly quota) at every start, and its own delta
  reads, where one shared read serves them all;
- the memory benchmark (``bench/memory.py``) holds a process flat per connection; a
  company's suppliers (thousands of rows) per connection would break that;
- a restart keeps it: only a delta read follows, not a new full read.

Freshness has two rules. A match may use an index up to ``max_age_s`` old (a delta read
brings it current first when it is older). Before anything is *created*, the index must have
been read after the caller took its lock (``since``): the delta read then sees a supplier that
a person, or a worker that crashed before recording it, created meanwhile. One read serves
every caller whose lock is older than the read's start, in this process or another one.

A full read runs when there is no index yet, and again every ``full_every_s`` (a day), which
drops suppliers that were deleted in Visma. It takes a store lock, so several processes
starting together read the company once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from ml_connector.clients import VismaClient
from ml_connector.clients.visma_models import Supplier
from ml_connector.errors import ResourceBusy
from ml_connector.flows.ports import SupplierIndexStore
from ml_connector.mapping.identifiers import BusinessId, IdKind, parse_business_id
from ml_connector.mapping.vendor_identity import fold_name
from ml_connector.store import IndexedSupplier

__all__ = ["BLOCKED_STATUSES", "SupplierIndex", "index_entry", "indexed", "match_keys"]

# Supplier statuses that take no documents (Visma refuses invoices for them).
BLOCKED_STATUSES = ("Inactive", "OnHold")
_WATERMARK_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
_FULL_LOCK_TTL_S = 300.0


def _key(value: str | None, kind: IdKind, country: str | None) -> str | None:
    """The index key of a number as Visma holds it (``":12345678"`` when no country shows)."""
    if not value or not value.strip():
        return None
    parsed = parse_business_id(value, kind=kind, country_hint=country)
    return parsed.key if parsed is not None else None


def _stamp(value: datetime | None) -> str | None:
    """A Visma date-time as sortable text, in Visma's own (company) time, without an offset."""
    if value is None:
        return None
    return value.replace(tzinfo=None).strftime(_WATERMARK_FORMAT)


def index_entry(
    number: str,
    name: str,
    *,
    status: str | None = None,
    corporate_id: str | None = None,
    vat_registration_id: str | None = None,
    country: str | None = None,
    modified: datetime | None = None,
) -> IndexedSupplier:
    """An index row: the name folded, the numbers as keys (``country`` helps bare ones)."""
    return IndexedSupplier(
        number=number,
        name=name,
        name_key=fold_name(name),
        status=status or "Active",
        corporate_id=corporate_id,
        corporate_key=_key(corporate_id, IdKind.ORG, country),
        vat_registration_id=vat_registration_id,
        vat_key=_key(vat_registration_id, IdKind.VAT, country),
        modified=_stamp(modified),
    )


def indexed(supplier: Supplier) -> IndexedSupplier:
    """What the index keeps of a Visma supplier."""
    address = supplier.main_address
    return index_entry(
        supplier.number,
        supplier.name or "",
        status=supplier.status,
        corporate_id=supplier.corporate_id,
        vat_registration_id=supplier.vat_registration_id,
        country=address.country.id if address is not None and address.country else None,
        modified=supplier.last_modified_date_time,
    )


def match_keys(ids: Iterable[BusinessId]) -> tuple[str, ...]:
    """Index keys to look a vendor's numbers up by: ``"NO:923609016"`` also finds a supplier
    whose number shows no country (``":923609016"``)."""
    keys: list[str] = []
    for business_id in ids:
        keys += [business_id.key, f":{business_id.number}"]
    return tuple(dict.fromkeys(keys))


class SupplierIndex:
    """One connection's supplier index (see the module docstring)."""

    def __init__(
        self,
        visma: VismaClient,
        store: SupplierIndexStore,
        connection_id: int,
        *,
        owner: str = "worker",
        max_age_s: float = 300.0,
        full_every_s: float = 86_400.0,
        overlap_s: float = 120.0,
        clock: Callable[[], datetime],
    ) -> None:
        self._visma = visma
        self._store = store
        self._connection_id = connection_id
        self._owner = owner
        self.max_age_s = max_age_s
        self._full_every = timedelta(seconds=full_every_s)
        self._overlap = timedelta(seconds=overlap_s)
        self._clock = clock
        self._lock = asyncio.Lock()

    def now(self) -> datetime:
        return self._clock()

    async def current(self, *, since: datetime | None = None) -> None:
        """Bring the index up to date: fully read when missing (or a day old), else a delta
        read when the last read is older than ``max_age_s`` or began before ``since``."""
        async with self._lock:
            state = await self._store.supplier_index_state(self._connection_id)
            now = self._clock()
            if state is None or state.full_at is None or now - state.full_at > self._full_every:
                if await self._full_read(have_index=state is not None):
                    return
                state = await self._store.supplier_index_state(self._connection_id)
                if state is None:
                    return
            stale = (now - state.read_at).total_seconds() > self.max_age_s
            if stale or (since is not None and state.read_at < since):
                await self._delta_read(state.watermark)

    async def _full_read(self, *, have_index: bool) -> bool:
        """Read every supplier; False when another process holds the read and an index exists
        (the caller then reads a delta instead)."""
        lock = f"supplier-index:{self._connection_id}"
        started = self._clock()
        if not await self._store.try_lock(lock, self._owner, ttl_s=_FULL_LOCK_TTL_S, now=started):
            if have_index:
                return False
            raise ResourceBusy("another worker is reading Visma's suppliers", retry_after=2.0)
        try:
            watermark = await self._read_pages({})
            await self._store.mark_supplier_index_read(
                self._connection_id, started_at=started, watermark=watermark, full=True
            )
        finally:
            await self._store.release_lock(lock, self._owner)
        return True

    async def _delta_read(self, watermark: str | None) -> None:
        started = self._clock()
        if watermark is None:  # nothing read had a stamp (no suppliers yet): read them all
            filters: dict[str, object] = {}
        else:
            since = datetime.strptime(watermark, _WATERMARK_FORMAT) - self._overlap
            filters = {
                "last_modified_date_time": since,
                "last_modified_date_time_condition": ">=",
            }
        newest = await self._read_pages(filters)
        await self._store.mark_supplier_index_read(
            self._connection_id, started_at=started, watermark=newest, full=False
        )

    async def _read_pages(self, filters: dict[str, object]) -> str | None:
        """Upsert every supplier the list returns, page by page; the newest stamp seen."""
        batch: list[IndexedSupplier] = []
        newest: str | None = None
        async for supplier in self._visma.list_suppliers(**filters):
            entry = indexed(supplier)
            batch.append(entry)
            if entry.modified is not None and (newest is None or entry.modified > newest):
                newest = entry.modified
            if len(batch) >= 500:
                await self._store.upsert_indexed_suppliers(self._connection_id, batch)
                batch = []
        await self._store.upsert_indexed_suppliers(self._connection_id, batch)
        return newest

    async def remember(self, supplier: IndexedSupplier) -> None:
        """Add a supplier the connector just created (its stamp arrives with the next delta)."""
        await self._store.upsert_indexed_suppliers(self._connection_id, [supplier])

    async def find(
        self,
        *,
        numbers: Iterable[str] = (),
        keys: Iterable[str] = (),
        names: Iterable[str] = (),
    ) -> list[IndexedSupplier]:
        """Indexed suppliers with one of these numbers, keys or folded names (no Visma call)."""
        return await self._store.find_indexed_suppliers(
            self._connection_id, numbers=numbers, keys=keys, names=names
        )

    async def blocked(self) -> dict[str, str]:
        """Supplier number → status of the suppliers that take no documents, read afresh (the
        master data is loaded every few minutes; its blocked suppliers must be as current)."""
        await self.current(since=self._clock())
        return await self._store.indexed_supplier_statuses(self._connection_id, BLOCKED_STATUSES)

    async def numbers(self, prefix: str = "") -> list[str]:
        return await self._store.indexed_supplier_numbers(self._connection_id, prefix)
