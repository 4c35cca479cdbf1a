"""A small demo company in both sandboxes, and a Runtime wired to them in-process."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ml_connector.demo import DemoSetup
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.seed import Dataset, demo_dataset
from support.demo_world import open_demo_world


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
    opened = await open_demo_world(tmp_path, small_demo())
    runtime = opened.runtime
    yield World(opened.setup, runtime, opened.dataset)
    await runtime.close()
