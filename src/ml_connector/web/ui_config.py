"""The mapping editor (``/ui/c/{name}/mappings``) and the chart page (``/ui/c/{name}/chart``).

The mapping editor shows the Ramp fields first: each field's name, the category types bills
show, its binding and how it was decided, with a select and a "Bind" button per field (operators
and admins; a POST to ``/ui/c/{name}/fields`` with the CSRF token). Then the rules and the
defaults, the unmapped values (from stopped records and from the last catalog pull, each with a
link that fills the rule form), and one form: tick rows to remove, change the defaults, add or
change one rule, then "Save mappings" (or "Validate only"). The whole edit is validated against
Visma's chart before anything is saved; problems are shown in an element with class ``error``,
naming the row, and the form keeps what was typed.

The chart page shows the last push (when, full or delta, its result), the counts per kind, the
values Ramp refused, the pending changes on request ("Show pending changes", a dry run), and a
"Push now" button for operators and admins.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ml_connector.app import bindings, chart, mapping_edits
from ml_connector.app.connections import Connection, visible_connection
from ml_connector.app.mapping_edits import MappingRule, MappingTableError, Target
from ml_connector.app.principal import Forbidden, Permission
from ml_connector.errors import ConnectorError
from ml_connector.web.auth import Principal
from ml_connector.web.operations import actor_of
from ml_connector.web.pages import Pages, form_text, redirect

__all__ = ["config_routes"]

_RULE_FIELDS = ("source", "value", "target", "segment", "visma_value", "priority")


def _edit_from_form(form: FormData, current_defaults: dict[str, str]) -> mapping_edits.MappingEdit:
    """The edit a submitted editor form asks for (rows removed, defaults, one rule)."""
    try:
        remove = tuple(sorted({int(str(v)) for v in form.getlist("remove")}))
    except ValueError:
        raise ValueError("row numbers to remove are whole numbers") from None
    defaults = {
        target.value: form_text(form, f"default_{target.value}")
        for target in mapping_edits.DEFAULT_TARGETS
        if f"default_{target.value}" in form
        and form_text(form, f"default_{target.value}") != current_defaults.get(target.value, "")
    }
    rules: tuple[MappingRule, ...] = ()
    if any(form_text(form, name) for name in ("source", "value", "visma_value")):
        fields: dict[str, Any] = {name: form_text(form, name) for name in _RULE_FIELDS}
        fields["fallback"] = form_text(form, "fallback") in ("on", "true", "1")
        rules = (mapping_edits.rule_from_fields(fields, "the new rule"),)
    return mapping_edits.MappingEdit(
        set_rules=rules,
        remove_rows=remove,
        defaults=defaults or None,
        note=form_text(form, "note"),
    )


def _binding_targets(view: dict[str, Any], fields: dict[str, Any]) -> list[str]:
    """The targets a field's select offers: the segments Visma has (from the last pull) and
    any a field is bound to already, then the rest."""
    segments = set(view["visma_values"].get("segments") or [])
    segments |= {
        int(row["target"].partition(":")[2])
        for row in fields["fields"]
        if (row.get("target") or "").startswith("segment:")
    }
    if not segments:
        segments = {1, 2}
    ordered = [f"segment:{n}" for n in sorted(segments)]
    return ["account", *ordered, "project", "task", "vat", "ignore"]


async def _connection(pages: Pages, request: Request, p: Principal) -> Connection:
    return await visible_connection(actor_of(p), pages.runtime, request.path_params["name"])


async def show_mappings(
    pages: Pages,
    request: Request,
    p: Principal,
    name: str,
    *,
    status: int = 200,
    problems: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    notice: str = "",
) -> Response:
    actor, runtime = actor_of(p), pages.runtime
    connection = await visible_connection(actor, runtime, name)
    view = (await mapping_edits.mappings_view(actor, runtime, connection)).as_dict()
    fields = (await bindings.fields_view(actor, runtime, connection)).as_dict()
    prefill = values or {k: v for k, v in request.query_params.items() if k in _RULE_FIELDS}
    return pages.render(
        request,
        "mappings.html",
        p,
        status,
        connection=connection,
        view=view,
        fields=fields,
        binding_targets=_binding_targets(view, fields),
        targets=[t.value for t in Target],
        problems=problems or [],
        values=prefill,
        notice=notice or request.query_params.get("notice", ""),
    )


async def mappings(pages: Pages, request: Request, p: Principal) -> Response:
    return await show_mappings(pages, request, p, request.path_params["name"])


async def save_mappings(pages: Pages, request: Request, p: Principal) -> Response:
    actor, runtime = actor_of(p), pages.runtime
    connection = await _connection(pages, request, p)
    if not actor.may(Permission.ACT):
        raise Forbidden("a viewer cannot change mappings")
    form = await pages.form(request)
    dry_run = form_text(form, "action") == "validate"
    values = {name: form_text(form, name) for name in (*_RULE_FIELDS, "note")}
    for target in mapping_edits.DEFAULT_TARGETS:
        values[f"default_{target.value}"] = form_text(form, f"default_{target.value}")
    try:
        view = await mapping_edits.mappings_view(actor, runtime, connection)
        edit = _edit_from_form(form, view.defaults)
        result = await mapping_edits.edit_mappings(
            actor, runtime, connection, edit, dry_run=dry_run
        )
    except Forbidden:
        raise
    except MappingTableError as exc:
        problems = mapping_edits.problems_of(exc)
        return await show_mappings(
            pages, request, p, connection.name, status=422, problems=problems, values=values
        )
    except (ValueError, ConnectorError) as exc:
        problem = {"where": "Visma", "message": runtime.redactor.scrub_text(str(exc))}
        return await show_mappings(
            pages, request, p, connection.name, status=422, problems=[problem], values=values
        )
    if dry_run:
        notice = "The mappings are valid against Visma's chart; nothing was saved."
        return await show_mappings(pages, request, p, connection.name, values=values, notice=notice)
    notice = f"Saved mappings version {result.version}."
    url = f"/ui/c/{quote(connection.name)}/mappings?{urlencode({'notice': notice})}"
    return redirect(url)


async def bind(pages: Pages, request: Request, p: Principal) -> Response:
    actor, runtime = actor_of(p), pages.runtime
    connection = await _connection(pages, request, p)
    form = await pages.form(request)
    field_id, target = form_text(form, "field"), form_text(form, "to")
    try:
        result = await bindings.bind_field_view(actor, runtime, connection, field_id, target)
    except Forbidden:
        raise
    except (ValueError, ConnectorError) as exc:
        message = runtime.redactor.scrub_text(str(exc))
        problem = {"where": f"Ramp field {field_id}", "message": message}
        return await show_mappings(
            pages, request, p, connection.name, status=422, problems=[problem]
        )
    notice = f"Bound {field_id} to {result.label} (field bindings version {result.version})."
    url = f"/ui/c/{quote(connection.name)}/mappings?{urlencode({'notice': notice})}#fields"
    return redirect(url)


async def chart_page(pages: Pages, request: Request, p: Principal) -> Response:
    actor, runtime = actor_of(p), pages.runtime
    connection = await _connection(pages, request, p)
    chart_status = (await chart.chart_view(actor, runtime, connection)).as_dict()
    pending: list[dict[str, Any]] | None = None
    pending_error = ""
    if request.query_params.get("pending"):
        try:
            changes = await chart.chart_pending(actor, runtime, connection)
            pending = [change.as_dict() for change in changes]
        except ConnectorError as exc:
            pending_error = runtime.redactor.scrub_text(str(exc))
    return pages.render(
        request,
        "chart.html",
        p,
        connection=connection,
        chart=chart_status,
        pending=pending,
        pending_error=pending_error,
        notice=request.query_params.get("notice", ""),
    )


async def push(pages: Pages, request: Request, p: Principal) -> Response:
    actor, runtime = actor_of(p), pages.runtime
    connection = await _connection(pages, request, p)
    back = f"/ui/c/{quote(connection.name)}/chart"
    try:
        result = await chart.chart_push(actor, runtime, connection)
    except Forbidden:
        raise
    except ConnectorError as exc:
        notice = f"The push stopped: {runtime.redactor.scrub_text(str(exc))}"
        return redirect(f"{back}?{urlencode({'notice': notice})}")
    applied = sum(result.applied.values())
    refused = len(result.failures)
    notice = f"Push finished: {applied} change(s) applied, {refused} refused by Ramp."
    return redirect(f"{back}?{urlencode({'notice': notice})}")


def config_routes(pages: Pages) -> list[BaseRoute]:
    """The mapping editor's and the chart page's routes."""
    base = "/ui/c/{name}"
    return [
        Route(f"{base}/mappings", pages.of(mappings), methods=["GET"]),
        Route(f"{base}/mappings", pages.of(save_mappings), methods=["POST"]),
        Route(f"{base}/fields", pages.of(bind), methods=["POST"]),
        Route(f"{base}/chart", pages.of(chart_page), methods=["GET"]),
        Route(f"{base}/chart", pages.of(push), methods=["POST"]),
    ]
