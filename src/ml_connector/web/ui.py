"""The dashboard under ``/ui``: server-rendered pages over the same operations as the API.

Every page but the login page redirects to it without a session. Every form carries the
session's CSRF token (the ``csrf`` field); a POST without the right one is refused with 403.
Viewers see the pages but not the action forms, and a forged action from a viewer is refused
by the operation itself. Templates and the stylesheet ship inside the package.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ml_connector.errors import ConnectorError
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import SyncStatus
from ml_connector.web import operations as ops
from ml_connector.web.auth import CSRF_FIELD, SESSION_COOKIE, Auth, LoginRefused, Principal

__all__ = ["ui_routes"]

_HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(_HERE / "templates"))

Page = Callable[[Request, Principal], Awaitable[Response]]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def ui_routes(runtime: Runtime, auth: Auth) -> list[BaseRoute]:
    """The ``/ui`` routes and the packaged static files."""

    def render(
        request: Request, name: str, principal: Principal | None, status: int = 200, **ctx: Any
    ) -> Response:
        context = {"principal": principal, "csrf": principal.csrf if principal else "", **ctx}
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status)

    def page(handler: Page) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            principal = await auth.principal(request)
            if principal is None or principal.via != "session":
                target = quote(request.url.path)
                return RedirectResponse(f"/ui/login?next={target}", status_code=303)
            if request.method == "POST":
                form = await request.form()
                sent = form.get(CSRF_FIELD)
                if not principal.csrf_ok(sent if isinstance(sent, str) else None):
                    return render(
                        request, "error.html", principal, 403, message="Form expired; reload."
                    )
            try:
                return await handler(request, principal)
            except ops.NotFound as exc:
                return render(request, "error.html", principal, 404, message=str(exc))
            except ops.Forbidden as exc:
                return render(request, "error.html", principal, 403, message=str(exc))
            except (ValueError, ConnectorError) as exc:
                text = runtime.redactor.scrub_text(str(exc))
                return render(request, "error.html", principal, 400, message=text)

        return endpoint

    async def login_form(request: Request) -> Response:
        return render(request, "login.html", None, next=request.query_params.get("next", "/ui"))

    async def login(request: Request) -> Response:
        form = await request.form()
        email, password = str(form.get("email", "")), str(form.get("password", ""))
        target = str(form.get("next", "/ui"))
        if not target.startswith("/ui") or target.startswith("//"):
            target = "/ui"  # never redirect off-site after login
        try:
            _, cookie = await auth.login(email, password, _client(request))
        except LoginRefused as exc:
            status = 429 if exc.throttled else 401
            return render(request, "login.html", None, status, error=exc.message, next=target)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, cookie, **auth.cookie_options())  # type: ignore[arg-type]
        return response

    async def logout(request: Request, p: Principal) -> Response:
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def overview(request: Request, p: Principal) -> Response:
        rows = [
            await ops.connection_overview(runtime, c)
            for c in await ops.visible_connections(runtime, p)
        ]
        return render(request, "overview.html", p, connections=rows)

    async def records(request: Request, p: Principal) -> Response:
        connection = await ops.visible_connection(runtime, p, request.path_params["name"])
        q = request.query_params
        state = q.get("state") or None
        flt = ops.RecordFilter(
            object_type=q.get("type") or None,
            state=SyncStatus(state) if state else None,
            since=ops.parse_time(q.get("since")),
            until=ops.parse_time(q.get("until")),
            query=q.get("q", ""),
        )
        rows = await ops.search_records(runtime, connection, flt)
        states = [s.value for s in SyncStatus]
        return render(
            request, "records.html", p, connection=connection, records=rows, q=q, states=states
        )

    async def record(request: Request, p: Principal) -> Response:
        connection = await ops.visible_connection(runtime, p, request.path_params["name"])
        detail = await ops.record_detail(runtime, connection, request.path_params["record_id"])
        return render(request, "record.html", p, connection=connection, record=detail)

    async def exceptions(request: Request, p: Principal) -> Response:
        connection = await ops.visible_connection(runtime, p, request.path_params["name"])
        groups = await ops.exception_groups(runtime, connection)
        return render(request, "exceptions.html", p, connection=connection, groups=groups)

    async def act(request: Request, p: Principal) -> Response:
        """One form for the queue's actions: preview (dry run), replay, exclude."""
        connection = await ops.visible_connection(runtime, p, request.path_params["name"])
        form = await request.form()
        ids = [int(str(v)) for v in form.getlist("record_id")]
        action = str(form.get("action", ""))
        if action == "preview":
            items = await ops.replay(runtime, p, connection, ids, dry_run=True)
            return render(
                request, "preview.html", p, connection=connection, items=items, record_ids=ids
            )
        if action == "replay":
            items = await ops.replay(runtime, p, connection, ids, dry_run=False)
            return render(request, "result.html", p, connection=connection, items=items)
        if action == "exclude":
            await ops.exclude(runtime, p, connection, ids, str(form.get("reason", "")))
            url = f"/ui/c/{quote(connection.name)}/exceptions"
            return RedirectResponse(url, status_code=303)
        raise ValueError(f"unknown action {action!r}")

    base = "/ui/c/{name}"
    return [
        Route("/ui/login", login_form, methods=["GET"]),
        Route("/ui/login", login, methods=["POST"]),
        Route("/ui/logout", page(logout), methods=["POST"]),
        Route("/ui", page(overview), methods=["GET"]),
        Route(f"{base}/records", page(records), methods=["GET"]),
        Route(base + "/records/{record_id:int}", page(record), methods=["GET"]),
        Route(f"{base}/exceptions", page(exceptions), methods=["GET"]),
        Route(f"{base}/exceptions", page(act), methods=["POST"]),
        Mount("/ui/static", StaticFiles(directory=str(_HERE / "static")), name="static"),
    ]
