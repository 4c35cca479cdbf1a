"""Fixtures for the security tests: the app under attack on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from security.security_kit import SecureSite, secure_site


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[SecureSite]:
    """The app with the default login limits, a test clock, and plain-HTTP cookies."""
    async with secure_site(tmp_path) as running:
        yield running
