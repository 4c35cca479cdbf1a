"""Background API requests (reference §8): release actions that run after they are answered.

A release answered with 202 becomes a ``BackgroundRequest``: ``{"id", "stateLocation"}`` now,
the work later. The queue runs a request once ``steps`` further API requests reached the
company (``CompanyBehaviour.background_steps``), or when the control API says so; until then
``GET /v1/background/{id}`` reads ``Started`` and the document is unchanged.

What a finished request shows (``BackgroundRequestStateDto``):
- the action succeeded: ``Finished``, ``statusCode`` 204, no content;
- the ERP refused it (an ``ApiError``, e.g. a document on hold): ``Finished`` with the
  refusal's status code, and its ``{"message"}`` body as the content (the spec: "any error
  response from the actual endpoint can be obtained by calling the ContentLocation address");
- the background machinery failed (injected with ``fail_next``): ``Failed``, ``statusCode``
  500 and ``errorMessage``; the action was not applied.

State and content are kept 24 hours after the request was received; after that the state is
404 and the content 410, as Visma documents.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ml_connector.sandbox.visma.responses import ApiError

__all__ = ["KEPT_FOR", "BackgroundQueue", "BackgroundRequest", "Work"]

KEPT_FOR = timedelta(hours=24)
Work = Callable[[], None]  # applies the action, or raises ApiError when the ERP refuses it


@dataclass
class BackgroundRequest:
    id: str
    original_uri: str
    received: datetime
    work: Work
    steps_left: int
    status: str = "Started"
    status_code: int = 0
    started: datetime | None = None
    finished: datetime | None = None
    error_message: str | None = None
    content: Any = None

    @property
    def done(self) -> bool:
        return self.status != "Started"


@dataclass
class BackgroundQueue:
    """One company's background requests, by id."""

    requests: dict[str, BackgroundRequest] = field(default_factory=dict)
    _failures: list[str] = field(default_factory=list)

    def submit(
        self, original_uri: str, work: Work, *, steps: int, now: datetime
    ) -> BackgroundRequest:
        """Queue ``work``; with ``steps`` 0 it runs at once."""
        request = BackgroundRequest(str(uuid.uuid4()), original_uri, now, work, steps)
        self.requests[request.id] = request
        if steps == 0:
            self._run(request, now)
        return request

    def tick(self, now: datetime) -> None:
        """One more API request reached the company: run what became due."""
        for request in list(self.requests.values()):
            if request.done:
                continue
            request.steps_left -= 1
            if request.steps_left <= 0:
                self._run(request, now)

    def run_all(self, now: datetime) -> int:
        """Run every queued request now; returns how many ran."""
        pending = [r for r in self.requests.values() if not r.done]
        for request in pending:
            self._run(request, now)
        return len(pending)

    def fail_next(self, message: str, count: int = 1) -> None:
        """The next ``count`` requests to run fail in the background with ``message``."""
        self._failures.extend([message] * count)

    def find(self, request_id: str, now: datetime) -> BackgroundRequest | None:
        """A request still kept (24 hours after it was received), or None."""
        request = self.requests.get(request_id)
        if request is None or now - request.received > KEPT_FOR:
            return None
        return request

    def _run(self, request: BackgroundRequest, now: datetime) -> None:
        request.started = now
        request.finished = now
        if self._failures:
            request.status, request.status_code = "Failed", 500
            request.error_message = self._failures.pop(0)
            return
        request.status = "Finished"
        try:
            request.work()
        except ApiError as refusal:
            request.status_code = refusal.status
            request.content = refusal.body
            return
        request.status_code = 204
