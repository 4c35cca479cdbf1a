"""The webhook receivers: verify, de-duplicate, persist and answer, with no vendor call.

Each request to ``/webhooks/{ramp|visma}/{connection}`` goes through the same steps, and the
first that fails answers with a 4xx and goes to the rejection log (never the inbox; a row only
for a configured connection, within its rate, otherwise a count: ``runtime/rejections.py``):

1. ``Content-Type`` must be ``application/json`` (415); the body is not read otherwise.
2. The connection must exist (404); the names are cached ``secret_ttl_s``, so strangers cost
   no store read per request, and their bodies are never read.
3. The body is read up to ``max_body_bytes``; a larger one (declared or actual) gets 413 and
   the rest is never read.
4. The signature must match one of the connection's active secrets, over the raw bytes (401).
   Secrets are cached ``secret_ttl_s``; a failure is final only against secrets read after
   the request arrived (one re-read, shared by concurrent requests), so a secret stored a
   moment ago, by ``webhooks register`` or a rotation, is honoured at once.
5. The event is read from the signed body alone (``web/bodies.py``): a Ramp body must be a
   JSON object with a type (400); a Visma body is a hint to poll and always parses. Its id
   comes from the body (or a digest of the signed bytes), never from an unsigned header.
6. A signed time in the body (Ramp's ``created_at``) must lie within ``max_age_s`` in the past
   (no more than the inbox retention) and ``max_skew_s`` in the future (400): an old delivery
   is refused as a possible replay. An event that carries no signed time is checked against
   the keys of events the retention pruned, and a replay of one is refused (409).

Then the event is handed to the :class:`~ml_connector.web.ingest.Ingestor` (group commit): it is
stored with the events of concurrent requests in one transaction, de-duplicated on its id, and,
when new, settled by its disposition there and then (``runtime.webhooks.new_event``: a bill
event queues its record and an audit entry). Only after that commit does the request answer
200 (a duplicate answers 200 and did nothing) and call ``on_work`` when work was queued, so a
worker in this process claims it at once. Database trouble answers 503, so the vendor retries
later; a failed batch stored none of its events.

Ramp's verification event carries no id: its id is derived from the challenge. While
``webhooks register`` waits for it, it is accepted even when its signature cannot be checked
yet (see ``runtime.webhook_secrets``).

The receivers are the hot path, so ``serve`` answers them as plain ASGI (``handle``, reached
through ``receiver_route`` before Starlette's middleware and router; ``web/app.py``): headers
are read straight from the ASGI scope and answers are pre-encoded JSON. ``ramp`` and ``visma``
are the same steps as Starlette endpoints, for apps that mount them as routes.
"""

from __future__ import annotations

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

from ml_connector.errors import ConnectorError, WebhookVerificationError
from ml_connector.runtime.receiver_cache import CachedConnection, SecretCache
from ml_connector.runtime.rejections import RejectionLog, RejectionPolicy
from ml_connector.runtime.webhook_secrets import verification_window_open
from ml_connector.runtime.webhooks import EventSource, event_sink, new_event
from ml_connector.runtime.wiring import Runtime
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


DEFAULT_MAX_AGE_S = 3 * 86_400.0  # Ramp retries for hours at most (reference §8.6)


@dataclass(frozen=True)
class ReceiverConfig:
    """Limits and timings of the receivers; ``clock`` (monotonic seconds) ages the caches,
    ``wall_clock`` judges signed times: older than ``max_age_s`` or more than ``max_skew_s``
    ahead is refused."""

    max_body_bytes: int = 1 << 20
    secret_ttl_s: float = 5.0
    max_age_s: float = DEFAULT_MAX_AGE_S
    max_skew_s: float = 300.0
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    ingest: IngestConfig = field(default_factory=IngestConfig)
    rejections: RejectionPolicy = field(default_factory=RejectionPolicy)


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
        self.secrets = SecretCache(runtime, ttl_s=self.config.secret_ttl_s, clock=self.config.clock)
        self.ingestor = Ingestor(event_sink(runtime), self.config.ingest)
        self.rejections = RejectionLog.of(runtime, self.config.rejections, clock=self.config.clock)

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
        known = False
        try:
            known = await self.secrets.known(name)
            if media_type(headers.get("content-type")) != "application/json":
                raise Rejected(415, "the content type must be application/json")
            if not known:
                raise Rejected(404, "no connection by this name")
            body = await self._read_body(headers, chunks)
            entry = await self.secrets.get(name)
            if entry is None:
                known = False
                raise Rejected(404, "no connection by this name")
            parsed = await self._verified(headers, source, name, entry, body, arrived)
            self._check_signed_time(parsed)
            event = new_event(
                entry.connection.id,
                source,
                parsed.event_id,
                parsed.type,
                parsed.object_id,
                parsed.payload,
                signed_time=parsed.signed_at is not None,
            )
            outcome = await self.ingestor.submit(event)
            if outcome.stale:
                raise Rejected(
                    409,
                    "this event was received before and its inbox entry has expired; "
                    "refused as a replay",
                )
        except Rejected as rejected:
            return await self._reject(headers, source, name, body, rejected, known=known)
        except ConnectorError as exc:  # the store or the vault: the vendor should retry later
            log.error("webhook not stored", connection=name, source=str(source), error=str(exc))
            return _UNAVAILABLE
        if not outcome.new:
            return Answer.of(200, {"status": "duplicate", "event_id": parsed.event_id})
        if outcome.record_id is not None and self.on_work is not None:
            self.on_work()
        return Answer.of(200, {"status": "accepted", "event_id": parsed.event_id})

    def _check_signed_time(self, parsed: Parsed) -> None:
        """Refuse an event whose signed time lies outside the accepted window."""
        if parsed.signed_at is None:
            return
        age = (self.config.wall_clock() - parsed.signed_at).total_seconds()
        if age > self.config.max_age_s:
            raise Rejected(
                400,
                f"the event was signed {age:.0f} s ago, more than the {self.config.max_age_s:.0f}"
                " s this receiver accepts; refused as a possible replay",
            )
        if -age > self.config.max_skew_s:
            raise Rejected(400, f"the event's signed time lies {-age:.0f} s in the future")

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
        entry: CachedConnection,
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
        *,
        known: bool,
    ) -> Answer:
        declared = headers.get("content-length", "")
        size = len(body) if body else int(declared) if declared.isdigit() else 0
        await self.rejections.refuse(
            name,
            source,
            rejected.status,
            rejected.reason,
            known=known,
            body=body,
            size=size,
            excerpt=rejected.excerpt,
        )
        return Answer.of(rejected.status, {"error": rejected.reason})
