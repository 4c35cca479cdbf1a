"""Observability tests' world: the demo company in both sandboxes and a Runtime wired to them.

The demo's first bills include deliberate failures (an unknown GL account, a closed period),
so a sync leaves records in needs_attention under two error codes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from ml_connector.demo import DemoSetup, operator_settings
from ml_connector.runtime import admin
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.seed import Dataset, demo_dataset
from ml_connector.settings import Settings

RAMP = "http://ramp.test"
VISMA = "http://visma.test"
NAME = "nordlys"


@dataclass
class World:
    setup: DemoSetup
    runtime: Runtime
    dataset: Dataset
    settings: Settings
    name: str = NAME

    def secrets(self) -> list[str]:
        """Every secret of the connection, which no log line or alert may carry."""
        return [self.setup.ramp_secret, self.setup.visma_secret]


def small_demo(bills: int = 20) -> Dataset:
    """The demo company with only its first ``bills`` bills (the deliberate failures included)."""
    full = demo_dataset()
    return dataclasses.replace(full, bills=full.bills[:bills])


async def open_world(tmp_path: Path, **overrides: Any) -> World:
    """Sandboxes, a runtime (settings ``overrides`` applied) and the demo connection."""
    dataset = small_demo()
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
        runtime,
        NAME,
        credentials=setup.credentials(),
        ramp_base_url=RAMP,
        visma_base_url=VISMA,
        visma_token_url=f"{VISMA}/connect/token",
        settings=operator_settings(dataset),
    )
    return World(setup, runtime, dataset, settings)
