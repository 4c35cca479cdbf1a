"""Fixtures for the core fault tests: a world (sandboxes plus Runtime), instant in-call retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina

from integration.core.world import World, open_world


@pytest.fixture(autouse=True)
def _instant_in_call_retries() -> Iterator[None]:
    """stamina's test mode: in-call retries keep their count but never sleep."""
    with stamina.set_testing(True, attempts=4, cap=True):
        yield


@pytest.fixture
def world_store() -> dict[str, Any]:
    """Where a world keeps its store: SQLite here; the fault suites run on both backends."""
    return {"backend": "sqlite"}


@pytest.fixture
async def world(tmp_path: Path, world_store: dict[str, Any]) -> AsyncIterator[World]:
    """The core company in both sandboxes and a Runtime with one connection."""
    async with open_world(tmp_path, **world_store) as opened:
        yield opened
