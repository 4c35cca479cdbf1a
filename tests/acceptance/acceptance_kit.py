"""Process-level helpers for the acceptance tests: sandboxes on free ports, the CLI as a child.

Nothing here imports ``ml_connector``. The acceptance tests see the product the way an operator
does: a command (``ml-connector``) with environment variables, two HTTP servers, and the files it
leaves behind (an SQLite database and a key file). Waits are bounded by generous deadlines so a
slow machine makes the suite slower, never red.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from bench._ports import free_port, listening_ports

__all__ = [
    "CliResult",
    "CliWorkspace",
    "DemoRun",
    "RunningCommand",
    "SandboxPair",
    "SandboxProcess",
    "SyncedWorld",
    "clean_env",
    "cli_command",
    "decimal_json",
]

START_DEADLINE_S = 60.0  # a sandbox normally answers within ~1 s
CLI_DEADLINE_S = 600.0  # the longest command (a full sync) normally takes ~20 s
_START_ATTEMPTS = 3  # a free port can be taken between probing and binding; try another


def cli_command() -> list[str]:
    """How to run ``ml-connector``: the venv's console script, else the module's entry point."""
    script = Path(sys.executable).with_name("ml-connector")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from ml_connector.cli import main; main()"]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without any ML_CONNECTOR_* setting, plus ``extra``.

    ``COLUMNS`` keeps rich from wrapping messages at 80 characters, so they stay greppable.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_CONNECTOR_")}
    env |= {"COLUMNS": "400", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    env |= dict(extra or {})
    return env


def decimal_json(text: str) -> Any:
    """Parse JSON keeping non-integer numbers exact (money is compared as Decimal)."""
    return json.loads(text, parse_float=Decimal)


# --- sandboxes ----------------------------------------------------------------------------------


@dataclass
class SandboxProcess:
    """One ``ml-connector sandbox ramp|visma`` child process listening on ``url``."""

    kind: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def _answering(self) -> bool:
        """It answers, and the kernel shows this child (no stranger) listening on its port."""
        if int(self.url.rsplit(":", 1)[1]) not in listening_ports(self.process.pid):
            return False
        try:
            return httpx.get(f"{self.url}/_sandbox/faults", timeout=2.0).status_code == 200
        except httpx.TransportError:
            return False


def _launch(kind: str, folder: Path, env: Mapping[str, str], seed: str) -> SandboxProcess:
    port = free_port()
    log_path = folder / f"{kind}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # secrets travel in the environment, never in argv
            [*cli_command(), "sandbox", kind, "--port", str(port), "--seed", seed],
            env=clean_env(env),
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return SandboxProcess(kind, f"http://127.0.0.1:{port}", process, log_path)


def _start_all(
    specs: list[tuple[str, dict[str, str]]], folder: Path, seed: str
) -> list[SandboxProcess]:
    """Start every sandbox at once, then wait for each; relaunch one that lost its port."""
    running = [_launch(kind, folder, env, seed) for kind, env in specs]
    for index, (kind, env) in enumerate(specs):
        for attempt in range(_START_ATTEMPTS):
            box = running[index]
            deadline = time.monotonic() + START_DEADLINE_S
            while box.process.poll() is None and not box._answering():
                if time.monotonic() > deadline:
                    for other in running:
                        other.stop()
                    raise RuntimeError(f"{kind} sandbox did not answer:\n{box.output()}")
                time.sleep(0.05)
            if box.process.poll() is None:
                break
            if attempt == _START_ATTEMPTS - 1:
                for other in running:
                    other.stop()
                raise RuntimeError(f"{kind} sandbox exited:\n{box.output()}")
            running[index] = _launch(kind, folder, env, seed)
    return running


@dataclass(frozen=True)
class RampCreds:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class VismaCreds:
    client_id: str
    client_secret: str
    tenant_id: str
    company_id: str


@dataclass
class SandboxPair:
    """A Ramp and a Visma sandbox process sharing one seed, with the credentials they accept."""

    ramp: SandboxProcess
    visma: SandboxProcess
    ramp_creds: RampCreds
    visma_creds: VismaCreds

    @classmethod
    def start(
        cls,
        folder: Path,
        *,
        seed: str = "demo",
        ramp_options: Mapping[str, str] | None = None,
        visma_options: Mapping[str, str] | None = None,
    ) -> SandboxPair:
        """Start both sandboxes with fresh random secrets; returns once both answer HTTP.

        ``seed``: ``demo``, ``empty`` or a dataset file; ``*_options``: more of the sandbox's
        ``ML_CONNECTOR_SANDBOX_*`` settings (a company's behaviours, for instance).
        """
        ramp_creds = RampCreds("acc-ramp-client", "ramp-sec-" + secrets.token_urlsafe(18))
        visma_creds = VismaCreds(
            "acc-visma-client",
            "visma-sec-" + secrets.token_urlsafe(18),
            "5e1f0c2a-acce-4a7e-9d11-7e57c0ffee01",
            "4711001",
        )
        ramp_env = {
            "ML_CONNECTOR_SANDBOX_RAMP_CLIENT_ID": ramp_creds.client_id,
            "ML_CONNECTOR_SANDBOX_RAMP_CLIENT_SECRET": ramp_creds.client_secret,
        }
        visma_env = {
            "ML_CONNECTOR_SANDBOX_VISMA_CLIENT_ID": visma_creds.client_id,
            "ML_CONNECTOR_SANDBOX_VISMA_CLIENT_SECRET": visma_creds.client_secret,
            "ML_CONNECTOR_SANDBOX_VISMA_TENANT_ID": visma_creds.tenant_id,
            "ML_CONNECTOR_SANDBOX_VISMA_COMPANY_ID": visma_creds.company_id,
        }
        ramp_env |= dict(ramp_options or {})
        visma_env |= dict(visma_options or {})
        ramp, visma = _start_all([("ramp", ramp_env), ("visma", visma_env)], folder, seed)
        return cls(ramp, visma, ramp_creds, visma_creds)

    def stop(self) -> None:
        self.ramp.stop()
        self.visma.stop()

    @property
    def visma_token_url(self) -> str:
        return f"{self.visma.url}/connect/token"

    @property
    def secrets(self) -> list[str]:
        return [self.ramp_creds.client_secret, self.visma_creds.client_secret]

    # Control API: what the tests assert on.

    def ramp_state(self) -> dict[str, Any]:
        response = httpx.get(f"{self.ramp.url}/_sandbox/state", timeout=60.0)
        response.raise_for_status()
        state: dict[str, Any] = decimal_json(response.text)
        return state

    def visma_state(self) -> dict[str, Any]:
        response = httpx.get(f"{self.visma.url}/_sandbox/state", timeout=60.0)
        response.raise_for_status()
        state: dict[str, Any] = decimal_json(response.text)
        return state

    def journal(self, box: SandboxProcess, *, after: int = 0) -> list[dict[str, Any]]:
        """The sandbox's request journal (vendor-API calls only), entries with seq > ``after``."""
        response = httpx.get(f"{box.url}/_sandbox/requests", timeout=60.0)
        response.raise_for_status()
        return [entry for entry in response.json() if entry["seq"] > after]

    def journal_mark(self, box: SandboxProcess) -> int:
        """The newest journal sequence number, to read only what comes after it."""
        return max((entry["seq"] for entry in self.journal(box)), default=0)

    def reset(self, seed: str = "demo") -> None:
        for box in (self.ramp, self.visma):
            httpx.post(f"{box.url}/_sandbox/reset", json={"seed": seed}, timeout=60.0)


# --- the CLI --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    elapsed_s: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return decimal_json(self.stdout)

    def describe(self) -> str:
        """For assertion messages: the command, its exit code and what it printed."""
        return (
            f"`ml-connector {' '.join(self.args)}` exited {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


@dataclass
class RunningCommand:
    """A command started in the background; its output goes to files, not pipes."""

    workspace: CliWorkspace
    args: tuple[str, ...]
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    started: float

    def wait(self) -> CliResult:
        """Wait for the command (killing it past the deadline) and record its result."""
        try:
            returncode = self.process.wait(timeout=CLI_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
            raise
        finally:
            self.workspace._running.remove(self)
        result = CliResult(
            self.args,
            returncode,
            self.stdout_path.read_text(encoding="utf-8", errors="replace"),
            self.stderr_path.read_text(encoding="utf-8", errors="replace"),
            time.monotonic() - self.started,
        )
        self.workspace.history.append(result)
        return result


@dataclass
class CliWorkspace:
    """An isolated operator machine: its own working folder, SQLite database and key file.

    Every command runs with the working folder as cwd (so no stray ``.env`` is read) and with
    only the ML_CONNECTOR_* variables given here. ``history`` keeps every result.
    """

    folder: Path
    history: list[CliResult] = field(default_factory=list)
    _running: list[RunningCommand] = field(default_factory=list)
    _started: int = 0

    @property
    def database_path(self) -> Path:
        return self.folder / "connector.db"

    @property
    def key_path(self) -> Path:
        return self.folder / "master.key"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {
            "ML_CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{self.database_path}",
            "ML_CONNECTOR_MASTER_KEY_FILE": str(self.key_path),
            **(extra or {}),
        }

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> CliResult:
        """Run one command to completion."""
        return self.start(*args, env=env).wait()

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> RunningCommand:
        """Start one command in the background; ``wait()`` for its result."""
        number, self._started = self._started, self._started + 1
        out = self.folder / f"cmd-{number}.stdout"
        err = self.folder / f"cmd-{number}.stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [*cli_command(), *args],
                env=clean_env(self.env(env)),
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        running = RunningCommand(self, args, process, out, err, time.monotonic())
        self._running.append(running)
        return running

    def add_connection(
        self,
        name: str,
        pair: SandboxPair,
        *,
        ramp_secret: str | None = None,
        visma_secret: str | None = None,
        tenant_id: str | None = None,
        credit_memo_prefix: str | None = "[CREDIT]",
    ) -> CliResult:
        """``connection add`` pointing at ``pair``; secrets go through the environment only.

        ``credit_memo_prefix``: the demo company marks its vendor credits with ``[CREDIT]``, so
        by default the operator turns on the connector's credit memo rule (off by default in
        the product); None leaves it off.
        """
        secrets_env = {
            "ML_CONNECTOR_RAMP_CLIENT_SECRET": ramp_secret or pair.ramp_creds.client_secret,
            "ML_CONNECTOR_VISMA_CLIENT_SECRET": visma_secret or pair.visma_creds.client_secret,
        }
        return self.run(
            "connection",
            "add",
            name,
            "--ramp-client-id",
            pair.ramp_creds.client_id,
            "--visma-client-id",
            pair.visma_creds.client_id,
            "--visma-tenant-id",
            tenant_id or pair.visma_creds.tenant_id,
            "--visma-company-id",
            pair.visma_creds.company_id,
            "--ramp-base-url",
            pair.ramp.url,
            "--visma-base-url",
            pair.visma.url,
            "--visma-token-url",
            pair.visma_token_url,
            *(("--credit-memo-prefix", credit_memo_prefix) if credit_memo_prefix else ()),
            env=secrets_env,
        )

    def stored_files(self) -> Iterator[Path]:
        """The database and its journal files, as far as they exist."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = self.database_path.with_name(self.database_path.name + suffix)
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_size:
                    yield path


# --- what the session fixtures hand out ---------------------------------------------------------


@dataclass
class SyncedWorld:
    """Sandbox processes, an operator workspace with connection ``demo``, one sync done."""

    pair: SandboxPair
    cli: CliWorkspace
    ramp_before: dict[str, Any]  # Ramp's state before the first sync
    first_sync: CliResult
    ramp_after: dict[str, Any]  # both states right after the first sync
    visma_after: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = self.first_sync.json()
        return summary


@dataclass
class DemoRun:
    """One ``ml-connector demo --json`` at DEBUG level, with client secrets the test knows."""

    result: CliResult
    ramp_secret: str
    visma_secret: str
