"""A customer with history, run as an operator runs it: ``connection add`` binds what the
evidence settles and lists the rest; ``ping`` reports and writes nothing; a bill coded to the
undecided field waits with nothing written to Visma; ``mappings bind`` and a replay post it with
Ramp's coding. The sandboxes serve real HTTP on loopback ports; each command runs through the
Typer app with only environment variables, as in a shell.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner, Result

from ml_connector.cli import app
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.serve import start_server
from ml_connector.sandbox.visma import VismaSandbox
from support.customer_history import (
    BILL_BILL_LEVEL,
    BILL_CAMPAIGN,
    BILL_PLAIN,
    CAMPAIGN_FIELD,
    customer_history_dataset,
)


@dataclass
class Served:
    ramp: RampSandbox
    visma: VismaSandbox
    env: dict[str, str]
    urls: tuple[str, str]

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env, catch_exceptions=False)

    def add(self) -> Result:
        ramp_url, visma_url = self.urls
        return self.run(
            "connection",
            "add",
            "acme",
            "--ramp-client-id",
            "ramp-ch",
            "--ramp-client-secret",
            "ramp-ch-secret-1",
            "--visma-client-id",
            "visma-ch",
            "--visma-client-secret",
            "visma-ch-secret-2",
            "--visma-tenant-id",
            "tenant-ch",
            "--visma-company-id",
            "4711",
            "--ramp-base-url",
            ramp_url,
            "--visma-base-url",
            visma_url,
            "--visma-token-url",
            f"{visma_url}/connect/token",
            "--default-vat",
            "0",
        )

    def json(self, *args: str) -> Any:
        """A command's ``--json`` document."""
        return self.document(*args, "--json")

    def document(self, *args: str) -> Any:
        """The JSON a command prints (log lines, unconfigured here, may come first)."""
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line[:1] in ("{", "["))
        return json.loads("\n".join(lines[start:]))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """Both sandboxes playing the customer with history, over HTTP; an empty operator store."""
    dataset = customer_history_dataset()
    ramp = RampSandbox("ramp-ch", "ramp-ch-secret-1", dataset=dataset, rate_limit=10_000)
    visma = VismaSandbox("visma-ch", "visma-ch-secret-2", "tenant-ch", "4711", dataset=dataset)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers = [
        asyncio.run_coroutine_threadsafe(start_server(box.app), loop).result(30)
        for box in (ramp, visma)
    ]
    env = {
        "ML_CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        "ML_CONNECTOR_MASTER_KEY": Fernet.generate_key().decode(),
        "ML_CONNECTOR_LOG_JSON": "false",
        "COLUMNS": "300",
        "NO_COLOR": "1",
    }
    try:
        yield Served(ramp, visma, env, (servers[0].url, servers[1].url))
    finally:
        for server in servers:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _bindings(served: Served) -> dict[str, dict[str, Any]]:
    return {row["field"]: row for row in served.json("mappings", "fields", "acme")["fields"]}


def _visma_writes(served: Served) -> list[str]:
    return [
        f"{e.method} {e.path}"
        for e in served.visma.journal.entries()
        if e.method in ("POST", "PUT", "DELETE") and "token" not in e.path
    ]


def test_connection_add_binds_what_the_evidence_settles_and_lists_the_rest(served: Served) -> None:
    """Cost centre by type and values, department by values, project by type (by code), VAT by
    type, the GL category by type; the campaign field is undecided and named with its command."""
    added = served.add()
    assert added.exit_code == 0, added.output
    assert "Added connection acme" in added.stdout
    assert "1 undecided ('Kampanje' (dim_kampanje))" in added.stdout
    assert f"ml-connector mappings bind acme {CAMPAIGN_FIELD} --to" in added.stdout

    fields = _bindings(served)
    assert (fields["dim_kst"]["target"], fields["dim_kst"]["decided_by"]) == (
        "segment:1",
        "value overlap",
    )
    assert fields["dim_kst"]["types"] == ["COST_CENTER"]
    assert (fields["dim_avd"]["target"], fields["dim_avd"]["decided_by"]) == (
        "segment:2",
        "value overlap",
    )
    prosjekt = fields["dim_prosjekt"]
    assert (prosjekt["target"], prosjekt["decided_by"], prosjekt["via"]) == (
        "project",
        "category type",
        "code",
    )
    assert (fields["dim_mva"]["target"], fields["dim_mva"]["decided_by"]) == (
        "vat",
        "category type",
    )
    assert (fields["Category"]["target"], fields["Category"]["name"]) == ("account", "Konto")
    campaign = fields[CAMPAIGN_FIELD]
    assert (campaign["target"], campaign["binding"], campaign["stored"]) == (
        None,
        "undecided",
        True,
    )

    table = served.run("mappings", "fields", "acme")
    assert table.exit_code == 0, table.output
    assert "Kostnadssted" in table.stdout
    assert "undecided" in table.stdout


def test_ping_reports_bindings_and_never_writes_them(served: Served) -> None:
    """ping names the undecided field and what a pull would change; the stored version stays."""
    assert served.add().exit_code == 0
    before = served.json("mappings", "fields", "acme")["version"]
    served.ramp.create_bill(
        vendor_id=next(iter(served.ramp.state.vendors)),
        invoice_number="NEW-FIELD",
        lines=[
            {
                "amount_minor": 100_00,
                "memo": "x",
                "selections": {"Category": "6800", "dim_region": "R1"},
            }
        ],
    )
    checks = {c["system"]: c for c in served.json("ping", "acme")}
    assert checks["fields"]["ok"] is True
    assert "2 undecided" in checks["fields"]["detail"]
    assert "would change 1 binding" in checks["fields"]["detail"]
    assert "dim_region" in checks["fields"]["bindings"]["undecided"]
    after = served.json("mappings", "fields", "acme")
    assert after["version"] == before
    assert "dim_region" not in {row["field"] for row in after["fields"]}


def test_an_undecided_field_stops_only_its_bill_until_bound(served: Served) -> None:
    """The campaign bill needs attention naming the field, value and command, and Visma sees no
    write for it (no supplier, no invoice); after ``mappings bind`` a replay posts it with
    Ramp's cost centre, department, project and VAT code."""
    assert served.add().exit_code == 0
    synced = served.json("sync", "acme", "--once")
    assert synced["needs_attention"] == 1, synced
    assert synced["visma_invoices_created"] == 2, synced

    shown = served.document("records", "show", "acme", BILL_CAMPAIGN)
    assert shown["status"] == "needs_attention"
    assert shown["error_code"] == "unbound_field"
    assert "'Kampanje' (dim_kampanje)" in shown["error"]
    assert "'K12' (Vår 2025)" in shown["error"]
    assert f"mappings bind acme {CAMPAIGN_FIELD}" in shown["hint"]
    posted = [i for i in served.visma.invoices() if "CH-1002" in str(i.get("supplierReference"))]
    assert posted == []
    assert [w for w in _visma_writes(served) if w.endswith("/supplier")] == []  # none created

    plain = next(i for i in served.visma.invoices() if i.get("supplierReference") == "CH-1001")
    assert _coding(plain["invoiceLines"][0]) == ("6800", {1: "200", 2: "20"}, "P1001", "11")
    bill_level = next(i for i in served.visma.invoices() if i.get("supplierReference") == "CH-1003")
    account, segments, project, vat = _coding(bill_level["invoiceLines"][0])
    assert (account, segments[1], project, vat) == ("6900", "300", "P1003", "1")  # bill level

    writes_before = _visma_writes(served)
    bound = served.run("mappings", "bind", "acme", CAMPAIGN_FIELD, "--to", "ignore")
    assert bound.exit_code == 0, bound.output
    assert "Ramp field 'Kampanje' (dim_kampanje) is ignored from now on" in bound.stdout
    fields = _bindings(served)
    assert (fields[CAMPAIGN_FIELD]["decided_by"], fields[CAMPAIGN_FIELD]["author"]) == (
        "person",
        fields[CAMPAIGN_FIELD]["author"],
    )
    assert _visma_writes(served) == writes_before  # binding writes nothing to Visma

    replayed = served.run("replay", "acme", BILL_CAMPAIGN)
    assert replayed.exit_code == 0, replayed.output
    assert [w for w in _visma_writes(served) if w.endswith("/supplier")] == ["POST /v1/supplier"]
    invoice = next(i for i in served.visma.invoices() if i.get("supplierReference") == "CH-1002")
    assert _coding(invoice["invoiceLines"][0]) == ("6800", {1: "200", 2: "20"}, "P1001", "11")
    assert served.document("records", "show", "acme", BILL_PLAIN)["status"] == "succeeded"
    assert served.document("records", "show", "acme", BILL_BILL_LEVEL)["status"] == "succeeded"


def test_bind_refuses_a_segment_visma_lacks_and_a_bad_target(served: Served) -> None:
    """The refusal names what Visma has; nothing is saved."""
    assert served.add().exit_code == 0
    version = served.json("mappings", "fields", "acme")["version"]
    missing = served.run("mappings", "bind", "acme", CAMPAIGN_FIELD, "--to", "segment:7")
    assert missing.exit_code == 1
    assert "no segment 7" in missing.output
    assert "1 (Kostnadssted)" in missing.output
    bad = served.run("mappings", "bind", "acme", CAMPAIGN_FIELD, "--to", "cost centre")
    assert bad.exit_code == 1
    assert "segment:N, project, task, vat, account or ignore" in bad.output
    assert served.json("mappings", "fields", "acme")["version"] == version


def _coding(line: dict[str, Any]) -> tuple[str, dict[int, str], str | None, str | None]:
    segments = {
        int(s["segmentId"]): s["segmentValue"]
        for s in (line.get("subaccount") or {}).get("segments", [])
    }
    project = (line.get("project") or {}).get("id")
    vat = (line.get("vatCode") or {}).get("id")
    return line["account"]["number"], segments, project, vat
