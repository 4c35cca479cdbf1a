"""Fault injection and the request journal, shared by both sandboxes.

``SandboxMiddleware`` wraps a sandbox's ASGI app. For every vendor-API request (anything outside
the ``/_sandbox`` control prefix) it:

1. records the request in the ``RequestJournal`` (method, path, query, status, body size), so
   tests can assert that a call was, or was not, made;
2. consults the ``FaultPlan``: the first matching rule decides what happens.

Fault kinds:
- ``status``: answer ``status`` at once; the handler does not run, so nothing is committed.
- ``latency``: sleep ``latency_s``, then run the handler normally.
- ``commit_then_fail``: run the handler (the write commits), discard its answer, answer ``status``.
- ``commit_then_hang``: run the handler (the write commits), then hang for ``hang_s`` seconds
  before answering 504, long enough for the client's timeout to fire: an ambiguous outcome.

A rule applies to the next ``count`` matching calls, or (``count`` None) to each matching call
with probability ``rate``. ``method`` and ``path_contains`` narrow what matches.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FaultPlan", "FaultRule", "JournalEntry", "RequestJournal", "SandboxMiddleware"]

FaultKind = Literal["status", "latency", "commit_then_fail", "commit_then_hang"]
ErrorBody = Callable[[int], tuple[bytes, dict[str, str]]]


@dataclass
class FaultRule:
    """One fault. See the module docstring for the kinds."""

    kind: FaultKind = "status"
    status: int = 500
    method: str | None = None
    path_contains: str | None = None
    count: int | None = 1
    rate: float = 1.0
    latency_s: float = 0.0
    hang_s: float = 30.0
    retry_after: int | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path_contains and self.path_contains.lower() not in path.lower())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        allowed = set(cls.__dataclass_fields__)
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        rule = cls(**data)
        if rule.kind not in ("status", "latency", "commit_then_fail", "commit_then_hang"):
            raise ValueError(f"unknown fault kind: {rule.kind}")
        return rule


class FaultPlan:
    """The active fault rules of one sandbox; safe to use from several threads."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._rng = rng or random.Random(7)
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._rules]

    def pick(self, method: str, path: str) -> FaultRule | None:
        """Return the fault for this call, if any, and use up one of its ``count``."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    rule.count -= 1
                    return rule
                if self._rng.random() < rule.rate:
                    return rule
            self._rules = [r for r in self._rules if r.count is None or r.count > 0]
            return None


@dataclass
class JournalEntry:
    seq: int
    at: float
    method: str
    path: str
    query: str
    status: int = 0
    fault: str | None = None
    request_bytes: int = 0


@dataclass
class RequestJournal:
    """The last ``maxlen`` vendor-API calls a sandbox answered."""

    maxlen: int = 20_000
    _entries: deque[JournalEntry] = field(default_factory=deque)
    _seq: int = 0

    def start(self, method: str, path: str, query: str) -> JournalEntry:
        self._seq += 1
        entry = JournalEntry(self._seq, time.time(), method, path, query)
        self._entries.append(entry)
        while len(self._entries) > self.maxlen:
            self._entries.popleft()
        return entry

    def entries(
        self, method: str | None = None, path_contains: str | None = None
    ) -> list[JournalEntry]:
        return [
            e
            for e in self._entries
            if (method is None or e.method == method.upper())
            and (path_contains is None or path_contains.lower() in e.path.lower())
        ]

    def clear(self) -> None:
        self._entries.clear()


def default_error_body(status: int) -> tuple[bytes, dict[str, str]]:
    return json.dumps({"message": f"Injected fault: HTTP {status}"}).encode(), {}


class SandboxMiddleware:
    """Pure ASGI middleware: journal every vendor-API call and apply the fault plan."""

    def __init__(
        self,
        app: ASGIApp,
        plan: FaultPlan,
        journal: RequestJournal,
        *,
        error_body: ErrorBody = default_error_body,
        control_prefix: str = "/_sandbox",
    ) -> None:
        self.app = app
        self.plan = plan
        self.journal = journal
        self.error_body = error_body
        self.control_prefix = control_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.control_prefix):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        entry = self.journal.start(method, path, scope.get("query_string", b"").decode("latin-1"))
        rule = self.plan.pick(method, path)
        entry.fault = rule.kind if rule else None

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                entry.request_bytes += len(message.get("body", b""))
            return message

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            await send(message)

        if rule is None or rule.kind == "latency":
            if rule is not None:
                await asyncio.sleep(rule.latency_s)
            await self.app(scope, counting_receive, recording_send)
            return
        if rule.kind == "status":
            await self._answer(rule, recording_send)
            return

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, counting_receive, swallow)
        if rule.kind == "commit_then_hang":
            await asyncio.sleep(rule.hang_s)
            await self._answer(FaultRule(status=504), recording_send)
            return
        await self._answer(rule, recording_send)

    async def _answer(self, rule: FaultRule, send: Send) -> None:
        body, extra = self.error_body(rule.status)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        if rule.retry_after is not None:
            headers.append((b"retry-after", str(rule.retry_after).encode()))
        await send({"type": "http.response.start", "status": rule.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
