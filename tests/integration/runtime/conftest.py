"""A small demo company in both sandboxes, and a Runtime wired to them in-process."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from ml_connector.demo import DemoSetup, operator_settings
from ml_connector.runtime import admin
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.seed import Dataset, demo_dataset
from ml_connector.settings import Settings

RAMP = "http://ramp.test"
VISMA = "http://visma.test"


@dataclass
class World:
    setup: DemoSetup
    runtime: Runtime
    dataset: Dataset
    name: str = "nordlys"


def small_demo(bills: int = 30) -> Dataset:
    """The demo company with only its first ``bills`` bills (the deliberate failures included)."""
    full = demo_dataset()
    return dataclasses.replace(full, bills=full.bills[:bills])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Both sandboxes with a small demo company, and a runtime with one connection to them."""
    dataset = small_demo()
    setup = DemoSetup(dataset)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=tmp_path / "unused.key",
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
        "nordlys",
        credentials=setup.credentials(),
        ramp_base_url=RAMP,
        visma_base_url=VISMA,
        visma_token_url=f"{VISMA}/connect/token",
        settings=operator_settings(dataset),
    )
    yield World(setup, runtime, dataset)
    await runtime.close()
