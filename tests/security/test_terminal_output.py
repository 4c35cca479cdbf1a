"""Issue 14, item 6: text from vendors and the store cannot act on an operator's terminal.

A store is seeded, through the product's own store and runtime calls, with text carrying a
screen clear, an OSC 8 hyperlink, rich markup, a bidi override, C1 CSI, bell, backspace and
carriage return, in every place the CLI prints from: a paused connection's health, a record's
error and hint, its timeline, an alert group, a webhook rejection (connection name, reason,
excerpt), an inbox event, a user's e-mail and the mapping table. Then every command that shows
them runs as a child process (as an operator would run it), once with its output piped and once
on a pseudo-terminal, where rich adds its own colours. Finally a Ramp sandbox process serves a
vendor with such a name, which ``suppliers match`` lists.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.table import Table

from acceptance.acceptance_kit import CliResult, CliWorkspace, SandboxPair, clean_env, cli_command
from ml_connector.app import connection_admin as admin
from ml_connector.app.mappings import save_table
from ml_connector.app.principal import Actor
from ml_connector.cli._safe import SafeConsole, install_excepthook, styled
from ml_connector.mapping.table import MappingRule, MappingTable, Target
from ml_connector.runtime import alerts as alert_ops
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.store import ConnectionStatus, EventSource
from ml_connector.store.users import Role
from ml_connector.terminal import UNSAFE

MARKUP = "[bold red]RED[/bold red]"
EVIL = (
    "Fjell\x1b[2J\x1b[H IT\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 "
    f"{MARKUP} \u202eexe.fdp\u202c \u2066iso\u2069 \x9b31m\x07\x08\rX:warning:"
)
# What an operator sees instead of the screen clear: the escape spelled out.
VISIBLE = "\\x1b[2J"
NAME = "acme"
WIDE = {"COLUMNS": "2000"}


def _unsafe(text: str) -> list[str]:
    """Every character of ``text`` a terminal would act on (newlines are fine)."""
    return sorted({m.group() for m in UNSAFE.finditer(text) if m.group() != "\n"})


def _contains(data: Any, wanted: str) -> bool:
    """``wanted`` is somewhere in ``data`` (or in lower case: e-mail addresses are kept so)."""
    if isinstance(data, str):
        return wanted in data or wanted.lower() in data
    if isinstance(data, dict):
        return any(_contains(v, wanted) or _contains(k, wanted) for k, v in data.items())
    if isinstance(data, list):
        return any(_contains(v, wanted) for v in data)
    return False


async def _seed(workspace: CliWorkspace) -> int:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workspace.database_path}",
        master_key_file=workspace.key_path,
    )
    rt = await Runtime.open(settings)
    try:
        connection = await admin.add_connection(
            Actor.local_admin("tests"),
            rt,
            NAME,
            credentials={
                "ramp_client_id": "r",
                "ramp_client_secret": "ramp-secret-value",
                "visma_client_id": "v",
                "visma_client_secret": "visma-secret-value",
                "visma_tenant_id": "t",
                "visma_company_id": "1",
            },
            ramp_base_url="http://127.0.0.1:9",
            visma_base_url="http://127.0.0.1:9",
            visma_token_url="http://127.0.0.1:9/connect/token",
        )
        store, cid = rt.store, connection.id
        record = await store.upsert_record(cid, "bill", "bill-1", reason="test")
        (claimed,) = await store.claim_due("seed", limit=1, lease_s=60)
        await store.mark_needs_attention(
            claimed.id, "seed", error=f"Vendor {EVIL} refused", hint=EVIL, error_code="vendor"
        )
        await store.upsert_record(cid, "bill", f"b-{EVIL}", reason="test")
        await store.append_audit(cid, record.id, "vendor_error", {"message": EVIL})
        await store.set_connection_status(cid, ConnectionStatus.PAUSED, EVIL)
        await alert_ops.evaluate(rt, now=datetime.now(UTC), force=True)
        await store.insert_rejection(
            f"x{EVIL}",
            EventSource.RAMP,
            http_status=401,
            reason=EVIL,
            body_size=len(EVIL),
            body_sha256="0" * 64,
            excerpt=EVIL,
        )
        event = await store.insert_event(
            cid, EventSource.RAMP, "evt-1", f"bills.{EVIL}", EVIL, {"vendor": EVIL}
        )
        await store.create_user(f"ops{EVIL}@example.test", password_hash="x", role=Role.VIEWER)
        rule = MappingRule("ramp_category", EVIL, Target.ACCOUNT, EVIL)
        await save_table(
            Actor.local_admin("tester"), rt, NAME, MappingTable((rule,)), check_visma=False
        )
        return event.event.id
    finally:
        await rt.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliWorkspace, int]:
    """An operator workspace whose store holds hostile text everywhere the CLI reads."""
    workspace = CliWorkspace(tmp_path_factory.mktemp("terminal"))
    return workspace, asyncio.run(_seed(workspace))


HUMAN_COMMANDS = [
    ("status", NAME),
    ("connection", "list"),
    ("connection", "show", NAME),
    ("records", "list", NAME),
    ("events", "list", NAME),
    ("webhooks", "rejections"),
    ("mappings", "show", NAME),
    ("alerts", "show", NAME),
    ("users", "list"),
]
JSON_COMMANDS = [
    ("status", NAME, "--json"),
    ("records", "show", NAME, "bill-1"),
    ("events", "show", NAME, "evt-1"),
    ("webhooks", "rejections", "--json"),
    ("mappings", "show", NAME, "--json"),
    ("alerts", "show", NAME, "--json"),
    ("users", "list", "--json"),
]


def _run_all(workspace: CliWorkspace, commands: list[tuple[str, ...]]) -> list[CliResult]:
    running = [workspace.start(*args, env=WIDE) for args in commands]
    return [command.wait() for command in running]


def test_tables_and_messages_show_hostile_text_literally(
    seeded: tuple[CliWorkspace, int],
) -> None:
    """Every human-readable command prints the text with its controls spelled out and its
    markup as written: nothing for the terminal to act on, nothing styled by the data."""
    workspace, _ = seeded
    for result in _run_all(workspace, HUMAN_COMMANDS):
        assert result.returncode == 0, result.describe()
        assert _unsafe(result.output) == [], result.describe()
        shown = result.output.lower()  # e-mail addresses are kept in lower case
        assert VISIBLE.lower() in shown, result.describe()
        assert MARKUP.lower() in shown, result.describe()
        assert "\\u202e" in shown, result.describe()


def test_json_output_escapes_every_control_and_keeps_the_text_exact(
    seeded: tuple[CliWorkspace, int],
) -> None:
    """``--json`` output holds no raw control, C1 or bidi character (the encoder escapes
    them) and decodes back to exactly what was stored."""
    workspace, _ = seeded
    for result in _run_all(workspace, JSON_COMMANDS):
        assert result.returncode == 0, result.describe()
        assert _unsafe(result.stdout) == [], result.describe()
        assert result.stdout.isascii()
        assert _contains(json.loads(result.stdout), EVIL), result.describe()


def test_exports_piped_are_exact_and_errors_are_neutralised(
    seeded: tuple[CliWorkspace, int],
) -> None:
    """An export piped to a file keeps the stored bytes for the tools that read it (JSON lines
    escape them), and an error message quoting stored text neutralises it."""
    workspace, _ = seeded
    exported = workspace.run("audit", "export", NAME, "--format", "jsonl")
    assert exported.returncode == 0, exported.describe()
    assert _unsafe(exported.stdout) == []
    entries = [json.loads(line) for line in exported.stdout.splitlines()]
    assert any(e["data"] == {"message": EVIL} for e in entries)
    refused = workspace.run("records", "show", NAME, f"b-{EVIL}x", env=WIDE)
    assert refused.returncode == 1, refused.describe()
    assert _unsafe(refused.output) == [], refused.describe()


_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _run_on_terminal(workspace: CliWorkspace, *args: str) -> str:
    """Run a command with a pseudo-terminal as standard output and error; all it wrote."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 2000, 0, 0))
    env = clean_env(workspace.env(WIDE))
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen(
        [*cli_command(), *args],
        env=env,
        cwd=workspace.folder,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8")


def test_on_a_terminal_only_the_consoles_own_colours_are_escape_sequences(
    seeded: tuple[CliWorkspace, int],
) -> None:
    """On a real terminal rich colours the output, but every escape sequence there is one of
    its colour codes; the stored sequences arrive spelled out, exports included."""
    workspace, _ = seeded
    for args in (("status", NAME), ("alerts", "show", NAME), ("records", "list", NAME)):
        shown = _run_on_terminal(workspace, *args).replace("\r\n", "\n")
        assert _unsafe(_SGR.sub("", shown)) == [], (args, shown)
        assert VISIBLE in shown, (args, shown)
    # Exports: JSON is escaped by the encoder; raw CSV text is spelled out on a terminal.
    jsonl = _run_on_terminal(workspace, "audit", "export", NAME).replace("\r\n", "\n")
    assert _unsafe(jsonl) == []
    assert "\\u001b[2J" in jsonl
    audit_csv = _run_on_terminal(workspace, "audit", "export", NAME, "--format", "csv")
    assert _unsafe(audit_csv.replace("\r\n", "\n")) == []
    mapping_csv = _run_on_terminal(workspace, "mappings", "export", NAME)
    assert _unsafe(mapping_csv.replace("\r\n", "\n")) == []
    assert VISIBLE in mapping_csv


@given(st.text())
def test_the_safe_console_never_writes_a_control_character(text: str) -> None:
    """Whatever the text, as a message, a table cell, a title or a styled value, what the
    console writes holds no control, C1 or bidi character other than newlines."""
    console = SafeConsole(width=120, force_terminal=False, color_system=None)
    with console.capture() as captured:
        console.print(text)
        table = Table("value", title=text)
        table.add_row(text)
        console.print(table)
        console.print(styled("[red]error:[/red] {}", text))
    assert _unsafe(captured.get()) == []


def test_an_unexpected_crash_prints_its_traceback_neutralised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A crash outside the expected errors still prints its message with controls escaped."""
    previous = sys.excepthook
    install_excepthook()
    try:
        try:
            raise RuntimeError(f"vendor said {EVIL}")
        except RuntimeError as exc:
            sys.excepthook(RuntimeError, exc, exc.__traceback__)
    finally:
        sys.excepthook = previous
    printed = capsys.readouterr().err
    assert "RuntimeError: vendor said" in printed
    assert VISIBLE in printed
    assert _unsafe(printed) == []


@pytest.fixture(scope="module")
def hostile_vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliWorkspace]:
    """Sandbox processes whose Ramp has a vendor named with hostile text, and a workspace
    with a connection to them."""
    pair = SandboxPair.start(tmp_path_factory.mktemp("vendor-sandboxes"))
    try:
        created = httpx.post(
            f"{pair.ramp.url}/_sandbox/vendors",
            json={"name": EVIL, "org_number": "987654321", "currency": "NOK"},
            timeout=60.0,
        )
        assert created.status_code == 201, created.text
        workspace = CliWorkspace(tmp_path_factory.mktemp("vendor-operator"))
        added = workspace.add_connection(NAME, pair)
        assert added.returncode == 0, added.describe()
        yield workspace
    finally:
        pair.stop()


def test_a_vendor_name_from_ramp_is_shown_literally(hostile_vendor: CliWorkspace) -> None:
    """``suppliers match --dry-run`` lists the Ramp vendor's name spelled out, as a table and
    as JSON, with nothing a terminal would act on."""
    table = hostile_vendor.run("suppliers", "match", NAME, "--dry-run", env=WIDE)
    assert table.returncode == 0, table.describe()
    assert _unsafe(table.output) == [], table.describe()
    assert VISIBLE in table.stdout
    assert MARKUP in table.stdout
    as_json = hostile_vendor.run("suppliers", "match", NAME, "--dry-run", "--json")
    assert as_json.returncode == 0, as_json.describe()
    assert _unsafe(as_json.stdout) == []
    assert any(p["vendor_name"] == EVIL for p in json.loads(as_json.stdout))
