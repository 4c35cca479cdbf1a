"""The procurement tests' world: both sandboxes, a Runtime, the webhook receiver, all in-process.

``open_shop`` loads the core test company (plus a bank account to pay from) into a Ramp and a
Visma sandbox, opens a SQLite store, builds a ``Runtime`` whose clients reach the sandboxes
through ``httpx.ASGITransport``, and adds connection ``core`` with the settings a test asks for.

The Ramp sandbox delivers its webhooks to the connector's own app (``create_app``) over an
in-process transport, once ``subscribe`` has registered the endpoint and stored its secret, so
"through webhooks" means exactly what it means in production: signed events, the receiver, the
inbox, a queued record, a worker pass. The Visma sandbox sits behind a ``Hooks`` wrapper, so a
test can change a document in Visma right after the connector read it (the 412 path).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from integration.core.company import core_dataset
from integration.core.world import FAST, Hooks, operator_settings
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.runtime.sync import SyncSummary, sync_once
from ml_connector.runtime.webhook_secrets import add_webhook_secret
from ml_connector.runtime.wiring import Runtime
from ml_connector.runtime.worker import Worker, dispatch
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.ramp.model import PurchaseOrder, PurchaseOrderLine
from ml_connector.sandbox.ramp.seeding import control_line
from ml_connector.sandbox.ramp.state import new_id
from ml_connector.sandbox.seed import Dataset, SeedAccount, SeedBillLine
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.settings import Settings
from ml_connector.store import EventSource, SyncRecord
from ml_connector.web.app import create_app
from support.recording import RecordingTransport

__all__ = ["CASH_ACCOUNT", "Shop", "line", "open_shop", "procurement_dataset"]

RAMP_ORIGIN, VISMA_ORIGIN = "http://ramp.test", "http://visma.test"
CONNECTOR_ORIGIN = "http://connector.test"
RAMP_ID, RAMP_SECRET = "ramp-po-client", "ramp-po-secret-3c1e"
VISMA_ID, VISMA_SECRET = "visma-po-client", "visma-po-secret-77a0"
TENANT, COMPANY = "c0de0000-7e57-4000-8000-0000000000f3", "4712"
CASH_ACCOUNT = "1920"
PO_PATH = "/v1/purchaseorder"
PAYMENT_PATH = "/v1/supplierPayment"


def procurement_dataset() -> Dataset:
    """The core company plus a bank account, the cash account supplier payments come from."""
    base = core_dataset()
    bank = SeedAccount(CASH_ACCOUNT, "Bankinnskudd", "Asset")
    return dataclasses.replace(base, accounts=(bank, *base.accounts))


def line(
    amount_minor: int,
    memo: str,
    account: str = "6552",
    *,
    cost_centre: str = "100",
    department: str = "10",
    project: str | None = "P1001",
) -> SeedBillLine:
    """A coded Ramp line (ERP ids), as the sandboxes' control surface takes it."""
    return SeedBillLine(amount_minor, memo, account, cost_centre, department, project, None)


class _Late:
    """An ASGI app whose inner app is given later (the receiver needs the Runtime first)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "the connector app is not built yet"
        await self.app(scope, receive, send)


@dataclasses.dataclass
class Shop:
    """Both sandboxes, the Runtime wired to them, and connection ``core``."""

    ramp: RampSandbox
    visma: VismaSandbox
    visma_hooks: Hooks
    runtime: Runtime
    connection_id: int
    name: str = "core"
    # What the connector sent each vendor and what came back (see ``open_shop``).
    ramp_wire: RecordingTransport | None = None
    visma_wire: RecordingTransport | None = None

    # --- acting in Ramp -----------------------------------------------------------------------

    def create_order(
        self,
        vendor_id: str,
        lines: Sequence[tuple[SeedBillLine, int]],
        *,
        number: str | None = None,
        memo: str = "Innkjøp",
        promise_date: date | None = None,
    ) -> PurchaseOrder:
        """A Ramp purchase order; each line is (coded line at its unit price, quantity)."""
        supplier = self.ramp.state.vendors[vendor_id]
        entity = next(iter(self.ramp.state.entities))
        return self.ramp.ops.create_purchase_order(
            entity_id=entity,
            currency=supplier.currency or self.ramp.state.base_currency,
            lines=[self._order_line(spec, quantity) for spec, quantity in lines],
            vendor_id=vendor_id,
            number=number,
            memo=memo,
            promise_date=promise_date,
        )

    def _order_line(
        self, spec: SeedBillLine, quantity: int
    ) -> tuple[int, int, str | None, list[Any]]:
        price, text, chosen = control_line(self.ramp.state, self.ramp.clock, spec)
        return price, quantity, text, chosen

    def edit_order_lines(
        self,
        order_id: str,
        *,
        change: dict[int, tuple[SeedBillLine, int]] | None = None,
        remove: Sequence[int] = (),
        add: Sequence[tuple[SeedBillLine, int]] = (),
    ) -> None:
        """Edit lines in place, as a person in Ramp would: kept lines keep their ids.

        ``change`` and ``remove`` address lines by position before the edit.
        """
        order = self.ramp.state.purchase_orders[order_id]
        new = {pos: self._order_line(spec, qty) for pos, (spec, qty) in (change or {}).items()}
        added = [self._order_line(spec, qty) for spec, qty in add]

        def apply(target: PurchaseOrder) -> None:
            kept = []
            for position, existing in enumerate(target.lines):
                if position in remove:
                    continue
                if position in new:
                    price, qty, text, chosen = new[position]
                    existing = PurchaseOrderLine(existing.id, price, qty, text, list(chosen))
                kept.append(existing)
            for price, qty, text, chosen in added:
                kept.append(PurchaseOrderLine(new_id(), price, qty, text, list(chosen)))
            target.lines = kept

        self.ramp.ops.edit_purchase_order(order, apply)

    # --- running the connector ----------------------------------------------------------------

    async def sync(self, only: str | None = None, *, settle_s: float = 10.0) -> SyncSummary:
        """One ``sync --once`` pass (``--only``), with durable retries that fall due at once."""
        return await sync_once(self.runtime, self.name, only=only, settle_s=settle_s, policy=FAST)

    async def subscribe(self, event_types: Sequence[str]) -> None:
        """Register the connector's endpoint with Ramp for ``event_types``; store the secret."""
        hub = self.ramp.hub
        subscription = hub.subscribe(
            f"{CONNECTOR_ORIGIN}/webhooks/ramp/{self.name}", list(event_types), {}
        )
        assert hub.verify(subscription, subscription.challenge)
        connection = await self.runtime.store.get_connection(self.name)
        await add_webhook_secret(
            self.runtime, connection, EventSource.RAMP, subscription.secret, subscription_id="s"
        )

    async def deliver_and_work(self) -> None:
        """Deliver Ramp's pending webhooks, then run a worker as the service does."""
        await self.ramp.webhooks.flush()
        connection = await self.runtime.store.get_connection(self.name)
        ctx = await self.runtime.context(connection)
        worker = Worker(self.runtime.store, {self.connection_id: ctx}, owner="t", handler=dispatch,
                        policy=FAST)  # fmt: skip
        for _ in range(20):  # retries fall due within milliseconds
            await worker.run_until_idle()
            records = await self.runtime.store.list_records(self.connection_id, limit=1000)
            if all(r.status.value not in ("retry_wait", "pending") for r in records):
                return
            await asyncio.sleep(0.02)

    async def restart(self) -> None:
        """Stop this process's Runtime and start a new one on the same database, as after a
        crash or a deploy: nothing survives but what the store holds."""
        old = self.runtime
        self.runtime = await Runtime.open(old.settings, transports=old.transports)
        await old.close()

    async def set_settings(self, **sections: dict[str, Any]) -> None:
        """Replace top-level sections of the connection's settings (``payments={…}``)."""
        connection = await self.runtime.store.get_connection(self.name)
        await self.runtime.store.update_connection_settings(
            connection.id, {**connection.settings.as_stored(), **sections}
        )

    # --- looking at the result ----------------------------------------------------------------

    def visma_orders(self, ramp_order_id: str) -> list[dict[str, Any]]:
        """The Visma purchase orders carrying this Ramp order's reference."""
        ref = f"ramp-po:{ramp_order_id}"
        return [o for o in self.visma.purchase_orders() if ref in str(o.get("note") or "")]

    def visma_order(self, ramp_order_id: str) -> dict[str, Any]:
        found = self.visma_orders(ramp_order_id)
        assert len(found) == 1, f"{len(found)} Visma orders for {ramp_order_id}"
        return found[0]

    def invoice_of(self, bill_id: str) -> dict[str, Any]:
        found = [i for i in self.visma.invoices() if f"ramp-bill:{bill_id}" in str(i.get("note"))]
        assert len(found) == 1, f"{len(found)} Visma invoices for {bill_id}"
        return found[0]

    def payments_of(self, bill_id: str) -> list[dict[str, Any]]:
        ref = f"ramp-payment:{bill_id}"
        return [p for p in self.visma.supplier_payments() if ref in str(p.get("description"))]

    def visma_writes(self, after_seq: int = 0) -> list[tuple[str, str, int]]:
        """(method, path, status) of every Visma write after journal entry ``after_seq``."""
        return [
            (e.method, e.path, e.status)
            for e in self.visma.journal.entries()
            if e.seq > after_seq and e.method in ("POST", "PUT", "DELETE")
        ]

    def posts(self, path: str) -> list[str]:
        """Statuses of the POSTs to exactly ``path`` the Visma sandbox answered."""
        return [str(e.status) for e in self.visma.journal.entries("POST") if e.path == path]

    def journal_mark(self) -> int:
        return max((e.seq for e in self.visma.journal.entries()), default=0)

    def ramp_syncs(self, bill_id: str) -> list[str]:
        """The sync types Ramp accepted for a bill, in order."""
        return [
            record.sync_type
            for record in sorted(self.ramp.state.syncs.values(), key=lambda r: r.at)
            if bill_id in record.successful_ids
        ]

    async def record(self, object_type: str, object_id: str) -> SyncRecord:
        for record in await self.runtime.store.list_records(self.connection_id, limit=10_000):
            if (record.object_type, record.object_id) == (object_type, object_id):
                return record
        raise AssertionError(f"no {object_type} record for {object_id}")


@asynccontextmanager
async def open_shop(
    directory: Path,
    *,
    settings: dict[str, Any] | None = None,
    dataset: Dataset | None = None,
    visma_options: dict[str, Any] | None = None,
    **process: Any,
) -> AsyncIterator[Shop]:
    """Both sandboxes with the procurement company and connection ``core`` (``settings`` on top
    of the operator's VAT mapping). ``visma_options`` are Visma sandbox options; ``process``
    are ``Settings`` fields (``release_wait_s=…``)."""
    dataset = dataset or procurement_dataset()
    receiver = _Late()
    ramp = RampSandbox(
        RAMP_ID,
        RAMP_SECRET,
        dataset=dataset,
        rate_limit=100_000,
        webhook_transport=httpx.ASGITransport(app=receiver),
        webhook_retry_base_s=0.01,
    )
    visma = VismaSandbox(
        VISMA_ID, VISMA_SECRET, TENANT, COMPANY, dataset=dataset, **(visma_options or {})
    )
    visma_hooks = Hooks(visma.app)
    ramp_wire = RecordingTransport(httpx.ASGITransport(app=ramp.app))
    visma_wire = RecordingTransport(httpx.ASGITransport(app=visma_hooks))
    process = Settings(
        database_url=f"sqlite+aiosqlite:///{directory / 'procurement.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=directory / "unused.key",
        http_timeout_s=10.0,
        **process,
    )
    runtime = await Runtime.open(
        process,
        transports={RAMP_ORIGIN: ramp_wire, VISMA_ORIGIN: visma_wire},
    )
    shop: Shop | None = None
    try:
        connection = await admin.add_connection(
            Actor.local_admin("tests"),
            runtime,
            "core",
            credentials={
                "ramp_client_id": RAMP_ID,
                "ramp_client_secret": RAMP_SECRET,
                "visma_client_id": VISMA_ID,
                "visma_client_secret": VISMA_SECRET,
                "visma_tenant_id": TENANT,
                "visma_company_id": COMPANY,
            },
            ramp_base_url=RAMP_ORIGIN,
            visma_base_url=VISMA_ORIGIN,
            visma_token_url=f"{VISMA_ORIGIN}/connect/token",
            settings={**operator_settings(dataset), **(settings or {})},
        )
        receiver.app = create_app(runtime)
        shop = Shop(ramp, visma, visma_hooks, runtime, connection.id, "core", ramp_wire, visma_wire)
        yield shop
    finally:
        await (shop.runtime if shop is not None else runtime).close()
