"""Security headers on the dashboard and the admin API (an ASGI middleware).

Every response under ``/ui`` and ``/api`` carries:

- ``Content-Security-Policy``: only this origin may supply anything (:data:`CSP`); no inline
  script or style is allowed, none is used (the stylesheet is ``/ui/static/style.css``), no
  site may frame the pages, forms post only here, ``<base>`` is refused;
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``,
  ``X-Frame-Options: DENY`` (for browsers predating ``frame-ancestors``);
- ``Cache-Control: no-store`` on everything but the packaged static files: pages behind the
  login, the login form (it carries a CSRF token) and API answers never sit in a cache;
- ``Strict-Transport-Security`` when ``serve`` is told it sits behind https
  (``--behind-https`` / ``ML_CONNECTOR_BEHIND_HTTPS``), on every response it sends.

A header the handler set already is left as it is.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "SecurityHeaders"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_GUARDED = ("/ui", "/api")
_STATIC = "/ui/static/"


class SecurityHeaders:
    """Adds the headers above; ``hsts_max_age_s`` None sends no HSTS."""

    def __init__(self, app: ASGIApp, *, hsts_max_age_s: int | None = None) -> None:
        self.app = app
        self._hsts = (
            None if hsts_max_age_s is None else f"max-age={hsts_max_age_s}; includeSubDomains"
        )

    def _headers(self, path: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self._hsts is not None:
            out.append(("strict-transport-security", self._hsts))
        if path == "/ui" or path.startswith(tuple(p + "/" for p in _GUARDED)):
            out += [
                ("content-security-policy", CSP),
                ("x-content-type-options", "nosniff"),
                ("referrer-policy", "same-origin"),
                ("x-frame-options", "DENY"),
            ]
            if not path.startswith(_STATIC):
                out.append(("cache-control", "no-store"))
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers(scope["path"])
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
