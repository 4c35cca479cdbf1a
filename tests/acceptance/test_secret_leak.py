"""No secret escapes: not to stdout or stderr, not to a log, not into the database.

Material: the session's demo run (DEBUG logging, client secrets fixed by the test), every
command of the synced operator workspace (``connection add``, two syncs, ``status``), plus here
a passing and a failing ``ping``, ``connection list`` and ``connection show``; the sandbox
processes' own output; and the bytes of the operator's SQLite database.

Searched for: every client secret involved (right and wrong ones), the master key, and bearer
tokens. The connector's own tokens cannot be read from outside, so tokens are searched by shape,
learnt by fetching one from each sandbox: Ramp's carry a fixed prefix, Visma's are 43 url-safe
characters. ``Bearer …`` and ``"access_token": …`` with anything but ``[redacted]`` also fail.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from dataclasses import dataclass

import httpx
import pytest
from cryptography.fernet import Fernet, MultiFernet

from acceptance.acceptance_kit import DemoRun, SyncedWorld

pytestmark = pytest.mark.slow

RAMP_TOKEN_PREFIX = "ramp_tok_"
URLSAFE = r"A-Za-z0-9_\-"  # a character-class body: letters, digits, _ and -
BEARER_IN_CLEAR = re.compile(r"(?i)\bbearer\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}")
ACCESS_TOKEN_IN_CLEAR = re.compile(r'"access_token"\s*:\s*"(?!\[redacted\])')
FERNET_KEY_SHAPE = re.compile(rf"(?<![{URLSAFE}])[{URLSAFE}]{{43}}=")


@dataclass
class Material:
    texts: dict[str, str]  # where → what was printed or logged there
    database: bytes
    secrets: dict[str, str]  # what → the secret value
    visma_token_shape: re.Pattern[str]
    master_keys: list[str]
    failing_ping: str


def _fetch_tokens(world: SyncedWorld) -> tuple[str, str]:
    pair = world.pair
    with httpx.Client(timeout=60.0) as client:
        ramp = client.post(
            f"{pair.ramp.url}/developer/v1/token",
            auth=(pair.ramp_creds.client_id, pair.ramp_creds.client_secret),
            data={"grant_type": "client_credentials", "scope": "bills:read"},
        )
        visma = client.post(
            pair.visma_token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": pair.visma_creds.client_id,
                "client_secret": pair.visma_creds.client_secret,
                "tenant_id": pair.visma_creds.tenant_id,
                "scope": "vismanet_erp_service_api:read",
            },
        )
    assert ramp.status_code == 200, ramp.text
    assert visma.status_code == 200, visma.text
    return ramp.json()["access_token"], visma.json()["access_token"]


@pytest.fixture(scope="module")
def material(synced: SyncedWorld, demo_run: DemoRun) -> Material:
    """Run the extra commands, fetch sample tokens, and gather everything to search."""
    cli, pair = synced.cli, synced.pair
    wrong_ramp, wrong_visma = "wrong-ramp-secret-5f2c9a", "wrong-visma-secret-8e1d7b"
    added = cli.add_connection("leaky", pair, ramp_secret=wrong_ramp, visma_secret=wrong_visma)
    assert added.returncode == 0, added.describe()
    failing = cli.run("ping", "leaky")
    assert failing.returncode == 1, failing.describe()
    for args in (
        ("ping", "demo"),
        ("connection", "list", "--json"),
        ("connection", "show", "demo"),
    ):
        result = cli.run(*args)
        assert result.returncode == 0, result.describe()

    ramp_token, visma_token = _fetch_tokens(synced)
    # The shapes the searches rely on; if a sandbox changes them, this says so plainly.
    assert ramp_token.startswith(RAMP_TOKEN_PREFIX)
    assert re.fullmatch(rf"[{URLSAFE}]{{43}}", visma_token)

    texts = {f"`{' '.join(r.args)}` #{n}": r.output for n, r in enumerate(cli.history)}
    texts["`demo --json` (DEBUG)"] = demo_run.result.output
    texts["ramp sandbox log"] = pair.ramp.output()
    texts["visma sandbox log"] = pair.visma.output()
    master_keys = [
        line.strip()
        for line in cli.key_path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return Material(
        texts=texts,
        database=b"".join(path.read_bytes() for path in cli.stored_files()),
        secrets={
            "ramp client secret": pair.ramp_creds.client_secret,
            "visma client secret": pair.visma_creds.client_secret,
            "wrong ramp secret": wrong_ramp,
            "wrong visma secret": wrong_visma,
            "demo ramp secret": demo_run.ramp_secret,
            "demo visma secret": demo_run.visma_secret,
            "sample ramp token": ramp_token,
            "sample visma token": visma_token,
            **{f"master key {n}": key for n, key in enumerate(master_keys, start=1)},
        },
        visma_token_shape=re.compile(rf"(?<![{URLSAFE}])[{URLSAFE}]{{43}}(?![{URLSAFE}=])"),
        master_keys=master_keys,
        failing_ping=failing.output,
    )


def test_outputs_and_logs_hold_no_secret(material: Material) -> None:
    """No command output or sandbox log contains a secret, a master key or a token."""
    assert material.master_keys, "the operator workspace has no master key file"
    assert "FAILED" in material.failing_ping  # the error path did run and print
    leaks = []
    for where, text in material.texts.items():
        leaks += [f"{what} in {where}" for what, value in material.secrets.items() if value in text]
        for name, pattern in (
            ("a Ramp token", re.compile(re.escape(RAMP_TOKEN_PREFIX))),
            ("a Visma-shaped token", material.visma_token_shape),
            ("a bearer credential", BEARER_IN_CLEAR),
            ("an access_token value", ACCESS_TOKEN_IN_CLEAR),
            ("a Fernet-key-shaped string", FERNET_KEY_SHAPE),
        ):
            leaks += [f"{name} in {where}: {m.group(0)[:12]}…" for m in pattern.finditer(text)]
    assert leaks == []


def test_database_holds_no_secret(material: Material) -> None:
    """No byte sequence of the SQLite files is a secret, a master key or a clear token."""
    raw = material.database
    text = raw.decode("latin-1")
    assert len(raw) > 100_000, "the database is suspiciously small for a full sync"
    leaks = [what for what, value in material.secrets.items() if value.encode() in raw]
    for name, pattern in (
        ("a Ramp token", re.compile(re.escape(RAMP_TOKEN_PREFIX))),
        # Inside JSON a token would be a quoted string; unquoted runs are index bytes.
        ("a Visma-shaped token", re.compile(rf'"[{URLSAFE}]{{43}}"')),
        ("a bearer credential", BEARER_IN_CLEAR),
        ("an access_token value", ACCESS_TOKEN_IN_CLEAR),
    ):
        leaks += [f"{name}: {m.group(0)[:12]}…" for m in pattern.finditer(text)]
    assert leaks == []
    assert b'"access_token":"[redacted]"' in raw or b'"access_token": "[redacted]"' in raw


def test_credentials_column_is_ciphertext_under_the_master_key(
    synced: SyncedWorld, material: Material
) -> None:
    """Each stored credential set is a Fernet token that only the master key opens."""
    vault = MultiFernet([Fernet(key.encode()) for key in material.master_keys])
    with contextlib.closing(sqlite3.connect(synced.cli.database_path)) as db:
        rows = dict(db.execute("SELECT name, credentials FROM connections").fetchall())
    assert {"demo", "leaky"} <= set(rows)
    for name, stored in rows.items():
        blob = bytes(stored) if isinstance(stored, bytes | memoryview) else str(stored).encode()
        assert blob.startswith(b"gAAAAA"), f"{name}: not a Fernet token"
        creds = json.loads(vault.decrypt(blob))
        assert set(creds) >= {"ramp_client_secret", "visma_client_secret", "visma_tenant_id"}
        for value in creds.values():
            assert value.encode() not in blob
    demo = json.loads(vault.decrypt(bytes(rows["demo"])))
    assert demo["ramp_client_secret"] == synced.pair.ramp_creds.client_secret
    assert demo["visma_client_secret"] == synced.pair.visma_creds.client_secret
