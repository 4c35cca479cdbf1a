"""What the Ramp sandbox contract tests share: a demo-seeded sandbox behind a recording client
with an all-scopes token (``Harness``), and the ``error_v2`` check for undeclared errors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import demo_dataset
from support.openapi import SpecValidator
from support.recording import RecordingTransport

CLIENT_ID = "ramp_id_contract"
CLIENT_SECRET = "ramp_sec_contract_only"
SCOPES = (
    "bills:read bills:write vendors:read vendors:write accounting:read accounting:write "
    "purchase_orders:read purchase_orders:write entities:read"
)
UNDECLARED_ERRORS = (401, 403, 404, 422, 429)
API = "/developer/v1"


@dataclass
class Harness:
    sandbox: RampSandbox
    client: httpx.AsyncClient
    recorder: RecordingTransport
    spec: SpecValidator
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, **options: Any) -> httpx.Response:
        options.setdefault("headers", self.auth)
        return await self.client.request(method, path, **options)

    def check(self) -> int:
        """Validate every recorded vendor-API exchange; returns how many were checked."""
        checked = 0
        for request, response in self.recorder.exchanges:
            if not request.url.path.startswith(API):
                continue
            self.spec.validate_httpx_exchange(request, response, undeclared_ok=UNDECLARED_ERRORS)
            if response.status_code >= 400 and request.url.path != f"{API}/token":
                check_error_v2(response)
            checked += 1
        return checked


def check_error_v2(response: httpx.Response) -> None:
    body = response.json()
    inner = body["error_v2"]
    assert isinstance(inner["error_code"], str)
    assert isinstance(inner["message"], str)
    assert isinstance(inner["additional_info"], dict)
    assert "error" in body


@contextlib.asynccontextmanager
async def open_harness(shared_specs_dir: Path) -> AsyncIterator[Harness]:
    """A demo-seeded sandbox behind a recording client, with an all-scopes token."""
    sandbox = RampSandbox(CLIENT_ID, CLIENT_SECRET, dataset=demo_dataset())
    recorder = RecordingTransport(httpx.ASGITransport(app=sandbox.app))
    spec = SpecValidator.load("ramp", shared_specs_dir)
    async with httpx.AsyncClient(transport=recorder, base_url="https://api.ramp.com") as client:
        token = await client.post(
            f"{API}/token",
            data={"grant_type": "client_credentials", "scope": SCOPES},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        yield Harness(sandbox, client, recorder, spec, token.json()["access_token"])
