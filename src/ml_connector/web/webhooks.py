"""The webhook receivers: verify, de-duplicate, persist and answer, with no vendor call.

Each request to ``/webhooks/{ramp|visma}/{connection}`` goes through the same steps, and the
first that fails answers with a 4xx and a row in the rejection log (never the inbox):

1. ``Content-Type`` must be ``application/json`` (415); the body is not read otherwise.
2. The body is read up to ``max_body_bytes``; a larger one (declared or actual) gets 413 and
   the rest is never read.
3. The connection must exist (404).
4. The signature must match one of the connection's active secrets, over the raw bytes (401).
   Secrets are cached ``secret_ttl_s``; a failure is final only against secrets read after
   the request arrived (one re-read, shared by concurrent requests), so a secret stored a
   moment ago, by ``webhooks register`` or a rotation, is honoured at once.
5. The body must be a JSON object carrying an event id and type (400).

Then the event is handed to the :class:`~ml_connector.web.ingest.Ingestor` (group commit): it is
stored with the events of concurrent requests in one transaction, de-duplicated on its id, and,
when new, settled by its disposition there and then (``runtime.webhooks.new_event``: a bill
event queues its record and an audit entry). Only after that commit does the request answer
200 (a duplicate answers 200 and did nothing) and call ``on_work`` when work was queued, so a
worker in this process claims it at once. Database trouble answers 503, so the vendor retries
later; a failed batch stored none of its events.

Ramp's verification event carries no id: its id is derived from the challenge. While
``webhooks register`` waits for it, it is accepted even when its signature cannot be checked
yet (see ``runtime.webhooks``).

The receivers are the hot path, so ``serve`` answers them as plain ASGI (``handle``, reached
through ``receiver_route`` before Starlette's middleware and router; ``web/app.py``): headers
are read straight from the ASGI scope and answers are pre-encoded JSON. ``ramp`` and ``visma``
are the same steps as Starlette endpoints, for apps that mount them as routes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ml_connector.errors import ConnectorError, StoreError, WebhookVerificationError
from ml_connector.runtime.webhooks import new_event, read_secrets, verification_window_open
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection, EventSource
from ml_connector.web.bodies import Parsed, Rejected, is_verification, media_type, parse_event
from ml_connector.web.ingest import IngestConfig, Ingestor
from ml_connector.web.signatures import (
    RAMP_SIGNATURE_HEADERS,
    VISMA_SIGNATURE_HEADER,
    verify_ramp,
    verify_visma,
)

__all__ = ["Answer", "ReceiverConfig", "SecretCache", "WebhookReceiver", "receiver_route"]

log = structlog.get_logger(__name__)

_VERIFIERS = {EventSource.RAMP: verify_ramp, EventSource.VISMA: verify_visma}
_PREFIX = "/webhooks/"
_SOURCES = {source.value: source for source in EventSource}
# The only request headers the receivers read (ASGI gives header names in lower case).
_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "x-ramp-webhook-id",
        "x-vwd-event-id",
        VISMA_SIGNATURE_HEADER,
        *RAMP_SIGNATURE_HEADERS,
    }
)


def receiver_route(path: str) -> tuple[EventSource, str] | None:
    """``(source, connection name)`` when ``path`` is ``/webhooks/{ramp|visma}/{name}``."""
    if not path.startswith(_PREFIX):
        return None
    source, slash, name = path[len(_PREFIX) :].partition("/")
    if not slash or not name or "/" in name or source not in _SOURCES:
        return None
    return _SOURCES[source], name


@dataclass(frozen=True, slots=True)
class Answer:
    """What a receiver answers: a status, a JSON body, and ``Retry-After`` when set."""

    status: int
    body: bytes
    retry_after: str | None = None

    @classmethod
    def of(cls, status: int, content: Mapping[str, Any], retry_after: str | None = None) -> Answer:
        """The answer with ``content`` as its JSON body."""
        encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, encoded, retry_after)

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The response headers as ASGI sends them."""
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
        ]
        if self.retry_after is not None:
            headers.append((b"retry-after", self.retry_after.encode()))
        return headers


_NOT_POST = Answer.of(405, {"error": "method not allowed"})
_UNAVAILABLE = Answer.of(503, {"error": "temporarily unavailable"}, retry_after="5")


def _scope_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers the receivers read, from an ASGI scope (the first of a repeated one)."""
    headers: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1")
        if name in _HEADERS and name not in headers:
            headers[name] = value.decode("latin-1")
    return headers


async def _body_chunks(receive: Receive) -> AsyncGenerator[bytes]:
    """The request body as ASGI delivers it; ClientDisconnect when the sender goes away."""
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


@dataclass(frozen=True)
class ReceiverConfig:
    """Limits and timings of the receivers; ``clock`` (monotonic seconds) ages the cache."""

    max_body_bytes: int = 1 << 20
    secret_ttl_s: float = 5.0
    excerpt_chars: int = 120
    clock: Callable[[], float] = time.monotonic
    ingest: IngestConfig = field(default_factory=IngestConfig)


@dataclass(frozen=True)
class _Entry:
    connection: Connection
    secrets: Mapping[EventSource, tuple[str, ...]] = field(repr=False)
    loaded_at: float


class SecretCache:
    """Connections and their decrypted webhook secrets, by name, kept briefly in memory."""

    def __init__(self, runtime: Runtime, config: ReceiverConfig) -> None:
        self._runtime = runtime
        self._config = config
        self._entries: dict[str, _Entry] = {}
        self._loading: dict[str, tuple[float, asyncio.Future[_Entry | None]]] = {}

    async def get(self, name: str, *, loaded_after: float | None = None) -> _Entry | None:
        """The entry for ``name``: cached up to the TTL, and read no earlier than
        ``loaded_after`` when given. None when there is no such connection.

        Concurrent callers share one read. Raises StoreError or VaultError when the
        connection cannot be read or decrypted.
        """
        now = self._config.clock()
        cached = self._entries.get(name)
        if (
            cached is not None
            and now - cached.loaded_at < self._config.secret_ttl_s
            and (loaded_after is None or cached.loaded_at >= loaded_after)
        ):
            return cached
        pending = self._loading.get(name)
        if pending is None or (loaded_after is not None and pending[0] < loaded_after):
            pending = (now, asyncio.ensure_future(self._load(name, now)))
            self._loading[name] = pending
            pending[1].add_done_callback(lambda _: self._forget_load(name, pending))
        # Shielded: one caller giving up must not cancel the read the others wait for.
        return await asyncio.shield(pending[1])

    def _forget_load(self, name: str, done: tuple[float, asyncio.Future[_Entry | None]]) -> None:
        if self._loading.get(name) is done:
            del self._loading[name]

    async def _load(self, name: str, started: float) -> _Entry | None:
        try:
            connection = await self._runtime.store.get_connection(name)
        except ConnectorError as exc:
            if isinstance(exc, StoreError):
                raise
            self._entries.pop(name, None)
            return None
        creds = self._runtime.credentials(connection)
        secrets = {
            source: tuple(s.secret for s in read_secrets(creds, source)) for source in EventSource
        }
        self._runtime.redactor.add(s for group in secrets.values() for s in group)
        entry = _Entry(connection, secrets, started)
        self._entries[name] = entry
        return entry

    def clear(self) -> None:
        """Forget everything (the next request reads the store)."""
        self._entries.clear()


class WebhookReceiver:
    """The two receiver endpoints; see the module docstring for the steps."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        on_work: Callable[[], None] | None = None,
        config: ReceiverConfig | None = None,
    ) -> None:
        self.runtime = runtime
        self.on_work = on_work
        self.config = config or ReceiverConfig()
        self.secrets = SecretCache(runtime, self.config)
        self.ingestor = Ingestor(runtime.store.ingest_events, self.config.ingest)

    async def handle(
        self, scope: Scope, receive: Receive, send: Send, source: EventSource, name: str
    ) -> None:
        """Answer one request to ``/webhooks/{source}/{name}`` as a plain ASGI app."""
        if scope["method"] != "POST":
            answer, extra = _NOT_POST, [(b"allow", b"POST")]
        else:
            headers = _scope_headers(scope["headers"])
            try:
                answer = await self.receive(source, name, headers, _body_chunks(receive))
            except ClientDisconnect:
                return  # nobody is left to answer
            extra = []
        start = {"type": "http.response.start", "status": answer.status}
        await send({**start, "headers": answer.raw_headers() + extra})
        await send({"type": "http.response.body", "body": answer.body})

    async def ramp(self, request: Request) -> Response:
        """``POST /webhooks/ramp/{connection}`` as a Starlette endpoint."""
        return await self._endpoint(request, EventSource.RAMP)

    async def visma(self, request: Request) -> Response:
        """``POST /webhooks/visma/{connection}`` as a Starlette endpoint."""
        return await self._endpoint(request, EventSource.VISMA)

    async def _endpoint(self, request: Request, source: EventSource) -> Response:
        name = str(request.path_params["connection"])
        try:
            answer = await self.receive(source, name, request.headers, request.stream())
        except ClientDisconnect:
            return Response(status_code=400)
        extra = {"Retry-After": answer.retry_after} if answer.retry_after is not None else None
        return Response(answer.body, answer.status, extra, media_type="application/json")

    async def receive(
        self,
        source: EventSource,
        name: str,
        headers: Mapping[str, str],
        chunks: AsyncGenerator[bytes],
    ) -> Answer:
        """Verify, parse and store one delivery (``headers`` looked up by lower-case name).

        Raises ClientDisconnect when the sender goes away before the body is read.
        """
        arrived = self.config.clock()
        body = b""
        try:
            if media_type(headers.get("content-type")) != "application/json":
                raise Rejected(415, "the content type must be application/json")
            body = await self._read_body(headers, chunks)
            entry = await self.secrets.get(name)
            if entry is None:
                raise Rejected(404, "no connection by this name")
            parsed = await self._verified(headers, source, name, entry, body, arrived)
            event = new_event(
                entry.connection.id,
                source,
                parsed.event_id,
                parsed.type,
                parsed.object_id,
                parsed.payload,
            )
            outcome = await self.ingestor.submit(event)
        except Rejected as rejected:
            return await self._reject(headers, source, name, body, rejected)
        except ConnectorError as exc:  # the store or the vault: the vendor should retry later
            log.error("webhook not stored", connection=name, source=str(source), error=str(exc))
            return _UNAVAILABLE
        if not outcome.new:
            return Answer.of(200, {"status": "duplicate", "event_id": parsed.event_id})
        if outcome.record_id is not None and self.on_work is not None:
            self.on_work()
        return Answer.of(200, {"status": "accepted", "event_id": parsed.event_id})

    async def _read_body(self, headers: Mapping[str, str], chunks: AsyncGenerator[bytes]) -> bytes:
        limit = self.config.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise Rejected(413, f"the body is larger than {limit} bytes")
        read: list[bytes] = []
        size = 0
        async with aclosing(chunks):
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise Rejected(413, f"the body is larger than {limit} bytes")
                read.append(chunk)
        return read[0] if len(read) == 1 else b"".join(read)

    async def _verified(
        self,
        headers: Mapping[str, str],
        source: EventSource,
        name: str,
        entry: _Entry,
        body: bytes,
        arrived: float,
    ) -> Parsed:
        """The parsed event, once its signature checks out (or it is an expected challenge)."""
        verify = _VERIFIERS[source]
        try:
            verify(body, headers, entry.secrets[source])
        except WebhookVerificationError as first:
            fresh = await self.secrets.get(name, loaded_after=arrived)
            try:
                if fresh is None:
                    raise Rejected(404, "no connection by this name") from None
                verify(body, headers, fresh.secrets[source])
            except WebhookVerificationError:
                if not await self._expected_challenge(source, name, body, arrived):
                    raise Rejected(401, str(first)) from None
        return parse_event(source, body, headers)

    async def _expected_challenge(
        self, source: EventSource, name: str, body: bytes, arrived: float
    ) -> bool:
        """True for a Ramp verification event while ``webhooks register`` waits for one."""
        if source is not EventSource.RAMP or not is_verification(body):
            return False
        entry = await self.secrets.get(name, loaded_after=arrived)
        return entry is not None and verification_window_open(entry.connection, datetime.now(UTC))

    async def _reject(
        self,
        headers: Mapping[str, str],
        source: EventSource,
        name: str,
        body: bytes,
        rejected: Rejected,
    ) -> Answer:
        declared = headers.get("content-length", "")
        size = len(body) if body else int(declared) if declared.isdigit() else 0
        excerpt = self._excerpt(body) if rejected.excerpt and body else None
        log.warning(
            "webhook rejected",
            connection=name,
            source=str(source),
            status=rejected.status,
            reason=rejected.reason,
        )
        try:
            await self.runtime.store.insert_rejection(
                name,
                source,
                http_status=rejected.status,
                reason=rejected.reason,
                body_size=size,
                body_sha256=hashlib.sha256(body).hexdigest() if body else None,
                excerpt=excerpt,
            )
        except ConnectorError as exc:
            log.error("rejection not logged", connection=name, error=str(exc))
        return Answer.of(rejected.status, {"error": rejected.reason})

    def _excerpt(self, body: bytes) -> str:
        text = body[: self.config.excerpt_chars].decode("utf-8", errors="replace")
        printable = "".join(c if c.isprintable() else "?" for c in text)
        return self.runtime.redactor.scrub_text(printable)
