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

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ml_connector.app import connections, queue
from ml_connector.app import records as record_views
from ml_connector.app.connections import Connection
from ml_connector.app.records import SyncStatus
from ml_connector.runtime.wiring import Runtime
from ml_connector.web import params
from ml_connector.web.auth import Auth, Principal
from ml_connector.web.login import login_routes
from ml_connector.web.operations import actor_of
from ml_connector.web.pages import STATIC_DIR, Pages, form_text, redirect
from ml_connector.web.ui_config import config_routes
from ml_connector.web.ui_users import user_routes

__all__ = ["ui_routes"]

_PAGE_SIZE = 50


def _ids(values: list[str]) -> list[int]:
    if len(values) > 10_000:
        raise ValueError(f"{len(values)} records chosen; at most 10000 at a time")
    return [params.whole_number(v, 0, low=0, high=params.MAX_ID, what="record id") for v in values]


async def overview(pages: Pages, request: Request, p: Principal) -> Response:
    rows = await connections.connection_overviews(actor_of(p), pages.runtime)
    return pages.render(request, "overview.html", p, connections=[c.as_dict() for c in rows])


async def _connection(pages: Pages, request: Request, p: Principal) -> Connection:
    name = request.path_params["name"]
    return await connections.visible_connection(actor_of(p), pages.runtime, name)


def _record_filter(q: QueryParams, page: int) -> record_views.RecordFilter:
    since, until = params.time_range(q.get("since"), q.get("until"))
    return record_views.RecordFilter(
        object_type=params.object_type(q.get("type")),
        state=params.state(q.get("state")),
        since=since,
        until=until,
        query=params.text(q.get("q"), "the search text"),
        vendor=params.text(q.get("vendor"), "vendor"),
        limit=_PAGE_SIZE + 1,  # one more than shown says whether a next page exists
        offset=(page - 1) * _PAGE_SIZE,
    )


async def records(pages: Pages, request: Request, p: Principal) -> Response:
    connection = await _connection(pages, request, p)
    q = request.query_params
    page = params.whole_number(q.get("page"), 1, low=1, high=params.MAX_PAGE, what="page")
    flt = _record_filter(q, page)
    rows = await record_views.search_records(actor_of(p), pages.runtime, connection, flt)
    kept = {k: v for k, v in q.items() if k != "page" and v}

    def page_url(n: int) -> str:
        return "?" + urlencode({**kept, "page": str(n)})

    return pages.render(
        request,
        "records.html",
        p,
        connection=connection,
        records=[row.as_dict() for row in rows[:_PAGE_SIZE]],
        q=q,
        states=[s.value for s in SyncStatus],
        page=page,
        prev_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if len(rows) > _PAGE_SIZE else None,
    )


async def record(pages: Pages, request: Request, p: Principal) -> Response:
    connection = await _connection(pages, request, p)
    record_id = request.path_params["record_id"]
    detail = await record_views.record_detail(actor_of(p), pages.runtime, connection, record_id)
    return pages.render(request, "record.html", p, connection=connection, record=detail.as_dict())


async def exceptions(pages: Pages, request: Request, p: Principal) -> Response:
    connection = await _connection(pages, request, p)
    groups = await queue.exception_groups(actor_of(p), pages.runtime, connection)
    return pages.render(
        request,
        "exceptions.html",
        p,
        connection=connection,
        groups=groups,
        notice=request.query_params.get("notice", ""),
    )


def _notice(connection: Connection, text: str) -> Response:
    back = f"/ui/c/{quote(connection.name)}/exceptions"
    return redirect(f"{back}?{urlencode({'notice': text})}")


async def act(pages: Pages, request: Request, p: Principal) -> Response:
    """The queue's actions: retry a group, preview (dry run), replay, resolve, exclude."""
    actor, runtime = actor_of(p), pages.runtime
    connection = await _connection(pages, request, p)
    form = await pages.form(request)
    ids = _ids([str(v) for v in form.getlist("record_id")])
    action = form_text(form, "action")
    queued = "{} record(s) queued for retry; they sync within seconds."
    if action == "retry_group":
        done = await queue.retry_group(actor, runtime, connection, form_text(form, "group"))
        return _notice(connection, queued.format(len(done)))
    if action == "retry":
        done = await queue.retry(actor, runtime, connection, ids)
        return _notice(connection, queued.format(len(done)))
    if action == "preview":
        items = await queue.replay_records(actor, runtime, connection, ids, dry_run=True)
        shown = [item.as_dict() for item in items]
        return pages.render(
            request, "preview.html", p, connection=connection, items=shown, record_ids=ids
        )
    if action == "replay":
        items = await queue.replay_records(actor, runtime, connection, ids, dry_run=False)
        shown = [item.as_dict() for item in items]
        return pages.render(request, "result.html", p, connection=connection, items=shown)
    if action in ("exclude", "resolve"):
        reason, resolved = form_text(form, "reason"), action == "resolve"
        done = await queue.exclude(actor, runtime, connection, ids, reason, resolved=resolved)
        verb = "marked resolved" if resolved else "excluded from sync"
        return _notice(connection, f"{len(done)} record(s) {verb}.")
    raise ValueError(f"unknown action {action!r}")


def ui_routes(runtime: Runtime, auth: Auth) -> list[BaseRoute]:
    """The ``/ui`` routes and the packaged static files."""
    pages = Pages(runtime, auth)
    base = "/ui/c/{name}"
    return [
        *login_routes(pages, auth),
        Route("/ui", pages.of(overview), methods=["GET"]),
        Route(f"{base}/records", pages.of(records), methods=["GET"]),
        Route(base + "/records/{record_id:int}", pages.of(record), methods=["GET"]),
        Route(f"{base}/exceptions", pages.of(exceptions), methods=["GET"]),
        Route(f"{base}/exceptions", pages.of(act), methods=["POST"]),
        *config_routes(pages),
        *user_routes(pages),
        Mount("/ui/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
