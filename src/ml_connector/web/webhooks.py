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
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from ml_connector.errors import ConnectorError, StoreError, WebhookVerificationError
from ml_connector.runtime.webhooks import (
    VERIFICATION_TYPE,
    new_event,
    read_secrets,
    verification_window_open,
)
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection, EventSource
from ml_connector.web.ingest import IngestConfig, Ingestor
from ml_connector.web.signatures import verify_ramp, verify_visma

__all__ = ["ReceiverConfig", "SecretCache", "WebhookReceiver"]

log = structlog.get_logger(__name__)

_MAX_FIELD = 200
_VERIFIERS = {EventSource.RAMP: verify_ramp, EventSource.VISMA: verify_visma}


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


class _Rejected(Exception):
    """A request that fails a step: answered with ``status`` and logged as a rejection.

    ``excerpt`` keeps a short excerpt of the body; only authenticated, malformed bodies get one.
    """

    def __init__(self, status: int, reason: str, *, excerpt: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.excerpt = excerpt


@dataclass(frozen=True)
class _Parsed:
    event_id: str
    type: str
    object_id: str | None
    payload: dict[str, Any]


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Rejected(400, f"the event has no {what}", excerpt=True)
    if len(value) > _MAX_FIELD:
        raise _Rejected(400, f"the event's {what} is longer than {_MAX_FIELD} characters")
    return value


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Rejected(400, "the body is not valid JSON", excerpt=True) from None
    if not isinstance(payload, dict):
        raise _Rejected(400, "the body is not a JSON object", excerpt=True)
    return payload


def _parse_ramp(payload: dict[str, Any], headers: Mapping[str, str]) -> _Parsed:
    event_type = _text(payload.get("type"), "type")
    if event_type == VERIFICATION_TYPE:
        challenge = _text(payload.get("challenge"), "challenge")
        digest = hashlib.sha256(challenge.encode()).hexdigest()[:32]
        return _Parsed(f"verification:{digest}", event_type, None, payload)
    header_id = headers.get("x-ramp-webhook-id")
    body_id = payload.get("id")
    if header_id and body_id and header_id != body_id:
        raise _Rejected(400, "the body's id and X-Ramp-Webhook-ID differ", excerpt=True)
    event_id = _text(body_id or header_id, "id")
    target = payload.get("object")
    object_id = target.get("id") if isinstance(target, dict) else None
    object_id = _text(object_id, "object id") if object_id is not None else None
    return _Parsed(event_id, event_type, object_id, payload)


def _parse_visma(payload: dict[str, Any], headers: Mapping[str, str]) -> _Parsed:
    event_id = _text(payload.get("eventId") or headers.get("x-vwd-event-id"), "event id")
    event_type = payload.get("eventType")
    if not event_type and payload.get("entity") and payload.get("action"):
        event_type = f"{payload['entity']}.{payload['action']}"
    event_type = _text(event_type, "event type")
    entity_id = payload.get("entityId")
    object_id = _text(str(entity_id), "entity id") if entity_id not in (None, "") else None
    return _Parsed(event_id, event_type, object_id, payload)


_PARSERS = {EventSource.RAMP: _parse_ramp, EventSource.VISMA: _parse_visma}


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

    async def ramp(self, request: Request) -> Response:
        """``POST /webhooks/ramp/{connection}``."""
        return await self._receive(request, EventSource.RAMP)

    async def visma(self, request: Request) -> Response:
        """``POST /webhooks/visma/{connection}``."""
        return await self._receive(request, EventSource.VISMA)

    async def _receive(self, request: Request, source: EventSource) -> Response:
        name = str(request.path_params["connection"])
        arrived = self.config.clock()
        body = b""
        try:
            if _media_type(request.headers.get("content-type")) != "application/json":
                raise _Rejected(415, "the content type must be application/json")
            body = await self._read_body(request)
            entry = await self.secrets.get(name)
            if entry is None:
                raise _Rejected(404, "no connection by this name")
            parsed = await self._verified(request, source, name, entry, body, arrived)
            event = new_event(
                entry.connection.id,
                source,
                parsed.event_id,
                parsed.type,
                parsed.object_id,
                parsed.payload,
            )
            outcome = await self.ingestor.submit(event)
        except _Rejected as rejected:
            return await self._reject(request, source, name, body, rejected)
        except ConnectorError as exc:  # the store or the vault: the vendor should retry later
            log.error("webhook not stored", connection=name, source=str(source), error=str(exc))
            return JSONResponse(
                {"error": "temporarily unavailable"}, status_code=503, headers={"Retry-After": "5"}
            )
        except ClientDisconnect:
            return Response(status_code=400)
        if not outcome.new:
            return JSONResponse({"status": "duplicate", "event_id": parsed.event_id})
        if outcome.record_id is not None and self.on_work is not None:
            self.on_work()
        return JSONResponse({"status": "accepted", "event_id": parsed.event_id})

    async def _read_body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Rejected(413, f"the body is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Rejected(413, f"the body is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _verified(
        self,
        request: Request,
        source: EventSource,
        name: str,
        entry: _Entry,
        body: bytes,
        arrived: float,
    ) -> _Parsed:
        """The parsed event, once its signature checks out (or it is an expected challenge)."""
        verify = _VERIFIERS[source]
        try:
            verify(body, request.headers, entry.secrets[source])
        except WebhookVerificationError as first:
            fresh = await self.secrets.get(name, loaded_after=arrived)
            try:
                if fresh is None:
                    raise _Rejected(404, "no connection by this name") from None
                verify(body, request.headers, fresh.secrets[source])
            except WebhookVerificationError:
                if not await self._expected_challenge(source, name, body, arrived):
                    raise _Rejected(401, str(first)) from None
        return _PARSERS[source](_json_object(body), request.headers)

    async def _expected_challenge(
        self, source: EventSource, name: str, body: bytes, arrived: float
    ) -> bool:
        """True for a Ramp verification event while ``webhooks register`` waits for one."""
        if source is not EventSource.RAMP:
            return False
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return False
        if not isinstance(payload, dict) or payload.get("type") != VERIFICATION_TYPE:
            return False
        entry = await self.secrets.get(name, loaded_after=arrived)
        return entry is not None and verification_window_open(entry.connection, datetime.now(UTC))

    async def _reject(
        self, request: Request, source: EventSource, name: str, body: bytes, rejected: _Rejected
    ) -> Response:
        declared = request.headers.get("content-length", "")
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
        return JSONResponse({"error": rejected.reason}, status_code=rejected.status)

    def _excerpt(self, body: bytes) -> str:
        text = body[: self.config.excerpt_chars].decode("utf-8", errors="replace")
        printable = "".join(c if c.isprintable() else "?" for c in text)
        return self.runtime.redactor.scrub_text(printable)
