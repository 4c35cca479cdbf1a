"""Servers started by the benchmarks and tests use free ports and prove they hold them.

``ml-connector sandbox`` listens on 18710/18720 by habit; an HTTP server already there once made
``make test`` talk to a stranger and hang. Here strangers hold those ports (and one other) and
the helpers must still reach only their own children.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from bench._ports import PortLost, free_port, listening_ports, wait_listening
from bench._world import sandboxes

SANDBOX_HABIT_PORTS = (18710, 18720)


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def strangers(*ports: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``python -m http.server`` on each free one of ``ports`` (it answers 404 to our paths)."""
    started = []
    try:
        for port in ports:
            if _port_in_use(port):
                continue  # someone is there already: the same situation
            stranger = subprocess.Popen(
                [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started.append(stranger)
            wait_listening(stranger.pid, [port], lambda s=stranger: s.poll() is None)
        yield started
    finally:
        for stranger in started:
            stranger.terminate()
            stranger.wait(timeout=30)


def test_world_on_free_ports_while_strangers_hold_the_habitual_ones() -> None:
    """With servers on 18710 and 18720, the benchmark world starts and answers as a sandbox."""
    with strangers(*SANDBOX_HABIT_PORTS), sandboxes(3) as world:
        for url in (world.ramp_url, world.visma_url):
            assert int(url.rsplit(":", 1)[1]) not in SANDBOX_HABIT_PORTS
        state = httpx.get(f"{world.ramp_url}/_sandbox/state", timeout=30)
        assert state.status_code == 200
        assert len(state.json()["bills"]) == 3
        assert httpx.get(f"{world.visma_url}/_sandbox/state", timeout=30).status_code == 200


def test_a_child_that_lost_its_port_is_detected_at_once() -> None:
    """A child started on a port a stranger holds is reported lost, never taken for ready."""
    port = free_port()
    with strangers(port):
        loser = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        began = time.monotonic()
        with pytest.raises(PortLost):
            wait_listening(loser.pid, [port], lambda: loser.poll() is None, deadline_s=60)
        assert time.monotonic() - began < 30
        assert loser.wait(timeout=30) != 0
        assert port not in listening_ports(loser.pid)
