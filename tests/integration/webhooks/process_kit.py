"""Running ``ml-connector`` commands as separate processes, the way an operator does."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench._ports import PortLost, await_listening
from bench._ports import free_port as free_port
from cryptography.fernet import Fernet

from ml_connector.demo import DemoSetup, operator_settings

__all__ = [
    "DEADLINE_S",
    "command",
    "connection_args",
    "env_for",
    "free_port",
    "run_cli",
    "start_cli",
    "stop_cli",
    "tail",
    "until",
]

DEADLINE_S = 60.0  # generous: a slow machine makes this slower, never red


def command() -> list[str]:
    """How to run ``ml-connector`` from the test's virtualenv."""
    script = Path(sys.executable).with_name("ml-connector")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ml_connector.cli import main; main()"]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a process with its own SQLite store and master key."""
    return {
        **os.environ,
        "ML_CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        "ML_CONNECTOR_MASTER_KEY": Fernet.generate_key().decode(),
        "ML_CONNECTOR_LOG_JSON": "true",
        **extra,
    }


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run one CLI command to completion: (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        *command(),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=DEADLINE_S)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def start_cli(env: dict[str, str], log: Path, *args: str) -> asyncio.subprocess.Process:
    """Start a long-running command with its output going to ``log``.

    A command given ``--port`` returns once the kernel shows it listening there: whoever
    answers on that port is then this process, never a stranger that took the port first.
    """
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *command(), *args, env=env, stdout=sink, stderr=sink
        )
    if "--port" in args:
        port = int(args[args.index("--port") + 1])
        try:
            await await_listening(
                process.pid, [port], lambda: process.returncode is None, what=" ".join(args)
            )
        except (PortLost, TimeoutError) as exc:
            if process.returncode is None:
                process.kill()
            raise AssertionError(f"{exc}\n{tail(log)}") from exc
    return process


async def stop_cli(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, then the exit code (killed, and the test failed, if it hangs)."""
    process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), timeout=DEADLINE_S)
    except TimeoutError:
        process.kill()
        raise


def tail(log: Path | None) -> str:
    """The end of a child's log, to explain a timeout."""
    return log.read_text()[-4000:] if log is not None and log.exists() else ""


async def until(
    check: Any, what: str, log: Path | None = None, *, deadline_s: float = DEADLINE_S
) -> None:
    """Poll ``check()`` until it is true; fail with the log's tail after ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{tail(log)}")
        await asyncio.sleep(0.1)


def connection_args(setup: DemoSetup, ramp_url: str, visma_url: str) -> Sequence[str]:
    """``connection add acme`` for the demo setup's sandboxes."""
    return [
        "connection", "add", "acme",
        "--ramp-client-id", setup.ramp_id,
        "--visma-client-id", setup.visma_id,
        "--visma-tenant-id", setup.tenant,
        "--visma-company-id", setup.company,
        "--ramp-base-url", ramp_url,
        "--visma-base-url", visma_url,
        "--visma-token-url", f"{visma_url}/connect/token",
        "--default-vat", str(operator_settings(setup.dataset)["mapping"]["default_vat"]),
    ]  # fmt: skip
