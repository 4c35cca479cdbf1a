"""RampClient.download against an inline file host: headers, names, refused links, no token."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from clients_inline import Inbox, TokenEndpoint
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.clients import CallRecord, RampClient
from ml_connector.errors import FileLinkRefused, PermissionDenied

FILE_HOST = "http://files.example"


def file_app(token: TokenEndpoint, inbox: Inbox, answer: Callable[[], Response]) -> Starlette:
    """The Ramp token endpoint plus a file route on any host."""

    async def serve(request: Request) -> Response:
        await inbox.take(request)
        return answer()

    return Starlette(routes=[token.route, Route("/files/{key}", serve)])


@pytest.mark.parametrize(
    ("headers", "content_type", "filename"),
    [
        (
            {"content-type": "application/pdf", "content-disposition": 'inline; filename="a.pdf"'},
            "application/pdf",
            "a.pdf",
        ),
        (
            {
                "content-type": "image/png; charset=binary",
                "content-disposition": 'attachment; filename="kvittering.png"; '
                "filename*=UTF-8''kvittering%20%C3%A6.png",
            },
            "image/png",
            "kvittering æ.png",
        ),
        ({"content-disposition": 'attachment; filename="../../etc/x.pdf"'}, None, "x.pdf"),
        ({}, None, None),
    ],
    ids=["plain", "filename-star", "path-stripped", "no-headers"],
)
async def test_type_and_name_come_from_the_download_headers(
    inbox: Inbox,
    ramp_token: TokenEndpoint,
    make_ramp: Callable[..., RampClient],
    headers: dict[str, str],
    content_type: str | None,
    filename: str | None,
) -> None:
    """Content-Type without parameters; Content-Disposition's filename* before filename."""

    def answer() -> Response:
        response = Response(b"bytes")
        for name, value in headers.items():
            response.headers[name] = value
        if "content-type" not in headers:
            del response.headers["content-type"]
        return response

    ramp = make_ramp(file_app(ramp_token, inbox, answer))
    downloaded = await ramp.download(f"{FILE_HOST}/files/k1?X-Amz-Signature=s")
    assert (downloaded.content, downloaded.content_type, downloaded.filename) == (
        b"bytes",
        content_type,
        filename,
    )


async def test_a_refused_link_on_the_file_host_is_file_link_refused(
    inbox: Inbox,
    ramp_token: TokenEndpoint,
    make_ramp: Callable[..., RampClient],
    calls: list[CallRecord],
) -> None:
    """403 from the file host: FileLinkRefused with the host's message; no token ever sent."""
    xml = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    app = file_app(ramp_token, inbox, lambda: Response(xml, 403, media_type="application/xml"))
    ramp = make_ramp(app)
    with pytest.raises(FileLinkRefused) as refused:
        await ramp.download(f"{FILE_HOST}/files/k2?X-Amz-Signature=secret-signature")
    assert refused.value.vendor_message == "Request has expired"
    assert refused.value.status == 403
    (request,) = inbox.to("/files/k2")
    assert "authorization" not in request.headers
    assert inbox.to("/developer/v1/token") == []  # no token was even fetched
    assert all("secret-signature" not in call.path for call in calls)  # the query stays out


async def test_a_403_from_the_ramp_host_itself_stays_a_permission_error(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Only a foreign file host's refusal means "fetch a fresh link"."""
    app = file_app(ramp_token, inbox, lambda: Response(b"", 403))
    ramp = make_ramp(app)
    with pytest.raises(PermissionDenied):
        await ramp.download("http://ramp.test/files/k3")


async def test_downloads_from_the_file_host_spend_no_api_quota(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """The file host is not the API: its downloads do not pass the API's rate limiter."""
    app = file_app(ramp_token, inbox, lambda: Response(b"%PDF-1.7"))
    ramp = make_ramp(app)
    for n in range(5):
        await ramp.download(f"{FILE_HOST}/files/k{n}")
    assert len(inbox.to("/files/k4")) == 1
    assert ramp.limiter.sent == 0
    await ramp.download("http://ramp.test/files/own")
    assert ramp.limiter.sent == 2  # the token request and the download from the API host
