"""Structured logging: JSON lines (structlog) with record context and secrets scrubbed.

``configure_logging`` is called once by the CLI (and by tests that capture lines). Every line,
whether emitted through structlog or the standard library (httpx, uvicorn, SQLAlchemy), passes
the same processors:

- ``merge_contextvars``: what :func:`bound` put in context for the current task. The worker
  binds ``connection``, ``record_id``, ``object_type`` and ``object_id`` around each unit of
  work, so every line a unit causes names the record and its connection.
- the scrubber, which uses the same ``Redactor`` as the audit trail, so a log line can never
  carry what the timeline may not.
- for console lines (``log_json`` off), :func:`ml_connector.terminal.neutralise` on every text
  value, so vendor text cannot send escape sequences to the terminal; JSON lines are escaped by
  the encoder.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog

from ml_connector.audit import Redactor
from ml_connector.settings import Settings
from ml_connector.terminal import neutralise

__all__ = ["CONTEXT_KEYS", "REDACTOR", "bound", "configure_logging"]

# Process-wide redactor for log lines; runtimes register connection secrets with it.
REDACTOR = Redactor()

# What the worker binds for each unit of work (see ``runtime.observe``).
CONTEXT_KEYS = ("connection", "record_id", "object_type", "object_id")


def _scrub(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return {key: REDACTOR.scrub(value) for key, value in event.items()}


def _for_terminal(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return {
        key: neutralise(value, keep_newlines=True) if isinstance(value, str) else value
        for key, value in event.items()
    }


@contextmanager
def bound(**context: Any) -> Iterator[None]:
    """Put ``context`` on every line logged inside the block (this task and its children)."""
    tokens = structlog.contextvars.bind_contextvars(**context)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr), as JSON or console lines."""
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    out = stream if stream is not None else sys.stderr
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    finish: list[Any] = [_scrub] if settings.log_json else [_scrub, _for_terminal]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            *finish,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # Standard-library records (httpx, uvicorn, …) get the same context, scrubbing and format.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            *finish,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_ml_connector", False):
            root.removeHandler(old)
    handler._ml_connector = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(max(level, logging.WARNING))
