"""Schemathesis fuzzes the admin API through its own OpenAPI document, over real HTTP.

A uvicorn server on a loopback port (in its own thread and event loop) serves the admin routes
over a store holding the small demo company, synced once against both sandboxes (wired in
process), so the operations that reach Ramp or Visma (replay, mapping validation, the chart)
talk to the sandboxes rather than fail. An admin's API token authenticates every call. For each
operation in ``/api/v1/openapi.json`` hypothesis generates a bounded number of requests
(deterministically); the path's connection is the demo's, and a record id (in the path or the
body) is usually a real one, so the generated calls reach the handlers instead of stopping at
404. Credential
changes go to a spare connection, so fuzzed secrets never break the demo's.

Each answer must not be a server error, must use a documented status and content type, and
must match the documented schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.demo import DemoSetup, operator_settings
from ml_connector.runtime.sync import sync_once
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox.seed import demo_dataset
from ml_connector.sandbox.serve import start_server
from ml_connector.settings import Settings
from ml_connector.store.users import Role
from ml_connector.web.admin import admin_routes
from ml_connector.web.auth import Auth, hash_password, new_api_token

RAMP, VISMA = "http://ramp.test", "http://visma.test"
EXAMPLES = 8  # per operation; the whole run stays well under a minute
SLOW_EXAMPLES = 3  # per operation that reads both vendors (chart pending and push)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class ApiServer:
    """The admin API over the demo company, served by uvicorn in a background thread."""

    folder: Path
    url: str = ""
    token: str = ""
    record_ids: list[int] = field(default_factory=list)
    _ready: threading.Event = field(default_factory=threading.Event)
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _error: BaseException | None = None

    async def _main(self) -> None:
        try:
            dataset = demo_dataset()
            dataset = type(dataset)(**{**dataset.__dict__, "bills": dataset.bills[:12]})
            setup = DemoSetup(dataset)
            settings_ = Settings(
                database_url=f"sqlite+aiosqlite:///{self.folder / 'store.db'}",
                master_key=SecretStr(Fernet.generate_key().decode()),
                master_key_file=self.folder / "unused.key",
            )
            rt = await Runtime.open(
                settings_,
                transports={
                    RAMP: httpx.ASGITransport(app=setup.ramp.app),
                    VISMA: httpx.ASGITransport(app=setup.visma.app),
                },
            )
            for name in ("nordlys", "spare"):
                await admin.add_connection(
                    Actor.local_admin("tests"),
                    rt,
                    name,
                    credentials=setup.credentials(),
                    ramp_base_url=RAMP,
                    visma_base_url=VISMA,
                    visma_token_url=f"{VISMA}/connect/token",
                    settings=operator_settings(dataset),
                )
            await sync_once(rt, "nordlys")
            connection = await rt.store.get_connection("nordlys")
            self.record_ids = [r.id for r in await rt.store.list_records(connection.id)]
            user = await rt.store.create_user(
                "admin@x.test", password_hash=hash_password("fuzzing password"), role=Role.ADMIN
            )
            self.token, digest = new_api_token()
            await rt.store.add_api_token(user.id, digest)
            app = Starlette(routes=admin_routes(rt, Auth(rt.store, rt.vault)))
            server = await start_server(app)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise
        self.url = server.url
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.stop()
            await rt.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[ApiServer]:
        thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        thread.start()
        if not self._ready.wait(timeout=300):
            raise RuntimeError("the admin API server did not start within 300 s")
        if self._error is not None:
            raise RuntimeError("the admin API server failed to start") from self._error
        try:
            yield self
        finally:
            if self._loop is not None and self._stop is not None:
                self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(timeout=60)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The admin API over the synced demo company, on a loopback port."""
    with ApiServer(tmp_path_factory.mktemp("admin-api")).running() as server:
        yield server


def _fuzz(server: ApiServer, operation: Any) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    slow = "/chart/" in operation.path
    credentials = operation.path.endswith("/credentials")

    @given(case=operation.as_strategy(), record=st.sampled_from([None, *server.record_ids]))
    @settings(
        max_examples=SLOW_EXAMPLES if slow else EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any, record: int | None) -> None:
        params = case.path_parameters or {}
        if "name" in params:
            params["name"] = "spare" if credentials else "nordlys"
        if record is not None:
            if "record_id" in params:
                params["record_id"] = record
            if isinstance(case.body, dict) and "record_ids" in case.body:
                case.body["record_ids"] = [record]
        response = case.call(base_url=server.url, headers=headers, timeout=120)
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()


def test_admin_api_conforms_to_its_openapi_document(api_server: ApiServer) -> None:
    """Fuzzed calls to every documented operation get no 5xx and conform to the document."""
    schema = schemathesis.openapi.from_url(f"{api_server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        _fuzz(api_server, operation)
