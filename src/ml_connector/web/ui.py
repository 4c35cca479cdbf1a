"""The dashboard under ``/ui``: server-rendered pages over the same operations as the API.

Pages (``{name}`` is a connection):

- ``/ui/login`` (the only page without a session), ``POST /ui/logout`` (``web/login.py``);
- ``/ui``: every visible connection's health (credentials, active or paused, last success,
  rate-limit state), its counts per state and its oldest waiting record;
- ``/ui/c/{name}/records``: filters (type, state, date range, vendor), search (Ramp id, invoice
  number, Visma reference) and paging; ``/ui/c/{name}/records/{id}``: one record with links
  into Ramp and Visma, its problem in finance language with the fix, the timeline, the last
  payload sent;
- ``/ui/c/{name}/exceptions``: the needs-attention queue grouped by cause, with "Retry group",
  a dry-run preview before a replay, and "Mark resolved" / "Exclude from sync" with a reason;
- the mapping editor and chart page (``web/ui_config.py``) and the users page
  (``web/ui_users.py``).

Every form carries the session's CSRF token (see ``web/pages.py``). Viewers see the pages but
no action buttons, and a forged action from a viewer is refused by the operation itself.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ml_connector.runtime.wiring import Runtime
from ml_connector.store import SyncStatus
from ml_connector.web import actions, params
from ml_connector.web import operations as ops
from ml_connector.web.auth import Auth, Principal
from ml_connector.web.login import login_routes
from ml_connector.web.pages import STATIC_DIR, Pages, form_text, redirect
from ml_connector.web.ui_config import config_routes
from ml_connector.web.ui_users import user_routes

__all__ = ["ui_routes"]

_PAGE_SIZE = 50


def _ids(values: list[str]) -> list[int]:
    if len(values) > 10_000:
        raise ValueError(f"{len(values)} records chosen; at most 10000 at a time")
    return [params.whole_number(v, 0, low=0, high=params.MAX_ID, what="record id") for v in values]


def ui_routes(runtime: Runtime, auth: Auth) -> list[BaseRoute]:
    """The ``/ui`` routes and the packaged static files."""
    pages = Pages(runtime, auth)
    render = pages.render

    async def overview(request: Request, p: Principal) -> Response:
        rows = await ops.connection_overviews(runtime, p)
        return render(request, "overview.html", p, connections=rows)

    async def records(request: Request, p: Principal) -> Response:
        connection = await ops.visible_connection(runtime, p, request.path_params["name"])
        q = request.query_params
        page = params.whole_number(q.get("page"), 1, low=1, high=params.MAX_PAGE, what="page")
        since, until = params.time_range(q.get("since"), q.get("until"))
        flt = ops.RecordFilter(
            object_type=params.object_type(q.get("type")),
            state=params.state(q.get("state")),
            since=since,
            until=until,
            query=params.text(q.get("q"), "the search text"),
            vendor=params.text(q.get("vendor"), "vendor"),
            limit=_PAGE_SIZE + 1,  # one more than shown says whether a next page exists
            offset=(page - 1) * _PAGE_SIZE,
        )
        rows = await ops.search_records(runtime, connection, flt)
        kept = {k: v for k, v in q.items() if k != "page" and v}

        def page_url(n: int) -> str:
            return "?" + urlencode({**kept, "page": str(n)})

        return render(
            request,
            "records.html",
            p,
            connection=connection,
            records=rows[:_PAGE_SIZE],
            q=q,
            states=[s.value for s in SyncStatus],
            page=page,
            prev_url=page_url(page - 1) if page > 1 else None,
            next_url=page_url(page + 1) if len(rows) > _PAGE_SIZE else None,
        )

    async def record(request: Request, p: Principal) -> Response:
        connection = await ops.visible_connection(runtime, p, request.path_params["name"])
        detail = await ops.record_detail(runtime, connection, request.path_params["record_id"])
        return render(request, "record.html", p, connection=connection, record=detail)

    async def exceptions(request: Request, p: Principal) -> Response:
        connection = await ops.visible_connection(runtime, p, request.path_params["name"])
        groups = await actions.exception_groups(runtime, connection)
        return render(
            request,
            "exceptions.html",
            p,
            connection=connection,
            groups=groups,
            notice=request.query_params.get("notice", ""),
        )

    async def act(request: Request, p: Principal) -> Response:
        """The queue's actions: retry a group, preview (dry run), replay, resolve, exclude."""
        connection = await ops.visible_connection(runtime, p, request.path_params["name"])
        form = await pages.form(request)
        ids = _ids([str(v) for v in form.getlist("record_id")])
        action = form_text(form, "action")
        back = f"/ui/c/{quote(connection.name)}/exceptions"
        if action == "retry_group":
            done = await actions.retry_group(runtime, p, connection, form_text(form, "group"))
            notice = f"{len(done)} record(s) queued for retry; they sync within seconds."
            return redirect(f"{back}?{urlencode({'notice': notice})}")
        if action == "retry":
            done = await actions.retry(runtime, p, connection, ids)
            notice = f"{len(done)} record(s) queued for retry; they sync within seconds."
            return redirect(f"{back}?{urlencode({'notice': notice})}")
        if action == "preview":
            items = await actions.replay(runtime, p, connection, ids, dry_run=True)
            return render(
                request, "preview.html", p, connection=connection, items=items, record_ids=ids
            )
        if action == "replay":
            items = await actions.replay(runtime, p, connection, ids, dry_run=False)
            return render(request, "result.html", p, connection=connection, items=items)
        if action in ("exclude", "resolve"):
            reason = form_text(form, "reason")
            done = await actions.exclude(
                runtime, p, connection, ids, reason, resolved=action == "resolve"
            )
            verb = "marked resolved" if action == "resolve" else "excluded from sync"
            notice = f"{len(done)} record(s) {verb}."
            return redirect(f"{back}?{urlencode({'notice': notice})}")
        raise ValueError(f"unknown action {action!r}")

    base = "/ui/c/{name}"
    return [
        *login_routes(pages, auth),
        Route("/ui", pages.page(overview), methods=["GET"]),
        Route(f"{base}/records", pages.page(records), methods=["GET"]),
        Route(base + "/records/{record_id:int}", pages.page(record), methods=["GET"]),
        Route(f"{base}/exceptions", pages.page(exceptions), methods=["GET"]),
        Route(f"{base}/exceptions", pages.page(act), methods=["POST"]),
        *config_routes(pages),
        *user_routes(pages),
        Mount("/ui/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
