"""Release a Visma document and know that it is released.

Visma's current API answers a release action with 202 and a background request (reference
§8): the action is only accepted. A document counts as released here only when that request
is ``Finished`` with a 2xx status **and** the document, read back, shows it released. The 9.11
API answered 200 with ``actionResult`` (``Queued``, ``InProcess``, ``Failed``, ``Done``); that
answer is still understood (the legacy path), and it too is confirmed by reading the document.

- The background request id is stored (``Release.remember``, in the record's link data) before
  it is polled, so a request still running when the worker stops is polled again on the next
  attempt, never posted twice.
- Polling backs off from 50 ms, doubling to 2 s, for at most ``FlowContext.release_wait_s``;
  a request still ``Started`` then becomes a wait (``ResourceBusy``): the record is looked at
  again after as long, and waiting on Visma's queue never counts as a failed attempt.
- ``Failed``, or ``Finished`` with an error status, needs attention with Visma's own text.
- A request Visma no longer knows (404: states are kept 24 hours) falls back to the document:
  released, fine; otherwise the release is posted again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from ml_connector.audit import AuditKind
from ml_connector.clients.visma_models import ActionResult, BackgroundState
from ml_connector.errors import (
    NeedsAttention,
    PreconditionFailed,
    ResourceBusy,
    RetriableVendorError,
)
from ml_connector.flows.context import FlowContext

__all__ = ["Release", "release"]

_FIRST_POLL_S = 0.05
_MAX_POLL_S = 2.0


@dataclass(frozen=True)
class Release:
    """One document to release: how to ask, how to check, and where to keep the request id."""

    label: str  # in finance words, e.g. "invoice 000123" or "supplier payment 000045"
    post: Callable[[], Awaitable[ActionResult]]
    is_released: Callable[[], Awaitable[bool]]  # reads the document back from Visma
    remember: Callable[[str | None], Awaitable[None]]  # store (or clear) the request id


async def release(ctx: FlowContext, target: Release, pending: str | None = None) -> None:
    """Release ``target`` and confirm it (module docstring); ``pending`` is a stored request id.

    Returns once the document reads back released. Raises NeedsAttention when Visma refused
    or failed the release, ResourceBusy while it is still running.
    """
    if pending is not None:
        state = await _wait(ctx, pending)
        if state is not None:
            await _settle(ctx, target, pending, state)
            return
        await target.remember(None)  # Visma forgot it (24 h): the document decides
        if await target.is_released():
            return
    try:
        answer = await target.post()
    except PreconditionFailed:
        raise RetriableVendorError(
            "ml-connector", f"{target.label} changed in Visma meanwhile; retrying"
        ) from None
    if answer.background_id is not None:
        await target.remember(answer.background_id)
        ctx.note(
            AuditKind.DECISION,
            {
                "decision": "release requested",
                "what": target.label,
                "request": answer.background_id,
            },
        )
        state = await _wait(ctx, answer.background_id)
        if state is None:
            raise RetriableVendorError(
                "Visma", f"the release of {target.label} was accepted but its state is unknown"
            )
        await _settle(ctx, target, answer.background_id, state)
        return
    await _settle_legacy(ctx, target, answer)


async def _settle(
    ctx: FlowContext, target: Release, request_id: str, state: BackgroundState
) -> None:
    """Act on a background request's state: done, refused, failed or still running."""
    if state.status == "Started":
        raise ResourceBusy(
            f"Visma is still releasing {target.label} (background request {request_id}); "
            "checking again later",
            retry_after=max(ctx.release_wait_s, _FIRST_POLL_S),
        )
    await target.remember(None)
    if state.status == "Failed":
        raise NeedsAttention(
            f"Visma could not release {target.label}: {state.error_message or 'no reason given'}",
            hint="Check the document in Visma and release it there, or replay the record.",
            code="release_failed",
        )
    if not state.succeeded:
        said = await _refusal_text(ctx, request_id, state)
        raise NeedsAttention(
            f"Visma refused to release {target.label}: {said}",
            hint="Fix what Visma names on the document, then replay the record.",
            code="release_refused",
        )
    await _confirm(ctx, target)


async def _settle_legacy(ctx: FlowContext, target: Release, answer: ActionResult) -> None:
    """The 9.11 answer: Done is confirmed by reading back; Queued or InProcess is waited for."""
    result = answer.action_result or ""
    if result == "Failed":
        raise NeedsAttention(
            f"Visma could not release {target.label}: {answer.error_info or 'no reason given'}",
            hint="Fix what Visma names on the document, then replay the record.",
            code="release_failed",
        )
    if result == "Done":
        await _confirm(ctx, target)
        return
    # Queued, InProcess, or an answer without a request to poll: the document tells.
    deadline = time.monotonic() + ctx.release_wait_s
    for delay in _delays():
        if await target.is_released():
            _noted(ctx, target)
            return
        if time.monotonic() + delay > deadline:
            break
        await asyncio.sleep(delay)
    raise ResourceBusy(
        f"Visma has queued the release of {target.label}; checking again later",
        retry_after=max(ctx.release_wait_s, _FIRST_POLL_S),
    )


async def _confirm(ctx: FlowContext, target: Release) -> None:
    """The request finished: the document itself must now read back released."""
    if not await target.is_released():
        raise RetriableVendorError(
            "Visma",
            f"Visma finished releasing {target.label}, but it does not read back released yet",
        )
    _noted(ctx, target)


def _noted(ctx: FlowContext, target: Release) -> None:
    ctx.note(AuditKind.DECISION, {"decision": "released", "what": target.label})


async def _wait(ctx: FlowContext, request_id: str) -> BackgroundState | None:
    """Poll a background request until it is no longer Started, or the wait is used up."""
    deadline = time.monotonic() + ctx.release_wait_s
    delays = _delays()
    while True:
        state = await ctx.visma.get_background_state(request_id)
        if state is None or state.status != "Started":
            return state
        delay = next(delays)
        if time.monotonic() + delay > deadline:
            return state
        await asyncio.sleep(delay)


def _delays() -> Iterator[float]:
    """50 ms, 100 ms, 200 ms … doubling to 2 s, for ever (the caller's deadline bounds it)."""
    delay = _FIRST_POLL_S
    while True:
        yield delay
        delay = min(delay * 2, _MAX_POLL_S)


async def _refusal_text(ctx: FlowContext, request_id: str, state: BackgroundState) -> str:
    """Visma's own words for a finished-with-error request (its stored answer)."""
    content = (
        await ctx.visma.get_background_content(request_id) if state.has_response_content else None
    )
    if isinstance(content, dict):
        for key, value in content.items():
            if key.lower() in ("message", "exceptionmessage") and value:
                return str(value)
    if isinstance(content, str) and content.strip():
        return content.strip()[:500]
    return state.error_message or f"HTTP {state.status_code}"
