"""Supplier set-up in the Visma sandbox: classes, credit terms, VAT zones, manual numbering."""

from __future__ import annotations

from dataclasses import replace

import httpx

from integration.sandbox_visma.visma_kit import (
    CLIENT_ID,
    CLIENT_SECRET,
    COMPANY_ID,
    TENANT_ID,
    ManualClock,
    client_for,
    fetch_token,
    make_dataset,
    send,
    w,
)
from ml_connector.sandbox.visma import VismaSandbox


def _new(**fields: object) -> dict[str, object]:
    return {"name": w("Ny Leverandør AS"), "currencyId": w("NOK"), **fields}


async def test_set_up_reads_have_the_spec_shapes(client: httpx.AsyncClient, token: str) -> None:
    """Classes are a plain array, credit terms a paged wrapper, VAT zones a paged list."""
    classes = (await send(client, "GET", "/v1/supplier/supplierClass", token)).json()
    assert [c["id"] for c in classes] == ["LEV", "UTL"]
    one = (await send(client, "GET", "/v1/supplier/supplierClass/UTL", token)).json()
    assert one["description"] == "Leverandører, utland"
    terms = (await send(client, "GET", "/v1/creditTerm?pageNumber=1&pageSize=2", token)).json()
    assert (terms["totalCount"], terms["pageSize"], len(terms["records"])) == (4, 2, 2)
    assert terms["records"][0] == {
        "termsId": "30D",
        "description": "30 dager netto",
        "visibleTo": "AL",
        "dueDateType": "N",
        "dueDay1": 30,
    }
    zones = (await send(client, "GET", "/v1/vatZone", token)).json()
    assert [z["id"] for z in zones] == ["01", "03"]
    assert zones[0]["metadata"] == {"totalCount": 2, "maxPageSize": 1000}
    missing = await send(client, "GET", "/v1/vatZone/99", token)
    assert missing.status_code == 404


async def test_a_new_supplier_takes_its_classs_defaults(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Without class, the default class; without terms or zone, the class's."""
    created = await send(client, "POST", "/v1/supplier", token, _new())
    number = created.headers["location"].rsplit("/", 1)[-1]
    read = (await send(client, "GET", f"/v1/supplier/{number}", token)).json()
    assert (read["supplierClass"]["id"], read["creditTerms"]["id"], read["vatZone"]["id"]) == (
        "LEV",
        "30D",
        "01",
    )
    given = await send(
        client,
        "POST",
        "/v1/supplier",
        token,
        _new(supplierClassId=w("UTL"), creditTermsId=w("10D")),
    )
    other = given.headers["location"].rsplit("/", 1)[-1]
    details = sandbox.state.suppliers[other].details
    assert (details["creditTermsId"], details["vatZoneId"]) == ("10D", "03")


async def test_unknown_set_up_ids_are_refused(client: httpx.AsyncClient, token: str) -> None:
    """An unknown class, credit terms or VAT zone is a 400 naming it; nothing is stored."""
    for field, value in (
        ("supplierClassId", "NOPE"),
        ("creditTermsId", "90D"),
        ("vatZoneId", "77"),
    ):
        refused = await send(client, "POST", "/v1/supplier", token, _new(**{field: w(value)}))
        assert refused.status_code == 400
        assert value in refused.json()["message"]


async def test_manual_numbering_needs_a_number() -> None:
    """In a company that numbers no supplier, a create without number is refused as Visma
    refuses it; with a number it is created under that number."""
    dataset = replace(make_dataset(), supplier_numbering="manual")
    sandbox = VismaSandbox(
        CLIENT_ID, CLIENT_SECRET, TENANT_ID, COMPANY_ID, dataset=dataset, clock=ManualClock()
    )
    async with client_for(sandbox) as client:
        token = await fetch_token(client)
        key = (await send(client, "GET", "/v1/dimension/SUPLLIER", token)).json()
        assert [s["isAutoNumber"] for s in key["segments"]] == [False]
        refused = await send(client, "POST", "/v1/supplier", token, _new())
        assert refused.status_code == 400
        assert refused.json()["message"].endswith("Value cannot be null. Parameter name: key")
        created = await send(client, "POST", "/v1/supplier", token, _new(number=w("R0001")))
        assert created.status_code == 201
        assert created.headers["location"].endswith("/v1/supplier/R0001")


async def test_the_supplier_key_says_auto_numbering_by_default(
    client: httpx.AsyncClient, token: str
) -> None:
    """The default company numbers suppliers itself; the key is listed among the dimensions."""
    listed = (await send(client, "GET", "/v1/dimension", token)).json()
    assert "SUPLLIER" in listed
    key = (await send(client, "GET", "/v1/dimension/SUPLLIER", token)).json()
    assert [s["isAutoNumber"] for s in key["segments"]] == [True]
