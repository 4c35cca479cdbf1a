"""What a flow gets to work with for one connection: clients, store, rules, caches, timeline.

Flows never build clients or open databases; the composition root (``runtime.wiring``) builds a
``FlowContext`` per connection and hands it in. Master data (accounts, segments, projects, VAT,
periods) is fetched once per ``ttl_s`` and shared by every unit of work of the connection.
Flows read the wall clock only through the context's ``clock``, which the runtime injects.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ml_connector.audit import AuditKind, Redactor
from ml_connector.clients import CallRecord, RampClient, VismaClient
from ml_connector.clients.ramp_models import Bill
from ml_connector.clients.visma_models import Project
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.flows.coding import is_credit
from ml_connector.flows.ports import AuditSink, FlowStore
from ml_connector.flows.supplier_index import SupplierIndex
from ml_connector.flows.supplier_options import SupplierOptions
from ml_connector.flows.writeback import WriteBack
from ml_connector.mapping.coding import CodingRules
from ml_connector.mapping.master_data import (
    AccountInfo,
    MasterData,
    PeriodInfo,
    ProjectInfo,
    SegmentInfo,
    TaskInfo,
    VatInfo,
)
from ml_connector.metrics import observe_call

__all__ = [
    "SUPPLIER_MATCH_STEPS",
    "Clock",
    "ConnectionOptions",
    "FlowContext",
    "MasterDataCache",
    "Timeline",
    "credit_memo_prefix",
    "current_timeline",
    "supplier_match_order",
]


# The F2 supplier match steps (see flows.suppliers), in their default order.
SUPPLIER_MATCH_STEPS = ("remote_id", "org_number", "vat_number", "name")


@dataclass(frozen=True)
class ConnectionOptions:
    """Per-connection behaviour switches, stored with the connection's settings."""

    sync_on_creation: bool = False  # sync bills when created, not only once approved
    post_on_hold: bool = False  # create invoices on Hold for review in Visma
    attach_files: bool = True
    write_back: bool = True  # mark bills synced in Ramp (F6)
    tax_calculation_mode: str = "Gross"  # Ramp amounts include VAT
    # F2 match steps, in order; leaving one out skips it (the stored link always comes first).
    supplier_match: tuple[str, ...] = SUPPLIER_MATCH_STEPS
    # Our rule, off by default: a bill whose memo starts with this is a vendor credit (DebitAdj).
    credit_memo_prefix: str | None = None

    @classmethod
    def from_settings(cls, settings: ConnectionSettings) -> ConnectionOptions:
        known = {
            k: getattr(settings, k)
            for k in settings.model_fields_set & set(cls.__dataclass_fields__)
        }
        if "supplier_match" in known:
            known["supplier_match"] = supplier_match_order(known["supplier_match"])
        if "credit_memo_prefix" in known:
            known["credit_memo_prefix"] = credit_memo_prefix(known["credit_memo_prefix"])
        return cls(**known)

    def is_credit(self, bill: Bill) -> bool:
        """Whether F1 writes ``bill`` as a vendor credit (``DebitAdj``): see flows.coding."""
        return is_credit(bill, self.credit_memo_prefix)


def credit_memo_prefix(value: Any) -> str | None:
    """A validated credit memo prefix: None or empty turns the rule off."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError('credit_memo_prefix must be text, e.g. "[CREDIT]"')
    text = value.strip()
    if len(text) > 40:
        raise ConfigurationError("credit_memo_prefix is limited to 40 characters")
    return text or None


def supplier_match_order(steps: Any) -> tuple[str, ...]:
    """A validated match order: known step names, each at most once."""
    if isinstance(steps, str):
        steps = [s.strip() for s in steps.split(",") if s.strip()]
    if not isinstance(steps, list | tuple) or not all(isinstance(s, str) for s in steps):
        raise ConfigurationError("supplier_match must be a list of match step names")
    unknown = [s for s in steps if s not in SUPPLIER_MATCH_STEPS]
    if unknown or len(set(steps)) != len(steps):
        raise ConfigurationError(
            f"supplier_match takes each of {', '.join(SUPPLIER_MATCH_STEPS)} at most once, "
            f"not {', '.join(steps)}"
        )
    return tuple(steps)


# The wall clock a connection's flows read (aware, UTC); the runtime injects it.
Clock = Callable[[], datetime]


@dataclass
class Timeline:
    """The audit entries of one unit of work, buffered and written in one transaction.

    ``clock`` stamps each entry (the flow context's clock).
    """

    connection_id: int
    record_id: int | None
    redactor: Redactor
    clock: Clock
    entries: list[tuple[str, dict[str, Any], datetime]] = field(default_factory=list)

    def add(self, kind: AuditKind, data: dict[str, Any]) -> None:
        self.entries.append((kind.value, self.redactor.scrub(data), self.clock()))

    def api_call(self, call: CallRecord) -> None:
        self.add(
            AuditKind.API_CALL,
            {
                "system": call.system,
                "method": call.method,
                "path": call.path,
                "status": call.status,
                "duration_ms": call.duration_ms,
                "request": call.request_body,
                "response": call.response_body,
                "error": call.error,
            },
        )

    async def flush(self, store: AuditSink) -> None:
        entries, self.entries = self.entries, []
        await store.record_audit(
            self.connection_id, [(self.record_id, kind, data, at) for kind, data, at in entries]
        )


current_timeline: contextvars.ContextVar[Timeline | None] = contextvars.ContextVar(
    "current_timeline", default=None
)


def record_call(call: CallRecord) -> None:
    """The clients' ``on_call`` hook: file the call under the unit of work that made it."""
    observe_call(call)
    timeline = current_timeline.get()
    if timeline is not None:
        timeline.api_call(call)


class MasterDataCache:
    """Visma master data for one connection, refreshed at most every ``ttl_s`` seconds.

    Which suppliers are blocked (Inactive, OnHold) comes from the supplier index, not from
    lists of its own.
    """

    def __init__(
        self,
        visma: VismaClient,
        suppliers: SupplierIndex,
        *,
        ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._visma = visma
        self._suppliers = suppliers
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._value: MasterData | None = None
        self._loaded_at = 0.0

    def invalidate(self) -> None:
        self._value = None

    async def get(self) -> MasterData:
        async with self._lock:
            if self._value is None or self._clock() - self._loaded_at > self._ttl_s:
                self._value = await self._load()
                self._loaded_at = self._clock()
            return self._value

    async def _load(self) -> MasterData:
        accounts = {
            a.number: AccountInfo(a.description or "", a.active)
            for a in await self._visma.list_accounts()
        }
        dimension = await self._visma.get_dimension("SUBACCOUNT")
        segments = {
            s.segment_id: SegmentInfo(
                s.description or f"Segment {s.segment_id}",
                bool(s.validate_values),
                {v.value_id: v.active for v in s.segment_values},
                {v.value_id: v.description or "" for v in s.segment_values},
            )
            for s in (dimension.segments if dimension else ())
        }
        # Each project's tasks come with the project list (ProjectDto.tasks): no extra calls.
        projects = {p.project_id: _project_info(p) async for p in self._visma.list_projects()}
        vat_codes = await self._visma.list_vat()
        vat = frozenset(v.vat_id for v in vat_codes)
        vat_details = {v.vat_id: VatInfo(v.description or "", v.not_valid_after) for v in vat_codes}
        periods = {
            p.period: PeriodInfo(
                p.closed_in_supplier_ledger, p.active is not False, p.start_date, p.end_date
            )
            for p in await self._visma.list_financial_periods()
        }
        currencies = frozenset(await self._visma.list_currencies())
        blocked = await self._suppliers.blocked()
        return MasterData(
            accounts,
            segments,
            projects,
            vat,
            periods,
            currencies or None,
            blocked,
            vat_details,
        )


def _project_info(project: Project) -> ProjectInfo:
    tasks = {
        t.task_id: TaskInfo(
            t.description or "", t.status or "Active", t.visible_in_ap, t.visible_in_po
        )
        for t in project.tasks
    }
    return ProjectInfo(
        project.status or "Active",
        project.visible_in_ap,
        project.description or "",
        tasks,
        project.visible_in_po,
    )


@dataclass
class FlowContext:
    """Everything a flow needs for one connection."""

    connection_id: int
    connection_name: str
    ramp: RampClient
    visma: VismaClient
    store: FlowStore  # the narrow interfaces of flows.ports; the concrete Store has them all
    rules: CodingRules
    options: ConnectionOptions
    master: MasterDataCache
    redactor: Redactor
    writeback: WriteBack
    suppliers: SupplierIndex  # Visma's suppliers, for matching vendors (store-backed)
    # The wall clock: the day of a bill or payment Ramp gives no date, audit entry times.
    clock: Clock
    supplier_options: SupplierOptions = field(default_factory=SupplierOptions)
    owner: str = "worker"
    vendor_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    # How long a unit of work polls a Visma release running in the background (flows.releases).
    release_wait_s: float = 20.0

    def vendor_lock(self, vendor_id: str) -> asyncio.Lock:
        """An in-process lock per Ramp vendor (the store lock guards across processes)."""
        return self.vendor_locks.setdefault(vendor_id, asyncio.Lock())

    def note(self, kind: AuditKind, data: dict[str, Any]) -> None:
        timeline = current_timeline.get()
        if timeline is not None:
            timeline.add(kind, data)
