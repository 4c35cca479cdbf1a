"""Fixtures of the observability tests (see ``obs_kit``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integration.observability.obs_kit import World, open_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The demo world with default settings."""
    opened = await open_world(tmp_path)
    yield opened
    await opened.runtime.close()
