"""Fixtures for the scale tests: a scratch store on each backend, and a PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from integration.chaos.chaos_kit import postgres_database
from support.store_fixtures import backend, scratch

__all__ = ["backend", "pg_database", "scratch"]


@pytest.fixture
async def pg_database(postgres_url: str) -> AsyncIterator[str]:
    """The URL of a PostgreSQL database of this test's own, dropped afterwards."""
    async with postgres_database(postgres_url) as url:
        yield url
