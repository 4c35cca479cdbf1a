"""Structured logs of a worker run: JSON lines that name the record and connection, no secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from integration.observability.obs_kit import NAME, World
from ml_connector.log import CONTEXT_KEYS, REDACTOR, configure_logging
from ml_connector.runtime.sync import sync_once
from ml_connector.settings import Settings


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Logging configured as in service mode (JSON, DEBUG) into a buffer; restored afterwards."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging(Settings(log_level="DEBUG", log_json=True), stream=buffer)
    yield buffer
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def test_every_line_of_a_worker_run_names_its_record(
    world: World, captured: io.StringIO
) -> None:
    """Each line logged while records are worked carries the record id, connection, object
    type and id; each worked record has its own line; no connection secret appears."""
    summary = await sync_once(world.runtime, NAME)
    lines = _lines(captured)
    unit_lines = [line for line in lines if line["event"].startswith("record ")]
    assert len(unit_lines) == summary.visma_invoices_created + summary.needs_attention
    for line in unit_lines:
        assert all(key in line for key in CONTEXT_KEYS)
        assert line["connection"] == NAME
        assert isinstance(line["record_id"], int)
        assert line["object_type"] == "bill"
        assert line["object_id"]
    assert all(line.get("connection") == NAME for line in lines)
    attention = [line for line in unit_lines if line["event"] == "record needs attention"]
    assert {line["code"] for line in attention} == {"account_unknown", "period_closed"}
    text = captured.getvalue()
    for secret in world.secrets():
        assert secret not in text


def test_stdlib_lines_get_the_context_and_are_scrubbed(captured: io.StringIO) -> None:
    """A standard-library log line inside a bound block carries the context, secrets scrubbed."""
    from ml_connector.log import bound

    REDACTOR.add(["s3cr3t-value-for-test"])
    with bound(connection="acme", record_id=7, object_type="bill", object_id="b-7"):
        logging.getLogger("some.library").warning("token s3cr3t-value-for-test refused")
    (line,) = _lines(captured)
    assert line["connection"] == "acme"
    assert line["record_id"] == 7
    assert "s3cr3t-value-for-test" not in line["event"]
    assert line["level"] == "warning"
