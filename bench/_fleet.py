"""Plumbing for the scale benchmarks (fairness, memory, chaos): worlds, fleets, a balancer.

- ``history_world``: both sandboxes in a child process (``python -m bench._fleet``) with a bill
  history of which only the first ``ready`` bills are still to sync; the rest are already
  ``BILL_SYNCED`` in Ramp, as in a company that has used the connector for years.
- ``Fleet``: named ``ml-connector`` child processes that can be SIGKILLed and restarted.
- ``Balancer``: a round-robin TCP balancer on loopback in front of several receivers; a backend
  that refuses the connection is skipped, as a load balancer's health check would.
- ``results_dir`` and ``write_result``: where every benchmark writes its JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._ports import PortLost, await_listening, free_port
from bench._procs import cli
from bench._world import (
    COMPANY,
    RAMP_ID,
    RAMP_SECRET,
    TENANT,
    VISMA_ID,
    VISMA_SECRET,
    World,
    serving_child,
)
from bench._world import scaled_demo as scaled_demo
from ml_connector.sandbox.seed import Dataset


def results_dir() -> Path:
    """``$ML_CONNECTOR_BENCH_RESULTS`` (the smoke tests use a temporary folder) or bench/results."""
    configured = os.environ.get("ML_CONNECTOR_BENCH_RESULTS")
    folder = Path(configured) if configured else Path(__file__).parent / "results"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_result(name: str, result: dict[str, Any]) -> Path:
    path = results_dir() / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def pending_approval(dataset: Dataset) -> Dataset:
    """The same company with every bill still awaiting approval (an approval sends a webhook)."""
    bills = tuple(dataclasses.replace(b, approval_status="PENDING") for b in dataset.bills)
    return dataclasses.replace(dataset, bills=bills)


# --- a bill history served from a child process ---------------------------------------------


@contextmanager
def history_world(bills: int, ready: int) -> Iterator[World]:
    """Both sandboxes with ``bills`` bills, the first ``ready`` of them still to sync.

    On free ports proven to be the child's, as in ``bench._world.sandboxes``; seeding 100,000
    bills takes a while before the child listens.
    """
    with serving_child("bench._fleet", [str(bills), str(ready)], deadline_s=600) as world:
        yield world


async def _serve_history(bills: int, ready: int, ramp_port: int, visma_port: int) -> None:
    from ml_connector.sandbox.ramp import RampSandbox
    from ml_connector.sandbox.ramp.model import SyncStatus
    from ml_connector.sandbox.serve import start_server
    from ml_connector.sandbox.visma import VismaSandbox

    dataset = scaled_demo(bills)
    ramp = RampSandbox(RAMP_ID, RAMP_SECRET, dataset=dataset, rate_limit=10**9)
    visma = VismaSandbox(VISMA_ID, VISMA_SECRET, TENANT, COMPANY, dataset=dataset)
    for seed in dataset.bills[ready:]:
        ramp.state.bills[seed.id].sync_status = SyncStatus.BILL_SYNCED
    servers = [
        await start_server(ramp.app, port=ramp_port),
        await start_server(visma.app, port=visma_port),
    ]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    for server in servers:
        await server.stop()


# --- processes that can be killed ---------------------------------------------------------


@dataclass
class Fleet:
    """Named ``ml-connector`` child processes, each restartable under the same name."""

    env: dict[str, str]
    folder: Path
    running: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    commands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    kills: list[tuple[str, float]] = field(default_factory=list)
    _logs: int = 0

    async def start(self, name: str, *args: str) -> None:
        """Start (or restart, with the same arguments when none are given) ``name``."""
        command = args or self.commands[name]
        self.commands[name] = command
        self._logs += 1
        log = self.folder / f"{name}-{self._logs}.log"
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *cli(), *command, env=self.env, stdout=sink, stderr=sink
            )
        self.running[name] = process
        if "--port" in command:  # a server: proven to hold its port before anyone calls it
            port = int(command[command.index("--port") + 1])
            alive = lambda: process.returncode is None  # noqa: E731
            await await_listening(process.pid, [port], alive, what=name)

    async def serve(self, name: str, *args: str, attempts: int = 3) -> int:
        """Start ``name`` as ``serve *args`` on a free port proven to be its own; the port."""
        for attempt in range(attempts):
            port = free_port()
            try:
                await self.start(name, "serve", *args, "--port", str(port))
                return port
            except PortLost:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def alive(self, name: str) -> bool:
        return self.running[name].returncode is None

    async def kill(self, name: str) -> None:
        """SIGKILL: no shutdown handler runs; leases and half-done requests stay behind."""
        process = self.running[name]
        if process.returncode is None:
            process.kill()
            self.kills.append((name, time.monotonic()))
        await process.wait()

    async def stop(self, timeout_s: float = 60.0) -> dict[str, int | None]:
        """SIGTERM everything, wait; exit codes by name (None: it had to be killed)."""
        for process in self.running.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, process in self.running.items():
            try:
                codes[name] = await asyncio.wait_for(process.wait(), timeout=timeout_s)
            except TimeoutError:
                process.kill()
                await process.wait()
                codes[name] = None
        return codes

    def tail(self, lines: int = 3) -> str:
        logs = sorted(self.folder.glob("*.log"), key=lambda p: p.stat().st_mtime)
        return "".join(f"--- {p.name}\n{p.read_text()[-1500:]}\n" for p in logs[-lines:])


# --- a round-robin balancer ---------------------------------------------------------------


@dataclass
class Balancer:
    """Round-robin TCP balancing over ``backends`` (host, port); dead backends are skipped."""

    backends: list[tuple[str, int]]
    port: int = 0
    _server: asyncio.Server | None = None
    _next: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=5)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            host, port = self.backends[self._next % len(self.backends)]
            self._next += 1
            try:
                return await asyncio.open_connection(host, port)
            except OSError:
                continue
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:  # every receiver is down: the sender sees a refused connection
            writer.close()
            return
        up_reader, up_writer = upstream

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def main() -> None:
    parser = argparse.ArgumentParser(description="serve a bill history (see history_world)")
    parser.add_argument("ramp_port", type=int)
    parser.add_argument("visma_port", type=int)
    parser.add_argument("bills", type=int)
    parser.add_argument("ready", type=int)
    args = parser.parse_args()
    asyncio.run(_serve_history(args.bills, args.ready, args.ramp_port, args.visma_port))


if __name__ == "__main__":
    main()
