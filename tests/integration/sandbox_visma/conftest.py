"""Fixtures for the Visma sandbox behaviour tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from integration.sandbox_visma.journal_kit import Gl
from integration.sandbox_visma.visma_kit import ManualClock, client_for, fetch_token, make_sandbox
from ml_connector.sandbox.visma import VismaSandbox


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand."""
    return ManualClock()


@pytest.fixture
def sandbox(clock: ManualClock) -> VismaSandbox:
    """A sandbox holding the hand-built test company."""
    return make_sandbox(clock)


@pytest.fixture
async def client(sandbox: VismaSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the sandbox in-process."""
    async with client_for(sandbox) as http:
        yield http


@pytest.fixture
async def token(client: httpx.AsyncClient) -> str:
    """A token with all four scopes."""
    return await fetch_token(client)


@pytest.fixture
async def gl() -> AsyncIterator[Gl]:
    """A Visma sandbox with a client and a token, for the journal tests."""
    sandbox = make_sandbox(ManualClock())
    async with client_for(sandbox) as http:
        yield Gl(sandbox, http, await fetch_token(http))
