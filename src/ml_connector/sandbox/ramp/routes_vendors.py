"""``/developer/v1/vendors``: bill-pay vendors and their contacts.

- ``GET /vendors`` filters ``name`` (case-insensitive substring: a sandbox guess),
  ``is_active``, ``vendor_owner_id``, ``from_created_at``; ``sk_category_ids`` is accepted and
  ignored (the sandbox has no merchant categories).
- ``GET /vendors/{id}`` adds ``custom_form_collection_response``: the onboarding answers, the
  organisation and VAT numbers under the business's own labels (``state.form_labels``).
- ``POST /vendors`` answers **200** (as the spec says), with one default contact.
- ``PATCH /vendors/{id}`` sets ``accounting_vendor_remote_id`` (which must name an accounting
  vendor of the chart), the address, country, state or ``is_active``.
- ``DELETE /vendors/{id}`` is refused (400) while the vendor has bills.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.ramp import render
from ml_connector.sandbox.ramp.api import api_of, api_route, json_response
from ml_connector.sandbox.ramp.bodies import VendorCreateIn, VendorUpdateIn, read_json
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import Vendor
from ml_connector.sandbox.ramp.params import q_bool, q_instant, q_str, q_uuid, render_page

__all__ = ["vendor_routes"]


async def list_vendors(request: Request) -> Response:
    ctx = api_of(request)
    name = q_str(request, "name")
    active = q_bool(request, "is_active")
    owner = q_uuid(request, "vendor_owner_id")
    since = q_instant(request, "from_created_at")
    vendors = ctx.state.vendors

    def keep(item: Vendor) -> bool:
        return (
            (name is None or name.lower() in item.name.lower())
            and (active is None or item.is_active == active)
            and (owner is None or item.owner_id == owner)
            and (since is None or item.created_at >= since)
        )

    now = ctx.clock()
    page = render_page(
        request,
        [v for v in vendors.values() if keep(v)],
        vendors,
        lambda v: v.id,
        lambda v: render.vendor(ctx.state, v, now, detail=False),
    )
    return json_response(page)


async def create_vendor(request: Request) -> Response:
    ctx = api_of(request)
    body = await read_json(request, VendorCreateIn)
    if body.accounting_vendor_remote_id and body.vendor_tracking_category_option_id:
        raise RampApiError.invalid(
            "accounting_vendor_remote_id",
            "Give accounting_vendor_remote_id or vendor_tracking_category_option_id, not both.",
        )
    remote_id = body.accounting_vendor_remote_id
    if remote_id and ctx.state.accounting_vendor_by_remote(remote_id) is None:
        raise RampApiError.invalid(
            "accounting_vendor_remote_id",
            f"No accounting vendor with remote_id {remote_id!r}.",
            status=400,
        )
    person = body.business_vendor_contacts
    address = body.address
    supplier = ctx.ops.create_vendor(
        name=body.name or person.email,
        country=body.country,
        email=person.email,
        first_name=person.first_name,
        last_name=person.last_name,
        phone=person.phone,
        owner_id=str(body.vendor_owner_id),
        state=body.state,
        address_line_1=address.address_line_1 if address else None,
        city=address.city if address else None,
        postal_code=address.postal_code if address else None,
        accounting_vendor_remote_id=remote_id or None,
    )
    return json_response(render.vendor(ctx.state, supplier, ctx.clock(), detail=False))


async def get_vendor(request: Request) -> Response:
    ctx = api_of(request)
    supplier = ctx.vendor(request.path_params["vendor_id"])
    return json_response(render.vendor(ctx.state, supplier, ctx.clock(), detail=True))


async def patch_vendor(request: Request) -> Response:
    ctx = api_of(request)
    supplier = ctx.vendor(request.path_params["vendor_id"])
    body = await read_json(request, VendorUpdateIn)
    given = body.model_fields_set
    if "accounting_vendor_remote_id" in given:
        ctx.ops.link_accounting_vendor(supplier, body.accounting_vendor_remote_id)
    if body.vendor_tracking_category_option_id is not None:
        option_id = str(body.vendor_tracking_category_option_id)
        if option_id not in ctx.state.options:
            raise RampApiError.invalid(
                "vendor_tracking_category_option_id", "Unknown option.", status=400
            )
    if body.address is not None:
        supplier.address_line_1 = body.address.address_line_1
        supplier.city = body.address.city
        supplier.postal_code = body.address.postal_code
    if body.country is not None:
        supplier.country = body.country
    if "state" in given:
        supplier.state = body.state
    if body.is_active is not None:
        supplier.is_active = body.is_active
    ctx.hub.publish("vendors.updated", supplier.id)
    return json_response(render.vendor(ctx.state, supplier, ctx.clock(), detail=False))


async def delete_vendor(request: Request) -> Response:
    ctx = api_of(request)
    supplier = ctx.vendor(request.path_params["vendor_id"])
    if any(b.vendor_id == supplier.id for b in ctx.state.bills.values()):
        raise RampApiError(400, f"Vendor {supplier.id} has bills and cannot be deleted.")
    for contact_id in supplier.contact_ids:
        ctx.state.contacts.pop(contact_id, None)
    del ctx.state.vendors[supplier.id]
    return Response(status_code=204)


async def list_contacts(request: Request) -> Response:
    ctx = api_of(request)
    supplier = ctx.vendor(request.path_params["vendor_id"])
    contacts = ctx.state.contacts
    page = render_page(
        request,
        [contacts[c] for c in supplier.contact_ids if c in contacts],
        contacts,
        lambda c: c.id,
        render.contact,
    )
    return json_response(page)


async def get_contact(request: Request) -> Response:
    ctx = api_of(request)
    supplier = ctx.vendor(request.path_params["vendor_id"])
    contact_id = request.path_params["vendor_contact_id"]
    found = ctx.state.contacts.get(contact_id)
    if found is None or found.vendor_id != supplier.id:
        raise RampApiError.not_found("Vendor contact", contact_id)
    return json_response(render.contact(found))


def vendor_routes() -> list[Route]:
    one = "/vendors/{vendor_id}"
    return [
        api_route("/vendors", list_vendors, methods=["GET"], scope="vendors:read"),
        api_route("/vendors", create_vendor, methods=["POST"], scope="vendors:write"),
        api_route(one, get_vendor, methods=["GET"], scope="vendors:read"),
        api_route(one, patch_vendor, methods=["PATCH"], scope="vendors:write"),
        api_route(one, delete_vendor, methods=["DELETE"], scope="vendors:write"),
        api_route(f"{one}/contacts", list_contacts, methods=["GET"], scope="vendors:read"),
        api_route(
            f"{one}/contacts/{{vendor_contact_id}}",
            get_contact,
            methods=["GET"],
            scope="vendors:read",
        ),
    ]
