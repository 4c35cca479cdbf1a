"""Creates and updates: 201 + Location + ETag, auto-numbering, wrappers, If-Match and 412."""

from __future__ import annotations

import httpx
import pytest

from integration.sandbox_visma.visma_kit import BASE_URL, invoice_body, send, w
from ml_connector.sandbox.visma import VismaSandbox


def _supplier(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": w("Nye Leverandør AS"),
        "currencyId": w("NOK"),
        "corporateId": w("998877665"),
        "vatRegistrationId": w("NO998877665MVA"),
        "creditTermsId": w("30D"),
        "mainAddress": w(
            {
                "addressLine1": w("Storgata 1"),
                "postalCode": w("0150"),
                "city": w("Oslo"),
                "countryId": w("NO"),
            }
        ),
        "mainContact": w({"name": w("Kari"), "email": w("ap@nye.example")}),
    }
    body.update(fields)
    return body


async def test_create_supplier_auto_numbers_and_answers_location(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """POST without number: 201, empty body, Location ends in the next free number, ETag set."""
    response = await send(client, "POST", "/v1/supplier", token, _supplier())
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["location"] == f"{BASE_URL}/v1/supplier/50005"
    stored = sandbox.state.suppliers["50005"]
    assert (stored.name, stored.corporate_id) == ("Nye Leverandør AS", "998877665")
    read = await send(client, "GET", "/v1/supplier/50005", token)
    body = read.json()
    assert response.headers["etag"] == read.headers["etag"] == f'"{body["timeStamp"]}"'
    assert body["mainAddress"]["country"] == {"id": "NO", "name": "NO"}
    assert body["mainAddress"]["addressLine1"] == "Storgata 1"
    assert body["creditTerms"]["id"] == "30D"
    assert body["mainContact"]["email"] == "ap@nye.example"


async def test_create_supplier_with_given_number(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """A given number is used; a taken one is refused with 400."""
    first = await send(client, "POST", "/v1/supplier", token, _supplier(number=w("70000")))
    taken = await send(client, "POST", "/v1/supplier", token, _supplier(number=w("70000")))
    assert first.headers["location"].endswith("/v1/supplier/70000")
    assert taken.status_code == 400
    assert "70000" in taken.json()["message"]
    assert sorted(sandbox.state.suppliers) == ["50001", "50002", "50003", "50004", "70000"]


async def test_location_follows_the_legacy_prefix(client: httpx.AsyncClient, token: str) -> None:
    """A create through /API/controller/api answers a Location under the same prefix."""
    response = await send(client, "POST", "/API/controller/api/v1/supplier", token, _supplier())
    assert response.headers["location"] == f"{BASE_URL}/API/controller/api/v1/supplier/50005"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/supplier", {"name": "Unwrapped AS"}),
        ("/v1/supplier", {"name": w("Nested AS"), "mainAddress": {"countryId": "NO"}}),
        ("/v1/supplier", {"name": w("Inner AS"), "mainAddress": w({"countryId": "NO"})}),
        ("/v1/supplierInvoice", invoice_body(postPeriod="032026")),
        ("/v1/supplierInvoice", invoice_body(hold=w("maybe"))),
    ],
)
async def test_unwrapped_scalars_are_400(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str, path: str, body: object
) -> None:
    """A scalar where a {"value": …} wrapper belongs (top level or nested) is refused."""
    response = await send(client, "POST", path, token, body)
    assert response.status_code == 400
    assert "Error converting value" in response.json()["message"]
    assert len(sandbox.state.suppliers) == 4
    assert not sandbox.state.invoices


async def test_wrapped_numbers_as_strings_are_accepted(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """{"value": "1.60"} binds as a number, as Visma's docs example relies on."""
    line = {
        "operation": "Insert",
        "accountNumber": w("6800"),
        "quantity": w("3"),
        "unitCostInCurrency": w("1.60"),
    }
    response = await send(client, "POST", "/v1/supplierInvoice", token, invoice_body(line))
    assert response.status_code == 201
    (invoice,) = sandbox.invoices()
    assert str(invoice["detailTotal"]) == "4.80"


async def test_field_names_bind_case_insensitively(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """JSON.NET binds property names regardless of case; unknown properties are ignored."""
    body = {"Name": w("Casing AS"), "CURRENCYID": w("SEK"), "noSuchField": w(1)}
    response = await send(client, "POST", "/v1/supplier", token, body)
    assert response.status_code == 201
    assert sandbox.state.suppliers["50005"].currency_id == "SEK"


async def test_put_with_stale_if_match_is_412(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """If-Match with an old ETag gets 412 and changes nothing; the current one succeeds."""
    etag = (await send(client, "GET", "/v1/supplier/50001", token)).headers["etag"]
    first = await send(
        client, "PUT", "/v1/supplier/50001", token, {"name": w("Nytt navn AS")}, if_match=etag
    )
    stale = await send(
        client, "PUT", "/v1/supplier/50001", token, {"name": w("Stale AS")}, if_match=etag
    )
    assert first.status_code == 204
    assert first.headers["etag"] != etag
    assert stale.status_code == 412
    assert sandbox.state.suppliers["50001"].name == "Nytt navn AS"
    again = await send(
        client,
        "PUT",
        "/v1/supplier/50001",
        token,
        {"status": w("OnHold")},
        if_match=first.headers["etag"],
    )
    assert again.status_code == 204
    assert sandbox.state.suppliers["50001"].status == "OnHold"


async def test_put_without_if_match_always_applies(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """If-Match is optional: without it the last write wins."""
    response = await send(client, "PUT", "/v1/supplier/50004", token, {"name": w("Ny AB")})
    assert response.status_code == 204
    assert response.headers["location"].endswith("/v1/supplier/50004")
    assert sandbox.state.suppliers["50004"].name == "Ny AB"


async def test_invalid_json_is_400(client: httpx.AsyncClient, token: str) -> None:
    """A body that is not JSON gets a 400 message, not a 500."""
    response = await client.post(
        "/v1/supplier",
        content=b"{not json",
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
