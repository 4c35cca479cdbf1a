"""``ml-connector demo``: the whole product against the built-in sandboxes, on embedded SQLite.

1. Start the Ramp and Visma sandboxes with the demo company on free loopback ports (real HTTP).
2. Open a fresh SQLite store and vault in a temporary folder; add a connection to the sandboxes,
   configured the way an operator would (a VAT code per account).
3. Run one sync pass with a progress bar.
4. Check the result from Visma's side: every ready bill is either exactly one supplier invoice or
   a record that needs attention; count duplicates (invoices sharing a Ramp bill reference).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.flows.coding import CREDIT_MEMO_PREFIX
from ml_connector.runtime.sync import SyncSummary, sync_once
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import Dataset, demo_dataset
from ml_connector.sandbox.serve import start_server
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.settings import Settings

__all__ = ["DemoSetup", "operator_settings", "run_demo"]

NOTE_PREFIX = "ramp-bill:"


def operator_settings(dataset: Dataset) -> dict[str, Any]:
    """The connection settings an operator would enter for the demo company.

    The demo company marks vendor credits with a ``[CREDIT]`` memo, so its connection turns on
    the credit memo rule (off by default: it is our convention, not Ramp's).
    """
    return {
        "mapping": {
            "vat_by_account": {a.number: a.default_vat for a in dataset.accounts if a.default_vat},
            "default_vat": "0",
        },
        "credit_memo_prefix": CREDIT_MEMO_PREFIX,
    }


# Environment variables that fix the demo's client secrets (random otherwise). The acceptance
# tests set them so they can prove the secrets never reach an output, a log or the database.
RAMP_SECRET_ENV = "ML_CONNECTOR_DEMO_RAMP_SECRET"
VISMA_SECRET_ENV = "ML_CONNECTOR_DEMO_VISMA_SECRET"


class DemoSetup:
    """Both sandboxes plus the credentials the connector uses for them.

    The client secrets are random per run unless ``ML_CONNECTOR_DEMO_RAMP_SECRET`` /
    ``ML_CONNECTOR_DEMO_VISMA_SECRET`` name them.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.ramp_id = "demo-ramp-client"
        self.ramp_secret = os.environ.get(RAMP_SECRET_ENV) or secrets.token_urlsafe(24)
        self.visma_id = "demo-visma-client"
        self.visma_secret = os.environ.get(VISMA_SECRET_ENV) or secrets.token_urlsafe(24)
        self.tenant, self.company = "d3m0-7e4a-7e11-a41d", "4242001"
        self.ramp = RampSandbox(self.ramp_id, self.ramp_secret, dataset=dataset)
        self.visma = VismaSandbox(
            self.visma_id, self.visma_secret, self.tenant, self.company, dataset=dataset
        )

    def credentials(self) -> dict[str, str]:
        return {
            "ramp_client_id": self.ramp_id,
            "ramp_client_secret": self.ramp_secret,
            "visma_client_id": self.visma_id,
            "visma_client_secret": self.visma_secret,
            "visma_tenant_id": self.tenant,
            "visma_company_id": self.company,
        }

    def duplicates(self) -> int:
        """Visma invoices beyond the first that carry the same Ramp bill reference."""
        refs = Counter(
            note.split(NOTE_PREFIX, 1)[1].split()[0]
            for invoice in self.visma.invoices()
            if NOTE_PREFIX in (note := str(invoice.get("note") or ""))
        )
        return sum(count - 1 for count in refs.values() if count > 1)


async def run_demo(
    *, once: bool = True, quiet: bool = False, console: Console | None = None
) -> dict[str, Any]:
    """Run the demo and return its summary (see the module docstring)."""
    console = console or Console(stderr=True)
    started = time.monotonic()
    setup = DemoSetup(demo_dataset())
    ramp_server = await start_server(setup.ramp.app)
    visma_server = await start_server(setup.visma.app)
    with tempfile.TemporaryDirectory(prefix="ml-connector-demo-") as folder:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}",
            master_key=SecretStr(Fernet.generate_key().decode()),
            master_key_file=Path(folder) / "demo.key",
        )
        runtime = await Runtime.open(settings)
        try:
            await admin.add_connection(
                Actor.local_admin("demo"),
                runtime,
                "demo",
                credentials=setup.credentials(),
                ramp_base_url=ramp_server.url,
                visma_base_url=visma_server.url,
                visma_token_url=f"{visma_server.url}/connect/token",
                settings=operator_settings(setup.dataset),
            )
            if not quiet:
                console.print(
                    f"Ramp sandbox {ramp_server.url}  ·  Visma sandbox {visma_server.url}"
                )
            summary = await _sync_with_progress(runtime, console, quiet=quiet)
            result = summary.as_dict()
            result["duplicates"] = setup.duplicates()
            result["unaccounted"] = summary.ramp_bills_ready - _accounted(summary)
            result["elapsed_s"] = round(time.monotonic() - started, 3)
            if not once:
                console.print("Sandboxes keep running; press Ctrl-C to stop.")
                await asyncio.Event().wait()
            return result
        finally:
            await runtime.close()
            await ramp_server.stop()
            await visma_server.stop()


async def _sync_with_progress(runtime: Runtime, console: Console, *, quiet: bool) -> SyncSummary:
    """One sync of the demo connection, with a progress bar unless ``quiet``."""
    with Progress(
        TextColumn("[bold]syncing bills"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("sync", total=None)
        return await sync_once(
            runtime,
            "demo",
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _accounted(summary: SyncSummary) -> int:
    """The ready bills the sync accounted for: written, unchanged, or needing attention."""
    return (
        summary.visma_invoices_created
        + summary.visma_invoices_updated
        + summary.unchanged
        + summary.needs_attention
    )
