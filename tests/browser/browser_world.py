"""The running product the browser tests look at: sandboxes, a synced demo connection, the app.

``World.start`` runs everything in a thread of its own with its own event loop, the way a
deployment runs ``ml-connector serve``: the Ramp and Visma sandboxes and the app (with its worker
in the lifespan) listen on free loopback ports. Before the app starts, the connection ``demo``
is seeded like ``ml-connector demo`` (same company, same operator settings) and synced once, with
faults injected so that three causes need attention:

- the demo's own bad data: three bills coded to account 6999, which Visma does not have, and
  three dated in a period closed for AP (``DELIBERATE_FAILURES``);
- an existing Visma supplier put on hold through the sandbox's control API, so its bills are
  refused;
- a Visma answer lost after the first invoice was committed (``commit_then_fail``), which the
  connector must resolve without a duplicate.

The demo's 150 ready bills are cut to ``APPROVED_BILLS`` (the deliberate failures included) so
the whole browser suite stays well under a minute. Tests read state through ``World.call``
(store coroutines run on the world's loop) and the sandboxes' control APIs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.demo import NOTE_PREFIX, DemoSetup, operator_settings
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.service import Service
from ml_connector.runtime.sync import SyncSummary, sync_once
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.seed import Dataset, SeedBill, demo_dataset
from ml_connector.sandbox.serve import RunningServer, start_server
from ml_connector.settings import Settings
from ml_connector.store import SyncRecord, SyncStatus
from ml_connector.store.users import Role
from ml_connector.web.app import create_app
from ml_connector.web.auth import hash_password, new_api_token

__all__ = ["APPROVED_BILLS", "CONNECTION", "PASSWORD", "USERS", "World"]

T = TypeVar("T")

CONNECTION = "demo"
APPROVED_BILLS = 24
PASSWORD = "browser-test-password"
USERS = {
    "admin": ("admin@nordlys.test", Role.ADMIN),
    "operator": ("operator@nordlys.test", Role.OPERATOR),
    "viewer": ("viewer@nordlys.test", Role.VIEWER),
}
# Short backoffs: a retry waits a fraction of a second, not minutes (tests poll for states).
_POLICY = RetryPolicy(max_attempts=4, base_s=0.05, cap_s=0.2, floor_s=0.05)
_START_TIMEOUT_S = 120.0


def browser_dataset() -> Dataset:
    """The demo company with its first ``APPROVED_BILLS`` approved bills (failures included)."""
    full = demo_dataset()
    approved = [b for b in full.bills if b.approval_status == "APPROVED"]
    return replace(full, bills=tuple(approved[:APPROVED_BILLS]), purchase_orders=())


def _supplier_to_block(dataset: Dataset) -> tuple[str, list[SeedBill]]:
    """An existing Visma supplier matched by org number, and the good bills of its vendor."""
    failing = {b.id for b in dataset.bills[:6]}
    by_org = {s.corporate_id: s for s in dataset.suppliers if s.corporate_id}
    for bill in dataset.bills:
        vendor = next(v for v in dataset.vendors if v.id == bill.vendor_id)
        supplier = by_org.get(vendor.org_number) if vendor.org_number else None
        if bill.id in failing or supplier is None:
            continue
        bills = [b for b in dataset.bills if b.vendor_id == vendor.id and b.id not in failing]
        return supplier.number, bills
    raise AssertionError("the demo has no bill of an org-matched existing supplier")


@dataclass
class World:
    """Handles on the running product; every attribute is set once ``start`` returns."""

    folder: Path
    setup: DemoSetup = field(init=False)
    runtime: Runtime = field(init=False)
    connection_id: int = field(init=False)
    app_url: str = field(init=False)
    ramp_url: str = field(init=False)
    visma_url: str = field(init=False)
    api_tokens: dict[str, str] = field(default_factory=dict)
    first_sync: SyncSummary = field(init=False)
    # error code -> Ramp bill ids needing attention right after the first sync
    initial_attention: dict[str, list[str]] = field(default_factory=dict)
    blocked_supplier: str = field(init=False)
    blocked_bills: list[str] = field(init=False)
    _loop: asyncio.AbstractEventLoop = field(init=False)
    _thread: threading.Thread = field(init=False)
    _ready: threading.Event = field(default_factory=threading.Event)
    _stop: asyncio.Event = field(init=False)
    _failure: BaseException | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def start(cls, folder: Path) -> World:
        world = cls(folder)
        world._thread = threading.Thread(target=world._run, name="browser-world", daemon=True)
        world._thread.start()
        if not world._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError("the browser world did not start in time")
        if world._failure is not None:
            raise RuntimeError("the browser world failed to start") from world._failure
        return world

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(_START_TIMEOUT_S)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        servers: list[RunningServer] = []
        runtime: Runtime | None = None
        try:
            runtime = await self._prepare(servers)
            service = Service(
                runtime,
                policy=_POLICY,
                poll_interval_s=0.2,
                run_scheduler=False,
                run_chart=False,
            )
            app = await start_server(create_app(runtime, service=service, retention_days=None))
            servers.append(app)
            self.app_url = app.url
        except BaseException as exc:
            self._failure = exc
        self._ready.set()
        try:
            if self._failure is None:
                await self._stop.wait()
        finally:
            for server in reversed(servers):
                await server.stop()
            if runtime is not None:
                await runtime.close()

    async def _prepare(self, servers: list[RunningServer]) -> Runtime:
        self.setup = DemoSetup(browser_dataset())
        ramp = await start_server(self.setup.ramp.app)
        servers.append(ramp)
        visma = await start_server(self.setup.visma.app)
        servers.append(visma)
        self.ramp_url, self.visma_url = ramp.url, visma.url
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{self.folder / 'store.db'}",
            master_key=SecretStr(Fernet.generate_key().decode()),
            master_key_file=self.folder / "unused.key",
        )
        runtime = self.runtime = await Runtime.open(settings)
        connection = await admin.add_connection(
            Actor.local_admin("tests"),
            runtime,
            CONNECTION,
            credentials=self.setup.credentials(),
            ramp_base_url=ramp.url,
            visma_base_url=visma.url,
            visma_token_url=f"{visma.url}/connect/token",
            settings=operator_settings(self.setup.dataset),
        )
        self.connection_id = connection.id
        await self._inject_faults()
        self.first_sync = await sync_once(runtime, CONNECTION, policy=_POLICY, settle_s=60.0)
        waiting = await runtime.store.list_records(
            connection.id, status=SyncStatus.NEEDS_ATTENTION, limit=10_000
        )
        for record in waiting:
            code = record.error_code or "unknown"
            self.initial_attention.setdefault(code, []).append(record.object_id)
        password_hash = hash_password(PASSWORD)
        for role_name, (email, role) in USERS.items():
            user = await runtime.store.create_user(email, password_hash=password_hash, role=role)
            token, digest = new_api_token()
            await runtime.store.add_api_token(user.id, digest)
            self.api_tokens[role_name] = token
        return runtime

    async def _inject_faults(self) -> None:
        """Block one supplier and lose the answer to the first invoice POST (control APIs)."""
        self.blocked_supplier, bills = _supplier_to_block(self.setup.dataset)
        self.blocked_bills = [b.id for b in bills]
        async with httpx.AsyncClient(base_url=self.visma_url, timeout=30.0) as visma:
            answer = await visma.put(
                f"/_sandbox/suppliers/{self.blocked_supplier}", json={"status": "OnHold"}
            )
            answer.raise_for_status()
            rule = {
                "kind": "commit_then_fail",
                "status": 503,
                "method": "POST",
                "path_contains": "supplierInvoice",
                "count": 1,
            }
            (await visma.post("/_sandbox/faults", json=rule)).raise_for_status()

    # --- reading state from the tests' thread ------------------------------------------------

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the world's loop (the store lives there) and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60.0)

    def records(self, status: SyncStatus | None = None) -> list[SyncRecord]:
        return self.call(
            self.runtime.store.list_records(self.connection_id, status=status, limit=10_000)
        )

    def record_for(self, ramp_id: str) -> SyncRecord:
        found = self.call(self.runtime.store.find_record(self.connection_id, "bill", ramp_id))
        assert found is not None, f"no sync record for bill {ramp_id}"
        return found

    def visma(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call to the Visma sandbox's control API (``/_sandbox/...``)."""
        return _control(self.visma_url, method, path, **kwargs)

    def ramp(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call to the Ramp sandbox's control API (``/_sandbox/...``)."""
        return _control(self.ramp_url, method, path, **kwargs)

    def visma_invoices(self, ramp_id: str) -> list[dict[str, Any]]:
        """The Visma supplier invoices that carry ``ramp-bill:<ramp_id>`` in their note."""
        invoices = self.visma("GET", "/_sandbox/state").json()["invoices"]
        marker = f"{NOTE_PREFIX}{ramp_id}"
        return [i for i in invoices if marker in str(i.get("note") or "").split()]


def _control(base_url: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        answer = client.request(method, path, **kwargs)
    answer.raise_for_status()
    return answer
