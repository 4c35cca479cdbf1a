"""The Ramp sandbox's file host: pre-signed invoice links on another host, which expire.

Ramp's ``invoice_urls`` are pre-signed links (ramp-api.md §5.1). The sandbox serves them from
another host, signs each link for that host, refuses a request that also carries a bearer
token, and lets links expire; each read of the bill gives fresh ones.
"""

from __future__ import annotations

import httpx

from integration.sandbox_ramp.ramp_kit import (
    BILL_APPROVED,
    ManualClock,
    bearer,
    client_for,
    fetch_token,
    make_sandbox,
)
from ml_connector.sandbox.ramp import RampSandbox

BILLS = "/developer/v1/bills"


async def _link(client: httpx.AsyncClient, token: str) -> str:
    bill = (await client.get(f"{BILLS}/{BILL_APPROVED}", headers=bearer(token))).json()
    (url,) = bill["invoice_urls"]
    return str(url)


async def test_links_live_on_the_file_host_and_carry_no_file_name(
    client: httpx.AsyncClient, token: str, sandbox: RampSandbox
) -> None:
    """Another host, an opaque key, a signed query; the name comes only in the headers."""
    url = httpx.URL(await _link(client, token))
    assert url.host == "files.ramp.test"
    assert "." not in url.path.rsplit("/", 1)[-1]  # the link itself says nothing of the type
    assert {"X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"} <= set(url.params)
    served = await client.get(url)
    assert served.status_code == 200
    assert served.headers["content-disposition"] == 'attachment; filename="INV-1001.pdf"'
    (request,) = sandbox.files.served
    assert (request.host, request.had_authorization, request.status) == (
        "files.ramp.test",
        False,
        200,
    )


async def test_a_bearer_token_sent_to_the_file_host_is_refused(
    client: httpx.AsyncClient, token: str, sandbox: RampSandbox
) -> None:
    """As S3 does for pre-signed requests: a second auth mechanism is a 400, no file."""
    url = await _link(client, token)
    refused = await client.get(url, headers=bearer(token))
    assert refused.status_code == 400
    assert b"Only one auth mechanism allowed" in refused.content
    assert sandbox.files.served[-1].had_authorization is True


async def test_a_link_used_on_another_host_does_not_match_its_signature(
    client: httpx.AsyncClient, token: str
) -> None:
    """The signature covers the host: the same path on the API host is refused."""
    url = httpx.URL(await _link(client, token))
    moved = url.copy_with(host="ramp.test")
    refused = await client.get(moved)
    assert refused.status_code == 403
    assert b"SignatureDoesNotMatch" in refused.content


async def test_links_expire_and_a_fresh_read_of_the_bill_renews_them(
    client: httpx.AsyncClient, token: str, clock: ManualClock
) -> None:
    """After an hour the link answers 403 "Request has expired"; reading the bill again works."""
    old = await _link(client, token)
    clock.advance(3601)
    expired = await client.get(old)
    assert expired.status_code == 403
    assert b"Request has expired" in expired.content
    token = await fetch_token(client)
    fresh = await _link(client, token)
    assert httpx.URL(fresh).path == httpx.URL(old).path  # same file, new signature
    assert (await client.get(fresh)).status_code == 200


async def test_file_options_never_expiring_links_on_a_given_host(clock: ManualClock) -> None:
    """``file_url_ttl_s=None`` and ``files_base_url`` are options: a day later it still works."""
    sandbox = make_sandbox(clock, file_url_ttl_s=None, files_base_url="http://cdn.ramp.test")
    async with client_for(sandbox) as client:
        token = await fetch_token(client)
        url = await _link(client, token)
        assert url.startswith("http://cdn.ramp.test/files/")
        clock.advance(86_400)
        assert (await client.get(url)).status_code == 200


async def test_file_names_that_are_not_ascii_come_as_filename_star(
    client: httpx.AsyncClient, token: str, sandbox: RampSandbox
) -> None:
    """An invoice number with æøå: an ASCII fallback plus the RFC 5987 ``filename*``."""
    sandbox.update_bill(BILL_APPROVED, invoice_number="Faktura-Ærø")
    served = await client.get(await _link(client, token))
    disposition = served.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Faktura-?r?.pdf"')
    assert "filename*=UTF-8''Faktura-%C3%86r%C3%B8.pdf" in disposition
