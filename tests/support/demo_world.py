"""The demo company in both in-process sandboxes, with a runtime and one connection to them.

Shared by the integration suites that need a ready world (runtime, dashboard, observability):
a fresh SQLite store and master key under ``tmp_path``, the sandboxes reached through ASGI
transports, and the connection configured as ``ml-connector demo`` would configure it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.demo import DemoSetup, operator_settings
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.seed import Dataset
from ml_connector.settings import Settings

RAMP = "http://ramp.test"
VISMA = "http://visma.test"


@dataclass
class DemoWorld:
    setup: DemoSetup
    runtime: Runtime
    dataset: Dataset
    settings: Settings


async def open_demo_world(
    tmp_path: Path, dataset: Dataset, *, name: str = "nordlys", **overrides: Any
) -> DemoWorld:
    """Sandboxes seeded with ``dataset``, a runtime (settings ``overrides``), one connection."""
    setup = DemoSetup(dataset)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=tmp_path / "unused.key",
        **overrides,
    )
    runtime = await Runtime.open(
        settings,
        transports={
            RAMP: httpx.ASGITransport(app=setup.ramp.app),
            VISMA: httpx.ASGITransport(app=setup.visma.app),
        },
    )
    await admin.add_connection(
        Actor.local_admin("tests"),
        runtime,
        name,
        credentials=setup.credentials(),
        ramp_base_url=RAMP,
        visma_base_url=VISMA,
        visma_token_url=f"{VISMA}/connect/token",
        settings=operator_settings(dataset),
    )
    return DemoWorld(setup, runtime, dataset, settings)
