"""Write docs/img/exceptions.png, the README's picture of the exceptions page.

Run from the repository root (it starts the same world as the browser tests: the demo company
synced with injected faults, served on loopback, looked at with Debian's Chromium)::

    PYTHONPATH=tests .venv/bin/python -m browser.capture [--out docs/img/exceptions.png]

It is a script, not a test, so a test run never rewrites a tracked image.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from browser.browser_kit import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, Shots, chromium_missing, log_in
from browser.browser_world import CONNECTION, World

DEFAULT_OUT = REPO_ROOT / "docs" / "img" / "exceptions.png"
# Wide enough for a group's bill ids on one line; the page is captured in full.
README_VIEWPORT = {"width": 1280, "height": 800}


def capture(out: Path) -> Path:
    """Start the world, log in as the operator, and save the exceptions page to ``out``."""
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ml-connector-capture-") as folder:
        world = World.start(Path(folder))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                context = browser.new_context(
                    viewport=README_VIEWPORT,
                    base_url=world.app_url,
                    device_scale_factor=1,
                )
                page = context.new_page()
                log_in(page, world.app_url, "operator", Shots(Path(folder)))
                page.goto(f"/ui/c/{CONNECTION}/exceptions")
                page.screenshot(path=str(out), full_page=True)
                browser.close()
        finally:
            world.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    reason = chromium_missing()
    if reason:
        print(f"cannot capture: {reason}", file=sys.stderr)
        return 1
    print(capture(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
