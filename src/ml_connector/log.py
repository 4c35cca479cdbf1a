"""Structured logging: JSON lines (structlog) with secrets scrubbed from every event.

``configure_logging`` is called once by the CLI. The scrubbing processor uses the same
``Redactor`` as the audit trail, so a log line can never carry what the timeline may not.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from ml_connector.audit import Redactor
from ml_connector.settings import Settings

__all__ = ["REDACTOR", "configure_logging"]

# Process-wide redactor for log lines; runtimes register connection secrets with it.
REDACTOR = Redactor()


def _scrub(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return {key: REDACTOR.scrub(value) for key, value in event.items()}


def configure_logging(settings: Settings) -> None:
    """Route stdlib and structlog logging to stderr, as JSON (or console) lines."""
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=max(level, logging.WARNING), stream=sys.stderr)
