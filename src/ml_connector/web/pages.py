"""What every dashboard page shares: templates, the session check, CSRF, and error pages.

:meth:`Pages.page` wraps a handler: without a session (an API token does not count) the
visitor is sent to the login page; a POST must carry the session's CSRF token in the ``csrf``
field or is refused with 403 before the handler runs; the operations' refusals become pages
(404 not found or out of scope, 403 not allowed, 400 invalid, with the message redacted).
Templates and the stylesheet ship inside the package; nothing comes from a CDN.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from ml_connector.errors import ConnectorError
from ml_connector.runtime.wiring import Runtime
from ml_connector.web import operations as ops
from ml_connector.web.auth import CSRF_FIELD, Auth, Principal

__all__ = ["STATIC_DIR", "TEMPLATES", "PageOf", "Pages", "form_text", "redirect"]

_HERE = Path(__file__).resolve().parent
STATIC_DIR = _HERE / "static"
TEMPLATES = Jinja2Templates(directory=str(_HERE / "templates"))

Page = Callable[[Request, Principal], Awaitable[Response]]
PageOf = Callable[["Pages", Request, Principal], Awaitable[Response]]
_FORM = "mlc_form"  # the parsed form, kept on the request for the handler


def redirect(url: str) -> Response:
    """A 303 See Other: after a POST, the browser GETs the next page."""
    return Response(status_code=303, headers={"location": url})


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


class Pages:
    """Renders templates and guards page handlers for one runtime and one authenticator."""

    def __init__(self, runtime: Runtime, auth: Auth) -> None:
        self.runtime = runtime
        self.auth = auth

    def render(
        self,
        request: Request,
        name: str,
        principal: Principal | None,
        status: int = 200,
        **ctx: Any,
    ) -> Response:
        context = {"principal": principal, "csrf": principal.csrf if principal else "", **ctx}
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status)

    def error(self, request: Request, principal: Principal, status: int, message: str) -> Response:
        text = self.runtime.redactor.scrub_text(message)
        return self.render(request, "error.html", principal, status, message=text)

    @staticmethod
    async def form(request: Request) -> FormData:
        """The POSTed form (parsed once by the guard)."""
        cached = request.scope.get(_FORM)
        if isinstance(cached, FormData):
            return cached
        form = await request.form()
        request.scope[_FORM] = form
        return form

    def page(self, handler: Page) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            principal = await self.auth.principal(request)
            if principal is None or principal.via != "session":
                target = quote(request.url.path)
                return redirect(f"/ui/login?next={target}")
            if request.method == "POST":
                sent = (await self.form(request)).get(CSRF_FIELD)
                if not principal.csrf_ok(sent if isinstance(sent, str) else None):
                    return self.error(request, principal, 403, "Form expired; reload the page.")
            try:
                return await handler(request, principal)
            except ops.NotFound as exc:
                return self.error(request, principal, 404, str(exc))
            except ops.Forbidden as exc:
                return self.error(request, principal, 403, str(exc))
            except (ValueError, ConnectorError) as exc:
                return self.error(request, principal, 400, str(exc))

        return endpoint

    def of(self, handler: PageOf) -> Callable[[Request], Awaitable[Response]]:
        """:meth:`page` for a module-level handler that takes the pages first."""

        async def bound(request: Request, principal: Principal) -> Response:
            return await handler(self, request, principal)

        return self.page(bound)
