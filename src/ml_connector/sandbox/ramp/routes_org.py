"""``/developer/v1/users``, ``/departments``, ``/locations`` and ``/business``: the people and
places spend refers to (a transaction's ``card_holder`` names its department and location).

- ``GET /users`` filters ``employee_id``, ``role``, ``entity_id``, ``department_id``, ``email``
  (case-insensitive) and ``location_id``; ``GET /users/{id}``.
- ``GET /departments`` pages only; ``POST /departments {name}`` → 201; ``GET|PATCH
  /departments/{id}`` (``PATCH {name}``).
- ``GET /locations`` filters ``entity_id``; ``POST /locations {name, entity_id?}`` → 201;
  ``GET|PATCH /locations/{id}``. A location's entity must exist (400).
- ``GET /business``: the business the token belongs to.
Reference: ramp-api.md §5.11.
"""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.ramp import render_spend
from ml_connector.sandbox.ramp.api import ApiContext, api_of, api_route, json_response
from ml_connector.sandbox.ramp.bodies import _Body, read_json
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.params import q_enum, q_str, q_uuid, render_page
from ml_connector.sandbox.ramp.spend_model import Department, Location, User
from ml_connector.sandbox.ramp.state import new_id

__all__ = ["ROLES", "org_routes"]

ROLES = frozenset(
    {
        "AUDITOR",
        "BUSINESS_ADMIN",
        "BUSINESS_BOOKKEEPER",
        "BUSINESS_OWNER",
        "BUSINESS_USER",
        "GUEST_USER",
        "IT_ADMIN",
    }
)


class DepartmentIn(_Body):
    name: str


class LocationIn(_Body):
    name: str
    entity_id: UUID | None = None


def _entity(ctx: ApiContext, entity_id: UUID | None) -> str | None:
    if entity_id is None:
        return None
    if str(entity_id) not in ctx.state.entities:
        raise RampApiError.invalid("entity_id", f"Entity {entity_id} not found.", status=400)
    return str(entity_id)


async def list_users(request: Request) -> Response:
    ctx = api_of(request)
    role = q_enum(request, "role", ROLES)
    email = q_str(request, "email")
    employee = q_str(request, "employee_id")
    wanted = {n: q_uuid(request, n) for n in ("entity_id", "department_id", "location_id")}

    def keep(person: User) -> bool:
        return (
            (role is None or person.role == role)
            and (email is None or person.email.lower() == email.lower())
            and (employee is None or person.employee_id == employee)
            and all(v is None or getattr(person, n) == v for n, v in wanted.items())
        )

    users = ctx.state.users
    page = render_page(
        request,
        [u for u in users.values() if keep(u)],
        users,
        lambda u: u.id,
        lambda u: render_spend.user(ctx.state, u),
    )
    return json_response(page)


async def get_user(request: Request) -> Response:
    ctx = api_of(request)
    person = ctx.find("User", ctx.state.users, request.path_params["id"])
    return json_response(render_spend.user(ctx.state, person))


async def list_departments(request: Request) -> Response:
    ctx = api_of(request)
    items = ctx.state.departments
    page = render_page(
        request, list(items.values()), items, lambda d: d.id, render_spend.department
    )
    return json_response(page)


async def create_department(request: Request) -> Response:
    ctx = api_of(request)
    body = await read_json(request, DepartmentIn)
    state = ctx.state
    item = Department(new_id(), body.name, seq=state.next_seq())
    state.departments[item.id] = item
    return json_response(render_spend.department(item), 201)


async def get_department(request: Request) -> Response:
    ctx = api_of(request)
    item = ctx.find("Department", ctx.state.departments, request.path_params["id"])
    return json_response(render_spend.department(item))


async def patch_department(request: Request) -> Response:
    ctx = api_of(request)
    item = ctx.find("Department", ctx.state.departments, request.path_params["id"])
    item.name = (await read_json(request, DepartmentIn)).name
    return json_response(render_spend.department(item))


async def list_locations(request: Request) -> Response:
    ctx = api_of(request)
    entity_id = q_uuid(request, "entity_id")
    items = ctx.state.locations
    page = render_page(
        request,
        [p for p in items.values() if entity_id is None or p.entity_id == entity_id],
        items,
        lambda p: p.id,
        render_spend.location,
    )
    return json_response(page)


async def create_location(request: Request) -> Response:
    ctx = api_of(request)
    body = await read_json(request, LocationIn)
    state = ctx.state
    item = Location(new_id(), body.name, _entity(ctx, body.entity_id), seq=state.next_seq())
    state.locations[item.id] = item
    return json_response(render_spend.location(item), 201)


async def get_location(request: Request) -> Response:
    ctx = api_of(request)
    item = ctx.find("Location", ctx.state.locations, request.path_params["id"])
    return json_response(render_spend.location(item))


async def patch_location(request: Request) -> Response:
    ctx = api_of(request)
    item = ctx.find("Location", ctx.state.locations, request.path_params["id"])
    body = await read_json(request, LocationIn)
    item.name = body.name
    if "entity_id" in body.model_fields_set:
        item.entity_id = _entity(ctx, body.entity_id)
    return json_response(render_spend.location(item))


async def get_business(request: Request) -> Response:
    ctx = api_of(request)
    return json_response(render_spend.business(ctx.state, ctx.state.created_at))


def org_routes() -> list[Route]:
    return [
        api_route("/users", list_users, methods=["GET"], scope="users:read"),
        api_route("/users/{id}", get_user, methods=["GET"], scope="users:read"),
        api_route("/departments", list_departments, methods=["GET"], scope="departments:read"),
        api_route("/departments", create_department, methods=["POST"], scope="departments:write"),
        api_route("/departments/{id}", get_department, methods=["GET"], scope="departments:read"),
        api_route(
            "/departments/{id}", patch_department, methods=["PATCH"], scope="departments:write"
        ),
        api_route("/locations", list_locations, methods=["GET"], scope="locations:read"),
        api_route("/locations", create_location, methods=["POST"], scope="locations:write"),
        api_route("/locations/{id}", get_location, methods=["GET"], scope="locations:read"),
        api_route("/locations/{id}", patch_location, methods=["PATCH"], scope="locations:write"),
        api_route("/business", get_business, methods=["GET"], scope="business:read"),
    ]
