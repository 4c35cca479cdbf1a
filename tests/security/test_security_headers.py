"""Issue 14 item 8: every dashboard page sends the security headers, with no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from ml_connector.web.headers import CSP
from security.security_kit import PASSWORD, SecureSite, ServeProcess

REQUIRED = ("default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'")


def _ui_pages(site: SecureSite) -> list[str]:
    """Every dashboard page a browser can GET, from the app's route table."""
    values = {"name": "acme", "record_id": str(site.record_ids[0])}
    return [
        re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], route.path)
        for route in site.app.routes
        if isinstance(route, Route)
        and route.path.startswith("/ui")
        and "GET" in (route.methods or set())
    ]


def _check_headers(response: httpx.Response, *, cached: bool = False) -> None:
    policy = response.headers["content-security-policy"]
    for directive in REQUIRED:
        assert directive in policy, (response.url, policy)
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    if not cached:
        assert response.headers["cache-control"] == "no-store", response.url


def _no_inline_code(html: str) -> None:
    """No inline <script> or <style>, no style= or on…= attributes, no javascript: URLs."""
    assert not re.search(r"<script(?![^>]*\ssrc=)", html, re.IGNORECASE)
    assert not re.search(r"<style", html, re.IGNORECASE)
    assert not re.search(r"\s(style|on[a-z]+)\s*=", html, re.IGNORECASE)
    assert "javascript:" not in html.lower()


async def test_every_page_sends_the_headers_and_no_inline_code(site: SecureSite) -> None:
    """Logged out and logged in (as admin, who sees every page), each /ui page carries CSP,
    nosniff, same-origin referrers and no-store, and holds no inline script or style."""
    pages = _ui_pages(site)
    assert len(pages) >= 7
    cookie, _ = await site.session("admin@x.test")
    async with site.client() as anonymous, site.client(cookie=f"mlc_session={cookie}") as admin:
        for path in pages:
            for client in (anonymous, admin):
                response = await client.get(path)
                assert response.status_code in (200, 303), (path, response.status_code)
                _check_headers(response)
                _no_inline_code(response.text)
        failed_login = await anonymous.post("/ui/login", data={"email": "x", "password": "y"})
        _check_headers(failed_login)
        css = await anonymous.get("/ui/static/style.css")
        _check_headers(css, cached=True)
        assert css.headers.get("cache-control") != "no-store"
        api = await admin.get("/api/v1/me")
        _check_headers(api)
        assert "strict-transport-security" not in api.headers  # not told it is behind https


def test_templates_hold_no_inline_code() -> None:
    """The packaged templates themselves carry no inline script, style or handler."""
    templates = Path(__file__).resolve().parents[2] / "src/ml_connector/web/templates"
    files = sorted(templates.glob("*.html"))
    assert files
    for file in files:
        _no_inline_code(file.read_text())


def test_the_policy_is_strict() -> None:
    """The policy names the required directives and allows nothing from other origins."""
    for directive in REQUIRED:
        assert directive in CSP
    assert "*" not in CSP
    assert "unsafe" not in CSP


@pytest.mark.slow
def test_serve_behind_https_sends_hsts(tmp_path: Path) -> None:
    """``serve --behind-https`` adds HSTS to pages and probes; without it there is none."""
    plain = ServeProcess(tmp_path / "plain")
    secured = ServeProcess(tmp_path / "https", flags=("--behind-https",))
    for serve in (plain, secured):
        serve.folder.mkdir()
        added = serve.cli(
            "users", "add", "admin@x.test", "--role", "admin",
            extra={"ML_CONNECTOR_USER_PASSWORD": PASSWORD},
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        serve.start()
    try:
        with httpx.Client(timeout=30) as client:
            page = client.get(f"{secured.url}/ui/login")
            probe = client.get(f"{secured.url}/healthz")
            unmarked = client.get(f"{plain.url}/ui/login")
    finally:
        plain.stop()
        secured.stop()
    assert page.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "strict-transport-security" in probe.headers
    assert "strict-transport-security" not in unmarked.headers
    _check_headers(page)
    _check_headers(unmarked)
    assert "server" not in page.headers  # no software banner
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "secure" in cookie
