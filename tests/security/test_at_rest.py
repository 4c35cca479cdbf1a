"""Issue 14, item 11: secrets at rest are ciphertext, and the files are the owner's alone.

Every command runs as a child process with the permissive umask 022 most systems have, on a
fresh SQLite store. After ``connection add`` and ``alerts set`` (a webhook URL with a token in
its path) the database, its ``-wal`` and ``-shm`` files (while ``serve`` holds them open) and the
key file have mode 0600, and their raw bytes hold neither the URL's token nor any secret. A store
written by a version before revision 0012 (plaintext URL) is sealed by the first command.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from bench._ports import free_port, wait_listening

from acceptance.acceptance_kit import CliResult, CliWorkspace
from ml_connector.store.migrations import alembic_config
from ml_connector.vault import Vault

NAME = "acme"
TOKEN = "tok-" + secrets.token_urlsafe(12)
URL = f"https://hooks.example.com/services/T0001/B0002/{TOKEN}"
SIGNING = "sign-" + secrets.token_urlsafe(12)
SMTP_PASSWORD = "smtp-" + secrets.token_urlsafe(12)
RAMP_SECRET = "ramp-" + secrets.token_urlsafe(12)
VISMA_SECRET = "visma-" + secrets.token_urlsafe(12)
ENV = {
    "ALERT_SECRET": SIGNING,
    "SMTP_PASSWORD": SMTP_PASSWORD,
    "ML_CONNECTOR_RAMP_CLIENT_SECRET": RAMP_SECRET,
    "ML_CONNECTOR_VISMA_CLIENT_SECRET": VISMA_SECRET,
}
FAKE_URLS = (
    "--ramp-base-url",
    "http://127.0.0.1:9",
    "--visma-base-url",
    "http://127.0.0.1:9",
    "--visma-token-url",
    "http://127.0.0.1:9/connect/token",
)
IDS = ("--ramp-client-id", "r", "--visma-client-id", "v")
TENANT = ("--visma-tenant-id", "t", "--visma-company-id", "1")


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """Children inherit umask 022: files are world-readable unless the product prevents it."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _ok(result: CliResult) -> CliResult:
    assert result.returncode == 0, result.describe()
    return result


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _raw(workspace: CliWorkspace) -> bytes:
    return b"".join(path.read_bytes() for path in workspace.stored_files())


def _assert_no_plaintext(blob: bytes) -> None:
    for secret in (TOKEN, URL, SIGNING, SMTP_PASSWORD, RAMP_SECRET, VISMA_SECRET):
        assert secret.encode() not in blob, secret


@pytest.fixture
def configured(tmp_path: Path) -> CliWorkspace:
    """A fresh workspace after ``connection add`` and ``alerts set`` with a tokened URL."""
    workspace = CliWorkspace(tmp_path)
    _ok(workspace.run("connection", "add", NAME, *IDS, *TENANT, *FAKE_URLS, env=ENV))
    _ok(
        workspace.run(
            "alerts",
            "set",
            NAME,
            "--webhook-url",
            URL,
            "--secret-from-env",
            "ALERT_SECRET",
            "--smtp-password-from-env",
            "SMTP_PASSWORD",
            env=ENV,
        )
    )
    return workspace


def test_database_and_key_files_are_private_and_hold_no_plaintext(
    configured: CliWorkspace,
) -> None:
    """The database and key file are mode 0600, and the database bytes hold neither the alert
    URL, its token, the signing secret, the SMTP password nor the vendor secrets."""
    assert _mode(configured.database_path) == 0o600
    assert _mode(configured.key_path) == 0o600
    _assert_no_plaintext(_raw(configured))


def test_wal_and_shm_files_are_private_while_serve_runs(configured: CliWorkspace) -> None:
    """While ``serve`` has the store open, its -wal and -shm files exist with mode 0600 and
    hold no plaintext either."""
    port = free_port()
    serving = configured.start("serve", "--no-worker", "--port", str(port))
    try:
        wait_listening(serving.process.pid, [port], lambda: serving.process.poll() is None)
        deadline = time.monotonic() + 120
        while True:
            assert serving.process.poll() is None, "serve exited early"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer"
            time.sleep(0.1)
        side_files = [
            configured.database_path.with_name(configured.database_path.name + suffix)
            for suffix in ("-wal", "-shm")
        ]
        assert all(path.exists() for path in side_files)
        assert [_mode(path) for path in side_files] == [0o600, 0o600]
        _assert_no_plaintext(_raw(configured))
    finally:
        serving.process.terminate()
        serving.wait()


def test_alerts_show_masks_the_url_and_rotation_keeps_alert_secrets_readable(
    configured: CliWorkspace,
) -> None:
    """``alerts show`` gives the URL as scheme and host only; after ``keys rotate`` and
    dropping the old key, the alert secrets still open (they were re-encrypted too)."""
    shown = _ok(configured.run("alerts", "show", NAME, "--json"))
    info = shown.json()
    assert info["webhook_url"] == "https://hooks.example.com/…"
    assert info["webhook_secret_set"] is True
    assert info["smtp_password_set"] is True
    assert TOKEN not in shown.output
    assert SIGNING not in shown.output
    _ok(configured.run("keys", "rotate"))
    newest = configured.key_path.read_text(encoding="ascii").splitlines()[0]
    configured.key_path.write_text(newest + "\n", encoding="ascii")
    after = _ok(configured.run("alerts", "show", NAME, "--json")).json()
    assert after["webhook_secret_set"] is True
    assert after["smtp_password_set"] is True
    assert _mode(configured.key_path) == 0o600
    _assert_no_plaintext(_raw(configured))


def test_a_base_url_carrying_credentials_is_refused(tmp_path: Path) -> None:
    """``connection add`` refuses a base URL with a user name and password in it (it would
    be stored and shown in plaintext), and stores nothing."""
    workspace = CliWorkspace(tmp_path)
    refused = workspace.run(
        "connection",
        "add",
        NAME,
        *IDS,
        *TENANT,
        "--ramp-base-url",
        f"https://user:{TOKEN}@api.ramp.example",
        "--visma-base-url",
        "http://127.0.0.1:9",
        "--visma-token-url",
        "http://127.0.0.1:9/connect/token",
        env=ENV,
    )
    assert refused.returncode == 1, refused.describe()
    assert "user name, password" in refused.stderr
    assert TOKEN not in refused.output
    listed = _ok(workspace.run("connection", "list", "--json"))
    assert listed.json() == []
    _assert_no_plaintext(_raw(workspace))


def _store_before_0012(workspace: CliWorkspace) -> None:
    """A database as a version before revision 0012 left it: alert URL in plaintext."""
    vault = Vault.from_key_file(workspace.key_path)
    engine = sa.create_engine(f"sqlite:///{workspace.database_path}")
    now = datetime.now(UTC)
    meta = sa.MetaData()
    connections = sa.Table(
        "connections",
        meta,
        sa.Column("id", sa.Integer),
        sa.Column("name", sa.String),
        sa.Column("status", sa.String),
        sa.Column("health_message", sa.Text),
        sa.Column("ramp_base_url", sa.String),
        sa.Column("visma_base_url", sa.String),
        sa.Column("visma_token_url", sa.String),
        sa.Column("credentials", sa.LargeBinary),
        sa.Column("settings", sa.JSON),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )
    targets = sa.Table(
        "alert_targets",
        meta,
        sa.Column("connection_id", sa.Integer),
        sa.Column("webhook_url", sa.String),
        sa.Column("email_to", sa.String),
        sa.Column("secrets", sa.LargeBinary),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )
    credentials = {"ramp_client_id": "r", "ramp_client_secret": RAMP_SECRET}
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0007")
            conn.execute(
                connections.insert().values(
                    id=1,
                    name=NAME,
                    status="active",
                    health_message="",
                    ramp_base_url="http://127.0.0.1:9",
                    visma_base_url="http://127.0.0.1:9",
                    visma_token_url="http://127.0.0.1:9/connect/token",
                    credentials=vault.encrypt(credentials),
                    settings={},
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                targets.insert().values(
                    connection_id=1,
                    webhook_url=URL,
                    email_to=None,
                    secrets=vault.encrypt({"webhook_secret": SIGNING}),
                    updated_at=now,
                )
            )
    finally:
        engine.dispose()


def test_a_plaintext_url_from_an_older_version_is_sealed_by_the_first_command(
    tmp_path: Path,
) -> None:
    """The first command after the upgrade moves the old plaintext URL into the vault: the
    column is empty, the masked form is shown, the ciphertext holds URL and secret, the file
    is tightened to 0600, and the raw bytes no longer hold the token."""
    workspace = CliWorkspace(tmp_path)
    _store_before_0012(workspace)
    assert TOKEN.encode() in workspace.database_path.read_bytes()
    assert _mode(workspace.database_path) == 0o644
    info = _ok(workspace.run("alerts", "show", NAME, "--json")).json()
    assert info["webhook_url"] == "https://hooks.example.com/…"
    assert info["webhook_secret_set"] is True
    assert _mode(workspace.database_path) == 0o600
    _assert_no_plaintext(_raw(workspace))
    with contextlib.closing(sqlite3.connect(workspace.database_path)) as db:
        url, hint, token = db.execute(
            "SELECT webhook_url, webhook_hint, secrets FROM alert_targets"
        ).fetchone()
    assert url is None
    assert hint == "https://hooks.example.com/…"
    sealed = Vault.from_key_file(workspace.key_path).decrypt(bytes(token))
    assert sealed == {"webhook_url": URL, "webhook_secret": SIGNING}
