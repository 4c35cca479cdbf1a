"""Fixtures for the browser tests: the running product, Chromium, and logged-in pages.

The world (sandboxes, synced demo connection, app with its worker) and Chromium start once per
module, the world in a thread of its own (so nothing keeps running once the module is done);
each role logs in through the form once per module, and each test gets fresh browser contexts
and its own screenshot folder, build/screenshots/<test name>/.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from browser.browser_kit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PATIENCE_S,
    SCREENSHOTS,
    VIEWPORT,
    Shots,
    chromium_missing,
    log_in,
)
from browser.browser_world import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, StorageState

OpenPage = Callable[[str | None], "Page"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The demo connection synced with injected faults, served with the dashboard on loopback."""
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    running = World.start(tmp_path_factory.mktemp("browser-world"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser build)."""
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    """This test's screenshot folder, emptied first."""
    folder = SCREENSHOTS / request.node.name.replace("/", "-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Shots(folder)


@pytest.fixture(scope="module")
def sessions(chromium: Browser, world: World) -> Callable[[str], StorageState]:
    """Each role's session cookie, got by logging in through the form once per module."""
    states: dict[str, StorageState] = {}

    def session_of(role: str) -> StorageState:
        if role not in states:
            context = chromium.new_context(base_url=world.app_url)
            context.set_default_timeout(PATIENCE_S * 1000)
            log_in(context.new_page(), world.app_url, role)
            states[role] = context.storage_state()
            context.close()
        return states[role]

    return session_of


@pytest.fixture
def open_page(
    chromium: Browser, world: World, sessions: Callable[[str], StorageState]
) -> Iterator[OpenPage]:
    """Opens a fresh browser context on the overview, logged in as a role (None: logged out)."""
    contexts = []

    def open_as(role: str | None) -> Page:
        context = chromium.new_context(
            viewport=VIEWPORT,
            base_url=world.app_url,
            storage_state=sessions(role) if role else None,
        )
        context.set_default_timeout(PATIENCE_S * 1000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/ui")
        return page

    yield open_as
    for context in contexts:
        context.close()
