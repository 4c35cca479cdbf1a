"""Loopback ports for child processes, and proof that whoever listens on one is our child.

A port found free (bound to port 0 and closed again) can be taken by another process before the
child binds it, and a fixed port may already be in use (a developer's ``ml-connector sandbox``
on 18710). Polling such a port for an answer would then talk to a stranger, or wait for ever.
So every helper that starts a server process here picks a free port, starts the child on it,
and then asks the kernel's socket table (psutil) who listens there: the child's PID (or one of
its descendants') is the proof, a nonce no stranger can echo. A child that lost its port
exits (uvicorn cannot bind) or never appears as the listener; the helper then starts it again
on other ports.

The benchmarks (``bench/``) and the tests (``tests/``) both use this module.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterable

import psutil

__all__ = [
    "PortLost",
    "await_listening",
    "free_port",
    "listening_ports",
    "wait_listening",
]


class PortLost(RuntimeError):
    """The child exited, or someone else listens on its port: start it again elsewhere."""


def free_port() -> int:
    """A loopback port nothing listens on right now (the caller still proves who took it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` and its descendants listen on (empty once it is gone)."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return set()
    ports: set[int] = set()
    for process in family:
        try:
            connections = process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        ports |= {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}
    return ports


def _check(pid: int, ports: set[int], alive: Callable[[], bool], what: str) -> bool:
    """True once ``pid`` holds every port; PortLost when it died first."""
    if ports <= listening_ports(pid):
        return True
    if not alive():
        raise PortLost(f"{what} exited before listening on {sorted(ports)}")
    return False


def wait_listening(
    pid: int,
    ports: Iterable[int],
    alive: Callable[[], bool],
    *,
    what: str = "the child process",
    deadline_s: float = 120.0,
) -> None:
    """Block until process ``pid`` listens on every one of ``ports``.

    Raises PortLost when it exits first (another process held a port), TimeoutError after
    ``deadline_s``.
    """
    wanted, deadline = set(ports), time.monotonic() + deadline_s
    while not _check(pid, wanted, alive, what):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not listen on {sorted(wanted)} in {deadline_s:g} s")
        time.sleep(0.05)


async def await_listening(
    pid: int,
    ports: Iterable[int],
    alive: Callable[[], bool],
    *,
    what: str = "the child process",
    deadline_s: float = 120.0,
) -> None:
    """:func:`wait_listening` for asyncio code (sleeps without blocking the loop)."""
    wanted, deadline = set(ports), time.monotonic() + deadline_s
    while not _check(pid, wanted, alive, what):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not listen on {sorted(wanted)} in {deadline_s:g} s")
        await asyncio.sleep(0.05)
