"""The users page (``/ui/users``), for admins only: list, add, change role and scope, disable.

Each user row has its own form (role, connections, disabled; "Save user"); the add form takes
the email, a first password, the role and the connections ("Add user"). An empty connection
selection means every connection. Every change is audited with the admin's identity in the
chains of the connections whose access it changes (``app/users.py``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ml_connector.app.users import Role
from ml_connector.errors import ConnectorError
from ml_connector.web import operations as ops
from ml_connector.web import user_ops
from ml_connector.web.auth import Principal
from ml_connector.web.pages import Pages, form_text, redirect

__all__ = ["user_routes"]


def user_routes(pages: Pages) -> list[BaseRoute]:
    runtime = pages.runtime

    async def show(
        request: Request, p: Principal, *, status: int = 200, error: str = ""
    ) -> Response:
        users = await user_ops.list_users(runtime, p)
        connections = await user_ops.connection_names(runtime)
        return pages.render(
            request,
            "users.html",
            p,
            status,
            users=users,
            roles=[r.value for r in Role],
            connections=connections,
            error=error,
            notice=request.query_params.get("notice", ""),
        )

    async def users(request: Request, p: Principal) -> Response:
        return await show(request, p)

    async def change(request: Request, p: Principal) -> Response:
        if not p.can_admin:
            raise ops.Forbidden("only an admin may manage users")
        form = await pages.form(request)
        scope = [str(v) for v in form.getlist("connections")]
        try:
            if form_text(form, "action") == "add":
                email = form_text(form, "email")
                await user_ops.add_user(
                    runtime,
                    p,
                    email=email,
                    password=str(form.get("password") or ""),
                    role=form_text(form, "role"),
                    connections=scope,
                )
                notice = f"Added {email}."
            else:
                user_id = int(form_text(form, "user_id"))
                changes = {
                    "role": form_text(form, "role"),
                    "connections": scope,
                    "disabled": form_text(form, "disabled") in ("on", "true", "1"),
                }
                after = await user_ops.change_user(runtime, p, user_id, changes)
                notice = f"Saved {after['email']}."
        except (ValueError, ConnectorError) as exc:
            message = runtime.redactor.scrub_text(str(exc))
            return await show(request, p, status=422, error=message)
        return redirect(f"/ui/users?{urlencode({'notice': notice})}")

    return [
        Route("/ui/users", pages.page(users), methods=["GET"]),
        Route("/ui/users", pages.page(change), methods=["POST"]),
    ]
