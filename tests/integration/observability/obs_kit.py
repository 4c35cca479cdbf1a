"""Observability tests' world: the demo company in both sandboxes and a Runtime wired to them.

The demo's first bills include deliberate failures (an unknown GL account, a closed period),
so a sync leaves records in needs_attention under two error codes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_connector.demo import DemoSetup
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.seed import Dataset, demo_dataset
from ml_connector.settings import Settings
from support.demo_world import open_demo_world

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
    opened = await open_demo_world(tmp_path, small_demo(), name=NAME, **overrides)
    return World(opened.setup, opened.runtime, opened.dataset, opened.settings)
