"""The demo company without its bills, in both sandboxes, and one connection ``acme``.

Shared by the pre-flight and project-task tests: each test adds the bills it needs through the
Ramp sandbox's control surface, so Visma's master data is the demo's (projects with tasks, an
inactive cost centre, a completed project) and the connection is set up as the demo's operator
sets it up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.demo import operator_settings
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import Dataset, demo_dataset
from ml_connector.sandbox.visma import VismaSandbox
from ml_connector.settings import Settings

RAMP, VISMA = "http://ramp.test", "http://visma.test"
VENDOR_TELENOR = "f3c95789-ace1-4954-ac5d-6baed2eac902"  # matches supplier 50001 by org number


@dataclass
class World:
    ramp: RampSandbox
    visma: VismaSandbox
    runtime: Runtime
    dataset: Dataset


@asynccontextmanager
async def open_demo_pair(directory: Path, **visma_options: Any) -> AsyncIterator[World]:
    """See the module docstring; ``visma_options`` go to ``VismaSandbox``."""
    dataset = dataclasses.replace(demo_dataset(), bills=(), purchase_orders=())
    ramp = RampSandbox("ramp-pf", "ramp-pf-secret-1", dataset=dataset, rate_limit=100_000)
    visma = VismaSandbox(
        "visma-pf", "visma-pf-secret-2", "tenant-pf", "4711", dataset=dataset, **visma_options
    )
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{directory / 'store.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=directory / "unused.key",
    )
    runtime = await Runtime.open(
        settings,
        transports={
            RAMP: httpx.ASGITransport(app=ramp.app),
            VISMA: httpx.ASGITransport(app=visma.app),
        },
    )
    await admin.add_connection(
        Actor.local_admin("tests"),
        runtime,
        "acme",
        credentials={
            "ramp_client_id": "ramp-pf",
            "ramp_client_secret": "ramp-pf-secret-1",
            "visma_client_id": "visma-pf",
            "visma_client_secret": "visma-pf-secret-2",
            "visma_tenant_id": "tenant-pf",
            "visma_company_id": "4711",
        },
        ramp_base_url=RAMP,
        visma_base_url=VISMA,
        visma_token_url=f"{VISMA}/connect/token",
        settings=operator_settings(dataset),
    )
    try:
        yield World(ramp, visma, runtime, dataset)
    finally:
        await runtime.close()
