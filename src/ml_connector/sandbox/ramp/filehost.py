"""Files behind pre-signed URLs, on a host of their own (ramp-api.md §5.1): bills' invoice
files, receipts (``Receipt.receipt_url``) and card statements (``Statement.statement_url``).

A Ramp bill's ``invoice_urls`` are "pre-signed URLs to invoice files" (Ramp's example host is
``receipts.ramp.com``, not the API host): anyone holding one may download the file until it
expires, and no bearer token is involved. The sandbox plays that with an object store of its
own, modelled on S3-style pre-signed links (the common way such links work; the exact scheme
Ramp uses is not documented):

- ``FileHost.urls`` signs one link per bill file, every time a bill is rendered, so a fresh
  read of the bill always carries a fresh link (``FileHost.url`` does the same for a receipt or
  a statement, whose ``receipt_url`` the spec says is "valid for 1 hour by default"):
  ``{files origin}/files/{object id}/{key}``
  with ``X-Amz-Date`` (issued, epoch seconds), ``X-Amz-Expires`` (seconds) and
  ``X-Amz-Signature`` (HMAC-SHA256 over host, path, date and expiry);
- the files origin is ``files_base_url`` when set; otherwise another host on the same
  server: ``127.0.0.1`` ↔ ``localhost``, any other name gets ``files.`` in front (so
  ``http://ramp.test`` serves files at ``http://files.ramp.test``);
- ``FileHost.serve`` answers a file request: the signature must match the host it was sent
  to (a link used on the API host fails), the link must not have expired (403 "Request has
  expired", S3's wording), and a request carrying an ``Authorization`` header is refused with
  400, as S3 refuses a second auth mechanism on a pre-signed request. The file comes with
  ``Content-Type: application/pdf`` and ``Content-Disposition: attachment`` with the
  document's own file name (``documents.py``; ``filename*`` when it is not ASCII);
- ``ttl_s`` None makes links that never expire (an option; real ones do).

``served`` records each file request (host, path, whether it carried Authorization, status),
so tests can prove what reached the file host.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ml_connector.sandbox.ramp.documents import document_for
from ml_connector.sandbox.ramp.model import Bill
from ml_connector.sandbox.ramp.state import RampState

__all__ = ["FILES_PREFIX", "FileHost", "FileRequest", "FilesOrApi"]

FILES_PREFIX = "/files/"


@dataclass(frozen=True)
class FileRequest:
    """One request the file host answered."""

    host: str
    path: str
    had_authorization: bool
    status: int


@dataclass
class FileHost:
    """Signs invoice-file links and serves them (module docstring)."""

    clock: Callable[[], float]
    ttl_s: float | None = 3600.0
    files_base_url: str | None = None
    served: list[FileRequest] = field(default_factory=list)
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def origin_for(self, api_base: str) -> str:
        """The files origin for an API reached at ``api_base`` (another host)."""
        if self.files_base_url:
            return self.files_base_url.rstrip("/")
        parts = urlsplit(api_base)
        host = parts.hostname or "ramp.sandbox"
        other = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}.get(host, f"files.{host}")
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme or 'http'}://{other}{port}"

    def urls(self, item: Bill, api_base: str) -> list[str]:
        """Fresh pre-signed links to the bill's files (one file per bill in the sandbox)."""
        return [self.url(item.id, "invoice", api_base)]

    def url(self, object_id: str, kind: str, api_base: str) -> str:
        """A fresh pre-signed link to the file of ``object_id`` (a bill's invoice, a receipt,
        a statement: ``kind`` only salts the opaque key)."""
        origin = self.origin_for(api_base)
        path = f"{FILES_PREFIX}{object_id}/{_key(kind, object_id)}"
        issued = int(self.clock())
        expires = int(self.ttl_s) if self.ttl_s is not None else 0
        signature = self._sign(urlsplit(origin).netloc, path, issued, expires)
        query = f"X-Amz-Date={issued}&X-Amz-Expires={expires}&X-Amz-Signature={signature}"
        return f"{origin}{path}?{query}"

    def _sign(self, host: str, path: str, issued: int, expires: int) -> str:
        text = f"{host.lower()}\n{path}\n{issued}\n{expires}".encode()
        return hmac.new(self._secret, text, hashlib.sha256).hexdigest()

    def serve(self, request: Request, state: RampState) -> Response:
        """Answer one file request; every outcome is recorded in ``served``."""
        response = self._answer(request, state)
        self.served.append(
            FileRequest(
                host=request.headers.get("host", ""),
                path=request.url.path,
                had_authorization="authorization" in request.headers,
                status=response.status_code,
            )
        )
        return response

    def _answer(self, request: Request, state: RampState) -> Response:
        if "authorization" in request.headers:
            return _s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be "
                "specified",
            )
        query = request.query_params
        try:
            issued = int(query["X-Amz-Date"])
            expires = int(query["X-Amz-Expires"])
        except (KeyError, ValueError):
            return _s3_error(
                403,
                "AccessDenied",
                "Query-string authentication requires the Signature and Expires parameters",
            )
        host = request.headers.get("host", "")
        wanted = self._sign(host, request.url.path, issued, expires)
        if not hmac.compare_digest(wanted, query.get("X-Amz-Signature", "")):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if expires and self.clock() > issued + expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        object_id = request.url.path[len(FILES_PREFIX) :].split("/", 1)[0]
        found = document_for(state, object_id)
        if found is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        content, name = found
        return Response(
            content,
            media_type="application/pdf",
            headers={"Content-Disposition": _disposition(name)},
        )


def _key(kind: str, object_id: str) -> str:
    """An opaque object key: the URL itself says nothing about the file's name or type."""
    return hashlib.sha256(f"{kind}:{object_id}".encode()).hexdigest()[:24]


def _disposition(name: str) -> str:
    """``attachment`` with the name; non-ASCII names also as RFC 5987 ``filename*``."""
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace('"', "_")
    if ascii_name == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


def describe(request: FileRequest) -> dict[str, Any]:
    """A served request as JSON (the control API's view)."""
    return {
        "host": request.host,
        "path": request.path,
        "had_authorization": request.had_authorization,
        "status": request.status,
    }


class FilesOrApi:
    """The sandbox's outer ASGI app: file requests to the file host, the rest to the API.

    The file host sits outside the API's journal, faults and rate limit: it is another
    service. Its requests are recorded in ``FileHost.served`` instead.
    """

    def __init__(self, files: FileHost, state: Callable[[], RampState], api: ASGIApp) -> None:
        self.files = files
        self.state = state
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(FILES_PREFIX):
            response = self.files.serve(Request(scope, receive), self.state())
            await response(scope, receive, send)
            return
        await self.api(scope, receive, send)
