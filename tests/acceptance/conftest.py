"""Fixtures for the acceptance tests: sandbox processes, CLI workspaces, and the two long runs.

The expensive things happen once per session and are shared: one full ``sync --once`` of the
demo company through separate processes (``synced``) and one ``ml-connector demo --json``
(``demo_run``). The demo starts in the background as soon as either is needed, so the two long
runs overlap. Cheaper scenarios get their own pair of sandbox processes per module
(``sandboxes``), so no module sees another's state.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from acceptance.acceptance_kit import (
    CliWorkspace,
    DemoRun,
    RunningCommand,
    SandboxPair,
    SyncedWorld,
)


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxPair]:
    """A Ramp and a Visma sandbox process (demo seed) for one test module."""
    pair = SandboxPair.start(tmp_path_factory.mktemp("sandboxes"))
    try:
        yield pair
    finally:
        pair.stop()


@pytest.fixture(scope="session")
def synced(
    tmp_path_factory: pytest.TempPathFactory, demo_started: DemoStarted
) -> Iterator[SyncedWorld]:
    """``connection add demo`` then ``sync demo --once --json``, all as separate processes.

    Asks for ``demo_started`` only so that the demo runs while this sync does.
    """
    pair = SandboxPair.start(tmp_path_factory.mktemp("synced-sandboxes"))
    try:
        cli = CliWorkspace(tmp_path_factory.mktemp("synced-operator"))
        added = cli.add_connection("demo", pair)
        assert added.returncode == 0, added.describe()
        ramp_before = pair.ramp_state()
        first = cli.run("sync", "demo", "--once", "--json")
        assert first.returncode == 0, first.describe()
        yield SyncedWorld(pair, cli, ramp_before, first, pair.ramp_state(), pair.visma_state())
    finally:
        pair.stop()


@dataclass
class DemoStarted:
    command: RunningCommand
    ramp_secret: str
    visma_secret: str


@pytest.fixture(scope="session")
def demo_started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStarted]:
    """Start ``ml-connector demo --json`` at DEBUG level with client secrets the test knows."""
    ramp_secret = "demo-ramp-" + secrets.token_urlsafe(18)
    visma_secret = "demo-visma-" + secrets.token_urlsafe(18)
    cli = CliWorkspace(tmp_path_factory.mktemp("demo-operator"))
    command = cli.start(
        "demo",
        "--json",
        env={
            "ML_CONNECTOR_LOG_LEVEL": "DEBUG",
            "ML_CONNECTOR_DEMO_RAMP_SECRET": ramp_secret,
            "ML_CONNECTOR_DEMO_VISMA_SECRET": visma_secret,
        },
    )
    started = DemoStarted(command, ramp_secret, visma_secret)
    try:
        yield started
    finally:
        if command.process.poll() is None:  # a failed session must not leave it running
            command.process.kill()
            command.process.wait(timeout=15)


@pytest.fixture(scope="session")
def demo_run(demo_started: DemoStarted) -> DemoRun:
    """The demo's finished run (it takes the better part of 20 s)."""
    result = demo_started.command.wait()
    return DemoRun(result, demo_started.ramp_secret, demo_started.visma_secret)
