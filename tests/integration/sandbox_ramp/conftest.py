"""Fixtures for the Ramp sandbox behaviour tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from integration.sandbox_ramp.ramp_kit import (
    ManualClock,
    Receiver,
    client_for,
    fetch_token,
    make_sandbox,
)
from integration.sandbox_ramp.spend_kit import SpendWorld, spend_session
from ml_connector.sandbox.ramp import RampSandbox


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand."""
    return ManualClock()


@pytest.fixture
def receiver() -> Receiver:
    """A webhook endpoint that answers 200 and records what it gets."""
    return Receiver()


@pytest.fixture
def sandbox(clock: ManualClock, receiver: Receiver) -> RampSandbox:
    """A sandbox holding the small hand-built company, delivering webhooks to ``receiver``."""
    return make_sandbox(clock, webhook_transport=receiver.transport)


@pytest.fixture
async def client(sandbox: RampSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the sandbox in-process."""
    async with client_for(sandbox) as http:
        yield http


@pytest.fixture
async def token(client: httpx.AsyncClient) -> str:
    """A token with every scope the connector uses."""
    return await fetch_token(client)


@pytest.fixture
async def spend(clock: ManualClock, receiver: Receiver) -> AsyncIterator[SpendWorld]:
    """The spend company (``spend_kit``): its sandbox, a client and every spend scope."""
    async with spend_session(clock, webhook_transport=receiver.transport) as (sb, http, auth):
        yield SpendWorld(sb, http, auth, clock, receiver)
