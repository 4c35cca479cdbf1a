"""Chart tests' world: an empty Ramp business, a Visma company with a chart, and a Runtime.

``open_chart_world`` starts the Ramp sandbox with ``empty_dataset()`` (no accounting connection,
no chart: what a new customer has) and the Visma sandbox with the given dataset (the demo
company by default), opens a SQLite store in a temporary folder, and adds one connection.

``Hooks`` wraps the Ramp app so a test can act right after the n-th answered call to a path:
that is how "Visma changes while a push runs" is staged without touching our code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.faults import JournalEntry
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import Dataset, demo_dataset, empty_dataset
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.settings import Settings
from ml_connector.store import Connection

RAMP, VISMA = "http://ramp.test", "http://visma.test"
API = "/developer/v1/accounting"
WRITES = ("POST", "PATCH", "DELETE")


@dataclass
class _Hook:
    method: str
    path: str
    nth: int
    action: Callable[[], None]
    seen: int = 0


class Hooks:
    """ASGI wrapper: after the ``nth`` answered ``method path`` call, run ``action`` once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.hooks: list[_Hook] = []

    def after(self, method: str, path: str, nth: int, action: Callable[[], None]) -> None:
        self.hooks.append(_Hook(method.upper(), path, nth, action))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] != "http":
            return
        for hook in self.hooks:
            if hook.method == scope["method"] and hook.path == scope["path"]:
                hook.seen += 1
                if hook.seen == hook.nth:
                    hook.action()


class LateApp:
    """An ASGI app whose inner app is set after construction (the receiver needs the runtime)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("no receiver app set")
        await self.app(scope, receive, send)


@dataclass
class ChartWorld:
    ramp: RampSandbox
    visma: VismaSandbox
    ramp_hooks: Hooks
    runtime: Runtime
    dataset: Dataset
    receiver: LateApp
    name: str = "acme"

    async def connection(self) -> Connection:
        return await self.runtime.store.get_connection(self.name)

    def ramp_writes(self) -> list[JournalEntry]:
        """Every write Ramp's accounting API answered, in order."""
        return [e for e in self.ramp.journal.entries() if e.method in WRITES and API in e.path]

    def write_summary(self) -> list[tuple[str, str]]:
        """(method, kind) of each accounting write, ids stripped: ``("PATCH", "field-options")``."""
        return [
            (e.method, e.path.removeprefix(API + "/").split("/")[0]) for e in self.ramp_writes()
        ]

    # --- Ramp's chart as the sandbox holds it ------------------------------------------------

    def gl_accounts(self, *, active: bool | None = True) -> dict[str, Any]:
        state = self.ramp.state
        return {
            a.remote_id: a
            for a in state.visible_gl_accounts()
            if active is None or a.is_active == active
        }

    def options(self, field_remote_id: str, *, active: bool | None = True) -> dict[str, Any]:
        state = self.ramp.state
        custom = state.field_by_remote(field_remote_id)
        if custom is None:
            return {}
        return {
            o.remote_id: o
            for o in state.options_of(custom.ramp_id)
            if active is None or o.is_active == active
        }

    def vendors(self, *, active: bool | None = True) -> dict[str, Any]:
        return {
            v.remote_id: v
            for v in self.ramp.state.visible_accounting_vendors()
            if active is None or v.is_active == active
        }


@asynccontextmanager
async def open_chart_world(
    directory: Path,
    *,
    dataset: Dataset | None = None,
    chart: dict[str, Any] | None = None,
    mapping: dict[str, Any] | None = None,
    visma_webhook_secret: str | None = None,
    ramp_dataset: Dataset | None = None,
    extra_settings: dict[str, Any] | None = None,
) -> AsyncIterator[ChartWorld]:
    """See the module docstring; ``chart`` and ``mapping`` become the connection's settings.

    With ``visma_webhook_secret`` the Visma sandbox signs change events with it and delivers
    them to ``/webhooks/visma/acme`` on ``world.receiver`` (whose app the test sets).
    """
    receiver = LateApp()
    hooks_for_visma: dict[str, Any] = {}
    if visma_webhook_secret is not None:
        hooks_for_visma = {
            "webhook_transport": httpx.ASGITransport(app=receiver),
            "webhook_secret": visma_webhook_secret,
            "webhook_urls": ["http://connector.test/webhooks/visma/acme"],
        }
    dataset = dataset or demo_dataset()
    ramp = RampSandbox(
        "ramp-chart",
        "ramp-chart-secret-1",
        dataset=ramp_dataset or empty_dataset(),
        rate_limit=100_000,
    )
    visma = VismaSandbox(
        "visma-chart",
        "visma-chart-secret-2",
        "tenant-chart",
        "4711",
        dataset=dataset,
        **hooks_for_visma,
    )
    hooks = Hooks(ramp.app)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{directory / 'store.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=directory / "unused.key",
        http_timeout_s=10.0,
    )
    runtime = await Runtime.open(
        settings,
        transports={
            RAMP: httpx.ASGITransport(app=hooks),
            VISMA: httpx.ASGITransport(app=visma.app),
        },
    )
    await admin.add_connection(
        Actor.local_admin("tests"),
        runtime,
        "acme",
        credentials={
            "ramp_client_id": "ramp-chart",
            "ramp_client_secret": "ramp-chart-secret-1",
            "visma_client_id": "visma-chart",
            "visma_client_secret": "visma-chart-secret-2",
            "visma_tenant_id": "tenant-chart",
            "visma_company_id": "4711",
        },
        ramp_base_url=RAMP,
        visma_base_url=VISMA,
        visma_token_url=f"{VISMA}/connect/token",
        settings={"chart": chart or {}, "mapping": mapping or {}, **(extra_settings or {})},
    )
    try:
        yield ChartWorld(ramp, visma, hooks, runtime, dataset, receiver)
    finally:
        await runtime.close()
