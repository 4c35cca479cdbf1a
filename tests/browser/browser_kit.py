"""What the browser tests share: launching Debian's Chromium, screenshots, logging in, polling.

No browser build is ever downloaded: Playwright drives ``/usr/bin/chromium`` (Debian's package,
installed by ``make browser``). Without it, or without the ``playwright`` package, the browser
tests skip and say why.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from browser.browser_world import PASSWORD, USERS

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "SCREENSHOTS",
    "Shots",
    "chromium_missing",
    "log_in",
    "wait_for",
]

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("ML_CONNECTOR_CHROMIUM", "/usr/bin/chromium"))
# Headless, and quiet: without the background-networking flags Chromium keeps calling home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"
VIEWPORT = {"width": 1280, "height": 860}
# Generous on purpose: a slow, shared machine must not fail a test, only make it wait longer.
PATIENCE_S = 60.0


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (install Debian's chromium: `make browser`)"
    return None


@dataclass
class Shots:
    """Saves one full-page PNG per page a test visits, under build/screenshots/<test>/."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: Page, what: str) -> Path:
        slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")
        path = self.folder / f"{len(self.taken) + 1:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def log_in(page: Page, base_url: str, role: str, shots: Shots | None = None) -> None:
    """Log in through the login form as the user of ``role`` and land on the overview."""
    email, _ = USERS[role]
    page.goto(f"{base_url}/ui")
    page.wait_for_url(re.compile(r"/ui/login"))
    if shots is not None:
        shots(page, "login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/ui/?$"))


def wait_for(check: Callable[[], T | None], what: str, timeout_s: float = PATIENCE_S) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.25)
