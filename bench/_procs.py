"""Shared benchmark plumbing: throw-away stores, CLI child processes, and a lean HTTP load client.

The load client speaks HTTP/1.1 over raw asyncio streams with keep-alive and pre-built requests,
so on a small machine the generator takes as little CPU as possible away from the processes it
measures.
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench._ports import PortLost, await_listening
from bench._ports import free_port as free_port

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "machine": f"{platform.machine()} {platform.processor() or ''} "
        f"{platform.python_implementation()} {platform.python_version()}".replace("  ", " "),
        "cpus": os.cpu_count(),
        "date": datetime.now(UTC).date().isoformat(),
    }


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


@asynccontextmanager
async def store_url(backend: str, folder: Path) -> AsyncIterator[str]:
    """A fresh store URL: a SQLite file in ``folder``, or a PostgreSQL database dropped after."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        return
    base = os.environ.get("ML_CONNECTOR_TEST_PG_URL", DEFAULT_PG_URL)
    name = f"mlc_bench_{uuid.uuid4().hex[:12]}"
    dsn = base.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def cli() -> list[str]:
    script = Path(sys.executable).with_name("ml-connector")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ml_connector.cli import main; main()"]


@dataclass
class Children:
    """CLI child processes started by a benchmark, stopped (SIGTERM, then SIGKILL) at the end."""

    env: dict[str, str]
    folder: Path
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"child-{len(self.running)}.log").open("wb")
        child = subprocess.Popen([*cli(), *args], env=self.env, stdout=log, stderr=log)
        self.running.append(child)
        return child

    async def serve(self, *args: str, attempts: int = 3) -> int:
        """Start ``ml-connector serve *args`` on a free port proven to be its own; the port."""
        for attempt in range(attempts):
            port = free_port()
            child = self.start("serve", *args, "--port", str(port))
            try:
                await await_listening(
                    child.pid, [port], lambda child=child: child.poll() is None, what="serve"
                )
                return port
            except PortLost:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        for child in self.running:
            if child.poll() is None:
                child.terminate()
        for child in self.running:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


async def wait_ready(url: str, deadline_s: float = 60.0) -> None:
    """Poll ``url`` (a /readyz) until it answers 200."""
    started = time.monotonic()
    async with httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(url, timeout=2)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() - started > deadline_s:
                raise RuntimeError(f"{url} did not become ready")
            await asyncio.sleep(0.1)


def http_post(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One pre-built HTTP/1.1 keep-alive POST."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class LoadResult:
    latencies_s: list[float]
    statuses: Counter[int]
    wall_s: float


async def fire(
    targets: Sequence[tuple[str, int]], requests: Sequence[bytes], connections: int
) -> LoadResult:
    """Send ``requests`` over ``connections`` keep-alive connections spread over ``targets``."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = list(reversed(requests))

    async def one_connection(host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while queue:
                request = queue.pop()
                began = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - began)
                statuses[status] += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(one_connection(*targets[n % len(targets)]) for n in range(connections)))
    return LoadResult(latencies, statuses, time.perf_counter() - began)
