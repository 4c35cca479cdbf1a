"""Fixtures for the vendor-behaviour tests: instant in-call retries (the worlds are per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina


@pytest.fixture(autouse=True)
def _instant_in_call_retries() -> Iterator[None]:
    """stamina's test mode: in-call retries keep their count but never sleep."""
    with stamina.set_testing(True, attempts=4, cap=True):
        yield
