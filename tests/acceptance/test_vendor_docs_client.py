"""Issue 2 acceptance: the sandboxes, run as processes, serve a client built from vendor docs.

The client here is plain httpx and knows only what Ramp's and Visma's public documentation
says: HTTP Basic at Ramp's token endpoint and ``page.next`` links; Visma Connect's form-encoded
token request with a tenant, ``pageNumber``/``pageSize`` with ``metadata.totalCount``, and
``{"value": …}``-wrapped writes answered by 201 and a ``Location``. It never imports
ml_connector. Expected counts come from each sandbox's control API.
"""

from __future__ import annotations

import math
import secrets

import httpx
import pytest

from acceptance.acceptance_kit import SandboxPair

pytestmark = pytest.mark.slow

RAMP_PAGE_SIZE = 40
VISMA_PAGE_SIZE = 7
VISMA_SCOPES = "vismanet_erp_service_api:read vismanet_erp_service_api:create"


def _ramp_token(client: httpx.Client, pair: SandboxPair) -> str:
    response = client.post(
        f"{pair.ramp.url}/developer/v1/token",
        auth=(pair.ramp_creds.client_id, pair.ramp_creds.client_secret),
        data={"grant_type": "client_credentials", "scope": "bills:read"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] > 0
    assert "bills:read" in body["scope"].split()
    token: str = body["access_token"]
    return token


def _visma_headers(client: httpx.Client, pair: SandboxPair) -> dict[str, str]:
    creds = pair.visma_creds
    response = client.post(
        pair.visma_token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "tenant_id": creds.tenant_id,
            "scope": VISMA_SCOPES,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    return {
        "Authorization": f"Bearer {body['access_token']}",
        "ipp-company-id": creds.company_id,
        "Accept": "application/json",
    }


def test_ramp_bills_follow_page_next_until_null(sandboxes: SandboxPair) -> None:
    """Ramp: a Basic-auth token, every bill via page.next until null, then one bill by id."""
    with httpx.Client(timeout=60.0) as client:
        headers = {"Authorization": f"Bearer {_ramp_token(client, sandboxes)}"}
        url: str | None = f"{sandboxes.ramp.url}/developer/v1/bills?page_size={RAMP_PAGE_SIZE}"
        listed: list[dict[str, object]] = []
        pages = 0
        while url is not None:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert len(body["data"]) <= RAMP_PAGE_SIZE
            listed.extend(body["data"])
            url = body["page"]["next"]
            pages += 1
            assert pages <= 100, "page.next never became null"

        state = sandboxes.ramp_state()
        expected = {b["id"] for b in state["bills"] if b.get("archived_at") is None}
        ids = [str(bill["id"]) for bill in listed]
        assert len(ids) == len(set(ids)), "a bill was listed twice"
        assert set(ids) == expected
        assert state["counts"]["bills"] >= len(expected) > RAMP_PAGE_SIZE
        # A full last page may still carry a next link to one empty page.
        full_pages = math.ceil(len(expected) / RAMP_PAGE_SIZE)
        assert pages in (full_pages, full_pages + 1)

        wanted = listed[RAMP_PAGE_SIZE]  # the first bill of the second page
        response = client.get(
            f"{sandboxes.ramp.url}/developer/v1/bills/{wanted['id']}", headers=headers
        )
        assert response.status_code == 200, response.text
        one = response.json()
        assert one["id"] == wanted["id"]
        assert one["amount"] == wanted["amount"]
        assert one["invoice_number"] == wanted["invoice_number"]


def test_visma_suppliers_page_then_a_wrapped_create_reads_back(sandboxes: SandboxPair) -> None:
    """Visma: a tenant token, suppliers page by page to totalCount, a wrapped POST, its GET."""
    with httpx.Client(timeout=60.0) as client:
        headers = _visma_headers(client, sandboxes)
        suppliers_url = f"{sandboxes.visma.url}/v1/supplier"
        rows: list[dict[str, object]] = []
        total: int | None = None
        page = 1
        while total is None or len(rows) < total:
            response = client.get(
                suppliers_url,
                params={"pageNumber": page, "pageSize": VISMA_PAGE_SIZE},
                headers=headers,
            )
            assert response.status_code == 200, response.text
            batch = response.json()
            assert batch, f"page {page} came back empty before totalCount was reached"
            assert len(batch) <= VISMA_PAGE_SIZE
            total = batch[0]["metadata"]["totalCount"]
            rows.extend(batch)
            page += 1
            assert page <= 100, "paging never reached totalCount"

        known = sandboxes.visma_state()["suppliers"]
        assert total == len(rows) == len(known) > VISMA_PAGE_SIZE
        assert {r["number"] for r in rows} == {s["number"] for s in known}

        name = f"Akseptansetest {secrets.token_hex(3)} AS"
        created = client.post(
            suppliers_url,
            headers=headers,
            json={
                "name": {"value": name},
                "currencyId": {"value": "NOK"},
                "corporateId": {"value": "999888777"},
            },
        )
        assert created.status_code == 201, created.text
        location = created.headers["Location"]
        read = client.get(httpx.URL(suppliers_url).join(location), headers=headers)
        assert read.status_code == 200, read.text
        supplier = read.json()
        assert supplier["name"] == name
        assert location.rstrip("/").rsplit("/", 1)[-1] == supplier["number"]

    after = sandboxes.visma_state()["suppliers"]
    assert len(after) == len(known) + 1
    assert [s["name"] for s in after].count(name) == 1
