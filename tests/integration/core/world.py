"""The core fault tests' world: both sandboxes, a scratch store, and Runtimes wired in-process.

``open_world`` loads one dataset into a Ramp and a Visma sandbox, opens a scratch database
(SQLite file or PostgreSQL schema), builds a ``Runtime`` whose clients reach the sandboxes
through ``httpx.ASGITransport``, and adds one connection configured as an operator would.

Every sandbox app is wrapped in a ``Hooks`` layer: a test can run an action right after the
n-th answered call to a path (revoke tokens mid-run, move a sandbox clock, change a secret),
which is how "something happens in the middle of a pass" is staged without touching our code.

``World.check_exactly_once`` is the invariant each fault test ends with: one Visma supplier
invoice per ready bill, no duplicate suppliers, and every ready bill either synced or waiting
for a person with a readable reason.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from integration.core.company import READY_BILLS, VAT_BY_ACCOUNT, core_dataset
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.flows.coding import CREDIT_MEMO_PREFIX
from ml_connector.flows.suppliers import normalise_name
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.sync import SyncSummary, sync_once
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.faults import JournalEntry
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import Dataset
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.settings import Settings
from ml_connector.store import LinkKind, SyncRecord, SyncStatus
from ml_connector.store.testing import Backend, ScratchDatabase, scratch_database
from ml_connector.vault import Vault

__all__ = [
    "FAST",
    "INVOICE_PATH",
    "NOTE_PREFIX",
    "Hooks",
    "SandboxClock",
    "World",
    "open_world",
]

RAMP_ORIGIN, VISMA_ORIGIN = "http://ramp.test", "http://visma.test"
RAMP_ID, RAMP_SECRET = "ramp-core-client", "ramp-core-secret-7f3a"
VISMA_ID, VISMA_SECRET = "visma-core-client", "visma-core-secret-91bd"
TENANT, COMPANY = "c0de0000-7e57-4000-8000-00000000c0de", "4711"
NOTE_PREFIX = "ramp-bill:"
INVOICE_PATH = "/v1/supplierInvoice"
SUPPLIER_PATH = "/v1/supplier"
# Durable retries that fall due at once, so a pass settles in milliseconds.
FAST = RetryPolicy(max_attempts=8, base_s=0.01, cap_s=0.05, floor_s=0.01)

Action = Callable[[], object]  # what it returns is ignored


class SandboxClock:
    """Wall-clock time plus an offset a test can move forward (token expiry, for instance)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class _Hook:
    method: str
    path: str
    nth: int
    action: Action
    seen: int = 0


class Hooks:
    """ASGI wrapper: after the ``nth`` answered ``method path`` call, run ``action`` once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._hooks: list[_Hook] = []

    def after(self, method: str, path: str, nth: int, action: Action) -> None:
        """Run ``action`` right after the ``nth`` call (1-based) to exactly ``path``."""
        self._hooks.append(_Hook(method.upper(), path, nth, action))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] != "http":
            return
        for hook in self._hooks:
            if hook.method == scope["method"] and hook.path == scope["path"]:
                hook.seen += 1
                if hook.seen == hook.nth:
                    hook.action()


@dataclass
class World:
    """Both sandboxes, the scratch database, and the Runtime(s) wired to them."""

    ramp: RampSandbox
    visma: VismaSandbox
    ramp_hooks: Hooks
    visma_hooks: Hooks
    db: ScratchDatabase
    settings: Settings
    runtime: Runtime
    connection_id: int
    name: str = "core"
    ready: tuple[str, ...] = READY_BILLS
    runtimes: list[Runtime] = field(default_factory=list)

    # --- running -------------------------------------------------------------------------

    async def open_runtime(self, owner: str) -> Runtime:
        """Another Runtime (its own store engine, clients and caches) on the same database."""
        runtime = _runtime_on(self.db, self.settings, owner, self.ramp_hooks, self.visma_hooks)
        self.runtimes.append(runtime)
        return runtime

    async def sync(
        self,
        runtime: Runtime | None = None,
        *,
        settle_s: float = 10.0,
        policy: RetryPolicy = FAST,
        concurrency: int = 8,
    ) -> SyncSummary:
        """One ``sync --once`` pass with quick durable retries."""
        return await sync_once(
            runtime or self.runtime,
            self.name,
            settle_s=settle_s,
            policy=policy,
            concurrency=concurrency,
        )

    async def requeue(self, *bill_ids: str) -> None:
        """Queue bills again, as a webhook (or an operator's replay) would."""
        for bill_id in bill_ids:
            await self.runtime.store.upsert_record(
                self.connection_id, "bill", bill_id, reason="test: replay", replay=True
            )

    # --- looking at the result -----------------------------------------------------------

    def invoices_by_bill(self) -> dict[str, list[dict[str, Any]]]:
        """Visma supplier documents grouped by the Ramp bill id in their note."""
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for invoice in self.visma.invoices():
            note = str(invoice.get("note") or "")
            if NOTE_PREFIX in note:
                grouped[note.split(NOTE_PREFIX, 1)[1].split()[0]].append(invoice)
        return dict(grouped)

    def invoice_of(self, bill_id: str) -> dict[str, Any]:
        """The one Visma document of a bill (fails the test when there is not exactly one)."""
        found = self.invoices_by_bill().get(bill_id, [])
        assert len(found) == 1, f"bill {bill_id}: {len(found)} Visma documents"
        return found[0]

    def invoice_posts(self) -> list[JournalEntry]:
        """Every ``POST /v1/supplierInvoice`` the Visma sandbox received (attachments excluded)."""
        return [e for e in self.visma.journal.entries("POST") if e.path == INVOICE_PATH]

    def supplier_posts(self) -> list[JournalEntry]:
        return [e for e in self.visma.journal.entries("POST") if e.path == SUPPLIER_PATH]

    def token_requests(self, system: str) -> list[JournalEntry]:
        """Token requests a sandbox received (``system``: ramp or visma)."""
        if system == "ramp":
            return self.ramp.journal.entries("POST", "/developer/v1/token")
        return self.visma.journal.entries("POST", "/connect/token")

    async def records(self) -> dict[str, SyncRecord]:
        """The connection's sync records by Ramp object id."""
        rows = await self.runtime.store.list_records(self.connection_id, limit=10_000)
        return {row.object_id: row for row in rows}

    async def check_exactly_once(
        self, *, allow_retrying: bool = False, expect_attention: tuple[str, ...] = ()
    ) -> None:
        """The invariant every fault test ends with (see the module docstring).

        ``expect_attention`` names bills that must end as needs_attention with a reason.
        """
        grouped = self.invoices_by_bill()
        twins = {bill: len(docs) for bill, docs in grouped.items() if len(docs) > 1}
        assert not twins, f"duplicate Visma documents per bill: {twins}"
        assert set(grouped) <= set(self.ready), f"documents for unready bills: {set(grouped)}"
        self.check_suppliers_unique()
        records = await self.records()
        for bill_id in self.ready:
            record = records.get(bill_id)
            assert record is not None, f"bill {bill_id} was never queued"
            if bill_id in expect_attention:
                assert record.status is SyncStatus.NEEDS_ATTENTION, (bill_id, record.status)
                assert bill_id not in grouped
            if bill_id in grouped and record.status is SyncStatus.SUCCEEDED:
                number = grouped[bill_id][0]["referenceNumber"]
                assert record.visma_ref == f"{grouped[bill_id][0]['documentType']}/{number}"
            elif bill_id in grouped:
                # Written to Visma, but a later step (attachment, write-back) still waits.
                assert allow_retrying, (bill_id, record.status, record.last_error)
                assert record.status is SyncStatus.RETRY_WAIT, (bill_id, record.status)
            elif record.status is SyncStatus.NEEDS_ATTENTION:
                assert record.last_error, f"bill {bill_id} needs attention without a reason"
                assert record.hint, f"bill {bill_id} needs attention without a hint"
            else:
                allowed = {SyncStatus.RETRY_WAIT} if allow_retrying else set()
                assert record.status in allowed, (bill_id, record.status, record.last_error)

    def check_suppliers_unique(self) -> None:
        """No two Visma suppliers share a normalised name or an organisation number."""
        suppliers = self.visma.suppliers()
        names = Counter(normalise_name(str(s.get("name") or "")) for s in suppliers)
        orgs = Counter(
            re.sub(r"[^0-9A-Z]", "", str(s["corporateId"]).upper())
            for s in suppliers
            if s.get("corporateId")
        )
        assert not {n: c for n, c in names.items() if c > 1}, f"duplicate suppliers: {names}"
        assert not {o: c for o, c in orgs.items() if c > 1}, f"duplicate org numbers: {orgs}"

    async def check_vendors_linked_in_ramp(self) -> None:
        """Every vendor with a confirmed supplier link points at that supplier in Ramp too."""
        links = await self.runtime.store.list_links(self.connection_id, LinkKind.VENDOR)
        confirmed = {link.ramp_id: link.visma_id for link in links if link.visma_id}
        assert confirmed, "no vendor was linked"
        remote = {v: self.ramp.state.vendors[v].accounting_vendor_remote_id for v in confirmed}
        assert remote == confirmed

    def check_synced_in_ramp(self, bill_ids: tuple[str, ...]) -> None:
        """Each bill is BILL_SYNCED in Ramp with the Visma reference number."""
        for bill_id in bill_ids:
            bill = self.ramp.state.bills[bill_id]
            assert bill.sync_status.value == "BILL_SYNCED", (bill_id, bill.sync_status)
            number = self.invoice_of(bill_id)["referenceNumber"]
            assert bill.sync_reference == number


def operator_settings(dataset: Dataset) -> dict[str, Any]:
    """The mapping an operator enters: a VAT code per account, 0 otherwise; and the credit memo
    rule on, because the test company marks its vendor credits with ``[CREDIT]``."""
    known = {a.number for a in dataset.accounts}
    vat = {number: code for number, code in VAT_BY_ACCOUNT.items() if number in known}
    return {
        "mapping": {"vat_by_account": vat, "default_vat": "0"},
        "credit_memo_prefix": CREDIT_MEMO_PREFIX,
    }


def credentials() -> dict[str, str]:
    return {
        "ramp_client_id": RAMP_ID,
        "ramp_client_secret": RAMP_SECRET,
        "visma_client_id": VISMA_ID,
        "visma_client_secret": VISMA_SECRET,
        "visma_tenant_id": TENANT,
        "visma_company_id": COMPANY,
    }


@asynccontextmanager
async def open_world(
    directory: Path,
    *,
    dataset: Dataset | None = None,
    backend: Backend = "sqlite",
    postgres_url: str | None = None,
    http_timeout_s: float = 10.0,
    connection_settings: dict[str, Any] | None = None,
    visma_clock: Callable[[], float] | None = None,
    ramp_clock: Callable[[], float] | None = None,
    visma_token_ttl_s: int = 3600,
    owner: str = "core-a",
    visma_options: dict[str, Any] | None = None,
    ramp_options: dict[str, Any] | None = None,
    **settings: Any,
) -> AsyncIterator[World]:
    """Both sandboxes with ``dataset`` (the core company by default) and a Runtime on them.

    ``visma_options`` and ``ramp_options`` are sandbox options (``behaviour=CompanyBehaviour(
    …)``, ``allowed_scopes=…``, ``file_url_ttl_s=…``). Extra keyword arguments are
    ``Settings`` fields for the process (``token_leeway_s=5``).
    """
    dataset = dataset or core_dataset()
    ramp = RampSandbox(
        RAMP_ID,
        RAMP_SECRET,
        dataset=dataset,
        rate_limit=100_000,
        **_clock(ramp_clock),
        **(ramp_options or {}),
    )
    visma = VismaSandbox(
        VISMA_ID,
        VISMA_SECRET,
        TENANT,
        COMPANY,
        dataset=dataset,
        token_ttl_s=visma_token_ttl_s,
        **_clock(visma_clock),
        **(visma_options or {}),
    )
    process_settings = Settings(
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=directory / "unused.key",
        http_timeout_s=http_timeout_s,
        **settings,
    )
    ramp_hooks, visma_hooks = Hooks(ramp.app), Hooks(visma.app)
    async with scratch_database(backend, directory=directory, postgres_url=postgres_url) as db:
        opened: list[Runtime] = []
        try:
            if backend == "sqlite":
                # The composition root exactly as the CLI uses it, on the scratch file.
                runtime = await Runtime.open(
                    process_settings.model_copy(update={"database_url": db.url}),
                    transports=_transports(ramp_hooks, visma_hooks),
                )
                runtime.owner = owner
            else:  # Settings cannot name a PostgreSQL schema: hand the Runtime its store
                runtime = _runtime_on(db, process_settings, owner, ramp_hooks, visma_hooks)
            opened.append(runtime)
            connection = await admin.add_connection(
                Actor.local_admin("tests"),
                runtime,
                "core",
                credentials=credentials(),
                ramp_base_url=RAMP_ORIGIN,
                visma_base_url=VISMA_ORIGIN,
                visma_token_url=f"{VISMA_ORIGIN}/connect/token",
                settings=connection_settings or operator_settings(dataset),
            )
            yield World(
                ramp=ramp,
                visma=visma,
                ramp_hooks=ramp_hooks,
                visma_hooks=visma_hooks,
                db=db,
                settings=process_settings,
                runtime=runtime,
                connection_id=connection.id,
                name=connection.name,
                runtimes=opened,
            )
        finally:
            for each in opened:
                await each.close()


def _transports(ramp: Hooks, visma: Hooks) -> dict[str, httpx.AsyncBaseTransport]:
    """Fresh in-process transports to both sandboxes, through their hooks."""
    return {
        RAMP_ORIGIN: httpx.ASGITransport(app=ramp),
        VISMA_ORIGIN: httpx.ASGITransport(app=visma),
    }


def _runtime_on(
    db: ScratchDatabase, settings: Settings, owner: str, ramp: Hooks, visma: Hooks
) -> Runtime:
    """A Runtime on its own store engine for ``db``, as a second process would have."""
    runtime = Runtime(settings, db.open_store(), Vault.from_settings(settings), owner=owner)
    runtime.transports = _transports(ramp, visma)
    return runtime


def _clock(clock: Callable[[], float] | None) -> dict[str, Any]:
    return {} if clock is None else {"clock": clock}
