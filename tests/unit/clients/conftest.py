"""Fixtures for the client unit tests: inline Starlette apps instead of mocks.

``make_ramp`` / ``make_visma`` build clients over ``httpx.ASGITransport`` (and close them after
the test); ``inbox`` records what the inline app received; ``ramp_token`` / ``visma_token`` are
token endpoints; ``clock`` is a hand-moved clock. The classes live in ``clients_inline.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import stamina
from clients_inline import RAMP_CREDS, VISMA_CREDS, FakeClock, Inbox, TokenEndpoint
from starlette.applications import Starlette

from ml_connector.clients import (
    CallRecord,
    RampClient,
    RampCredentials,
    VismaClient,
    VismaCredentials,
)


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    """Retries keep their attempt counts but never sleep."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def ramp_token(inbox: Inbox) -> TokenEndpoint:
    return TokenEndpoint(inbox, "/developer/v1/token", expires_in=864000)


@pytest.fixture
def visma_token(inbox: Inbox) -> TokenEndpoint:
    return TokenEndpoint(inbox, "/connect/token", expires_in=3600)


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


@pytest.fixture
async def make_ramp(calls: list[CallRecord]) -> AsyncIterator[Callable[..., RampClient]]:
    made: list[RampClient] = []

    def make(app: Starlette, creds: RampCredentials = RAMP_CREDS, **kwargs: Any) -> RampClient:
        kwargs.setdefault("on_call", calls.append)
        client = RampClient(creds, transport=httpx.ASGITransport(app=app), **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
async def make_visma(calls: list[CallRecord]) -> AsyncIterator[Callable[..., VismaClient]]:
    made: list[VismaClient] = []

    def make(app: Starlette, creds: VismaCredentials = VISMA_CREDS, **kwargs: Any) -> VismaClient:
        kwargs.setdefault("on_call", calls.append)
        client = VismaClient(creds, transport=httpx.ASGITransport(app=app), **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
