"""The product under attack: ``create_app`` over real uvicorn on loopback, or ``serve`` itself.

``SecureSite`` runs the whole app ``serve`` runs (dashboard, admin API, receivers, security
headers) with the same uvicorn configuration as ``serve`` (``server_config``), on a loopback
port, over a SQLite store with one connection (acme: two records, one needing attention) and
three users. Its :class:`~ml_connector.web.auth.Auth` takes a test clock, so idle timeouts and
lock windows pass without waiting. Cookies are not marked Secure here (the server speaks plain
HTTP); ``test_ui_security`` checks the flags of the production configuration.

``ServeProcess`` is the ``ml-connector serve`` command in a child process, configured only
through its environment and flags, for what must be proven against the real entry point.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from bench._ports import PortLost, free_port, wait_listening
from cryptography.fernet import Fernet
from pydantic import SecretStr

from acceptance.acceptance_kit import clean_env, cli_command
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.cli.service import server_config
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.store import Store
from ml_connector.store.users import Role, User
from ml_connector.vault import Vault
from ml_connector.web.app import ConnectorApp, create_app
from ml_connector.web.auth import Auth, AuthConfig, hash_password, new_api_token

PASSWORD = "correct horse battery"
USERS = {"admin@x.test": Role.ADMIN, "operator@x.test": Role.OPERATOR, "viewer@x.test": Role.VIEWER}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def form_field(html: str, name: str) -> str:
    """The value of the hidden input ``name`` in a rendered form."""
    marker = f'name="{name}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@dataclass
class SecureSite:
    runtime: Runtime
    app: ConnectorApp
    auth: Auth
    clock: Clock
    url: str
    users: dict[str, User]
    tokens: dict[str, str]
    record_ids: list[int]

    @property
    def store(self) -> Store:
        return self.runtime.store

    def client(self, **headers: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    def bearer(self, email: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[email]}"}

    async def login(
        self,
        client: httpx.AsyncClient,
        email: str,
        password: str = PASSWORD,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Fetch the login form (its CSRF token and cookie), then post it."""
        page = await client.get("/ui/login", headers=headers)
        data = {"email": email, "password": password, "csrf": form_field(page.text, "csrf")}
        return await client.post("/ui/login", data=data, headers=headers)

    async def cli(
        self, *args: str, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``ml-connector`` in a child process against this site's store and keys.

        In a thread: the server keeps answering (and finishing its transactions) meanwhile.
        """
        settings = self.runtime.settings
        assert settings.master_key is not None
        env = {
            "ML_CONNECTOR_DATABASE_URL": settings.database_url,
            "ML_CONNECTOR_MASTER_KEY": settings.master_key.get_secret_value(),
            **(extra_env or {}),
        }
        return await asyncio.to_thread(
            subprocess.run,
            [*cli_command(), *args],
            env=clean_env(env),
            cwd=Path(settings.master_key_file).parent,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    async def session(self, email: str) -> tuple[str, str]:
        """A fresh logged-in session of ``email``: its cookie value and CSRF token."""
        async with self.client() as client:
            response = await self.login(client, email)
            assert response.status_code == 303, response.text
            page = await client.get("/ui")
            return client.cookies["mlc_session"], form_field(page.text, "csrf")


async def _seed(rt: Runtime) -> tuple[dict[str, User], dict[str, str], list[int]]:
    credentials = {
        f: f"acme-{f}-value" for f in ("ramp_client_id", "ramp_client_secret", "visma_client_id")
    } | {
        "visma_client_secret": "acme-visma-secret",
        "visma_tenant_id": "tenant",
        "visma_company_id": "company",
    }
    acme = await admin.add_connection(
        Actor.local_admin("tests"),
        rt,
        "acme",
        credentials=credentials,
        ramp_base_url="http://ramp.invalid",
        visma_base_url="http://visma.invalid",
        visma_token_url="http://visma.invalid/token",
    )
    ids = [
        (await rt.store.upsert_record(acme.id, "bill", f"bill-{n}", reason="test")).id
        for n in range(2)
    ]
    (claimed,) = await rt.store.claim_due("t", limit=1, lease_s=60, connection_id=acme.id)
    await rt.store.mark_needs_attention(
        claimed.id,
        "t",
        error="Period 11-2026 is closed",
        hint="Open it",
        error_code="period_closed",
    )
    digest = hash_password(PASSWORD)
    users: dict[str, User] = {}
    tokens: dict[str, str] = {}
    for email, role in USERS.items():
        users[email] = await rt.store.create_user(email, password_hash=digest, role=role)
        tokens[email], token_digest = new_api_token()
        await rt.store.add_api_token(users[email].id, token_digest)
    return users, tokens, ids


def site_settings(folder: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'store.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=folder / "unused.key",
        **overrides,
    )


@asynccontextmanager
async def secure_site(
    folder: Path,
    config: AuthConfig | None = None,
    *,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    seed: bool = True,
) -> AsyncIterator[SecureSite]:
    """The app on a loopback port (see the module docstring).

    With ``runtime`` the site serves that runtime's store (a second "process" on a shared
    store); it is neither closed here nor seeded unless ``seed``.
    """
    clock = Clock()
    owned = runtime is None
    rt = runtime or await Runtime.open(settings or site_settings(folder))
    users, tokens, ids = await _seed(rt) if seed else ({}, {}, [])
    auth = Auth(rt.store, rt.vault, config or AuthConfig(secure_cookies=False), clock=clock)
    app = create_app(rt, auth=auth, retention_days=None)
    # Bound here to port 0 and handed to uvicorn: the port is this server's, no race.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, "h11"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield SecureSite(rt, app, auth, clock, f"http://127.0.0.1:{port}", users, tokens, ids)
    finally:
        server.should_exit = True
        await task
        if owned:
            await rt.close()


def runtime_on(store: Store, settings: Settings) -> Runtime:
    """A runtime over ``store`` (already migrated) with the keys of ``settings``: what one
    ``serve`` process holds."""
    return Runtime(settings, store, Vault.from_settings(settings))


@dataclass
class ServeProcess:
    """``ml-connector serve --no-worker`` in a child process, on a loopback port."""

    folder: Path
    flags: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def base_env(self) -> dict[str, str]:
        return {
            "ML_CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{self.folder / 'serve.db'}",
            "ML_CONNECTOR_MASTER_KEY_FILE": str(self.folder / "serve.key"),
            "ML_CONNECTOR_LOG_LEVEL": "WARNING",
            **self.env,
        }

    def cli(
        self, *args: str, extra: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run another ``ml-connector`` command against the same database and key."""
        return subprocess.run(
            [*cli_command(), *args],
            env=clean_env({**self.base_env(), **(extra or {})}),
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self) -> None:
        self.port = free_port()
        log = (self.folder / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [*cli_command(), "serve", "--no-worker", "--port", str(self.port), *self.flags],
            env=clean_env(self.base_env()),
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process = self.process
        try:  # the port is this child's (the kernel says so) before it is asked anything
            wait_listening(process.pid, [self.port], lambda: process.poll() is None)
        except PortLost:
            raise RuntimeError((self.folder / "serve.log").read_text()) from None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.folder / "serve.log").read_text())
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("serve did not answer within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
