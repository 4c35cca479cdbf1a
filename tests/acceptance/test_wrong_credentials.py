"""Wrong credentials: ``ping`` and ``sync`` say which system refused what, and stop quickly.

Two connections point at the same sandbox processes: one with a wrong Ramp client secret, one
with a wrong Visma tenant. Each command's effect on the vendors is read from the sandboxes'
request journals, so "no retry storm" is a count of requests, not a timing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from acceptance.acceptance_kit import CliResult, CliWorkspace, SandboxPair

pytestmark = pytest.mark.slow

# A refused token request may be retried once after a refresh; more than this is a storm.
HANDFUL = 3
# A sync pass runs up to 8 bills at once; each may meet the refusal once before the connection
# pauses, so the token requests are bounded by the worker count, not by the number of bills.
SYNC_WORKERS = 8


@dataclass
class Operator:
    cli: CliWorkspace
    pair: SandboxPair


@pytest.fixture(scope="module")
def operator(sandboxes: SandboxPair, tmp_path_factory: pytest.TempPathFactory) -> Operator:
    """An operator workspace holding the two misconfigured connections."""
    cli = CliWorkspace(tmp_path_factory.mktemp("wrong-credentials"))
    for result in (
        cli.add_connection("bad-ramp", sandboxes, ramp_secret="not-the-ramp-secret-0000"),
        cli.add_connection("bad-tenant", sandboxes, tenant_id="00000000-0000-4000-8000-0000dead"),
    ):
        assert result.returncode == 0, result.describe()
    return Operator(cli, sandboxes)


def _ping_lines(result: CliResult) -> dict[str, str]:
    """``{"ramp": "...", "visma": "..."}``: each system's line of ``ping`` output."""
    lines: dict[str, str] = {}
    for raw in result.stdout.splitlines():
        match = re.match(r"\s*(ramp|visma):\s*(.*)", raw)
        if match:
            lines[match.group(1)] = match.group(2)
    return lines


def _token_calls(pair: SandboxPair, mark: tuple[int, int]) -> tuple[list[str], list[str]]:
    """Requests each sandbox saw after ``mark``, as "METHOD path status"."""
    ramp = [
        f"{e['method']} {e['path']} {e['status']}" for e in pair.journal(pair.ramp, after=mark[0])
    ]
    visma = [
        f"{e['method']} {e['path']} {e['status']}" for e in pair.journal(pair.visma, after=mark[1])
    ]
    return ramp, visma


def _mark(pair: SandboxPair) -> tuple[int, int]:
    return pair.journal_mark(pair.ramp), pair.journal_mark(pair.visma)


def test_ping_names_a_wrong_ramp_secret(operator: Operator) -> None:
    """``ping`` exits 1, blames Ramp's client id/secret, passes Visma, and asks Ramp once."""
    mark = _mark(operator.pair)
    result = operator.cli.run("ping", "bad-ramp")
    assert result.returncode == 1, result.describe()

    lines = _ping_lines(result)
    assert lines["ramp"].startswith("FAILED"), result.describe()
    assert "client id or secret" in lines["ramp"].lower()
    assert "tenant" not in lines["ramp"].lower()
    assert lines["visma"].startswith("ok"), result.describe()
    assert "Traceback" not in result.output

    ramp_calls, _ = _token_calls(operator.pair, mark)
    assert ramp_calls, "ping never asked Ramp"
    assert all(call.startswith("POST /developer/v1/token 401") for call in ramp_calls)
    assert len(ramp_calls) <= HANDFUL, ramp_calls


def test_ping_names_a_wrong_visma_tenant(operator: Operator) -> None:
    """``ping`` exits 1, blames the Visma tenant id, passes Ramp, and asks Visma once."""
    mark = _mark(operator.pair)
    result = operator.cli.run("ping", "bad-tenant")
    assert result.returncode == 1, result.describe()

    lines = _ping_lines(result)
    assert lines["visma"].startswith("FAILED"), result.describe()
    assert "tenant" in lines["visma"].lower()
    assert "00000000-0000-4000-8000-0000dead" in lines["visma"]
    assert "client id or secret" not in lines["visma"].lower()
    assert lines["ramp"].startswith("ok"), result.describe()

    _, visma_calls = _token_calls(operator.pair, mark)
    assert visma_calls, "ping never asked Visma"
    assert all(call.startswith("POST /connect/token 400") for call in visma_calls)
    assert len(visma_calls) <= HANDFUL, visma_calls


def test_sync_with_a_wrong_ramp_secret_fails_fast(operator: Operator) -> None:
    """``sync --once`` exits 1 with Ramp's reason after a handful of token requests."""
    mark = _mark(operator.pair)
    invoices_before = len(operator.pair.visma_state()["invoices"])
    result = operator.cli.run("sync", "bad-ramp", "--once", "--json")
    assert result.returncode == 1, result.describe()
    assert "client id or secret" in result.stderr.lower()
    assert "Traceback" not in result.output

    ramp_calls, visma_calls = _token_calls(operator.pair, mark)
    assert ramp_calls
    assert all(call.startswith("POST /developer/v1/token 401") for call in ramp_calls)
    assert len(ramp_calls) <= HANDFUL, ramp_calls
    assert not any("supplierinvoice" in call.lower() for call in visma_calls)
    assert len(operator.pair.visma_state()["invoices"]) == invoices_before


def test_sync_with_a_wrong_visma_tenant_pauses_the_connection(operator: Operator) -> None:
    """``sync --once`` exits 1, pauses the connection and writes nothing to Visma."""
    mark = _mark(operator.pair)
    result = operator.cli.run("sync", "bad-tenant", "--once", "--json")
    assert result.returncode == 1, result.describe()
    assert "tenant" in result.stderr.lower()
    assert "paused" in result.stderr.lower()

    _, visma_calls = _token_calls(operator.pair, mark)
    assert visma_calls
    assert all(call.startswith("POST /connect/token 400") for call in visma_calls), visma_calls
    assert len(visma_calls) <= SYNC_WORKERS, visma_calls
    assert operator.pair.visma_state()["invoices"] == []

    status = operator.cli.run("status", "bad-tenant", "--json")
    assert status.returncode == 0, status.describe()
    assert status.json()["connection_status"] == "paused"
    assert "tenant" in status.json()["health_message"].lower()

    again = operator.cli.run("sync", "bad-tenant", "--once", "--json")
    assert again.returncode == 1, again.describe()
    assert "paused" in again.stderr.lower()
    _, later_calls = _token_calls(operator.pair, mark)
    assert later_calls == visma_calls, "a paused connection still called Visma"
