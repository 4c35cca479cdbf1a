"""/v2/journaltransaction in the Visma sandbox: create, read, update, balance, validation,
periods, currency and release (listing and attachments: test_visma_journal_listing.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from integration.sandbox_visma.journal_kit import JOURNALS, Gl, jline, journal_body, message
from integration.sandbox_visma.visma_kit import (
    ManualClock,
    client_for,
    fetch_token,
    make_sandbox,
    release,
    send,
    w,
)
from ml_connector.sandbox.visma.behaviour import CompanyBehaviour


async def test_create_answers_201_with_location_and_reads_back(gl: Gl) -> None:
    """POST → 201 + Location + ETag; GET shows the lines, totals, period and status."""
    created = await gl.post(journal_body())
    assert created.status_code == 201
    assert created.content in (b"", b"{}")
    assert created.headers["location"] == "http://visma.test/v2/journaltransaction/000001"
    assert created.headers["etag"]
    batch = await gl.read("000001")
    assert batch["module"] == "ModuleGL"
    assert (batch["status"], batch["hold"]) == ("Balanced", False)
    assert (batch["financialPeriod"], batch["postPeriod"]) == ("202603", "032026")
    assert batch["debitTotalInCurrency"] == batch["creditTotalInCurrency"] == 1250.0
    assert batch["debitTotal"] == 1250.0
    assert batch["currencyId"] == "NOK"
    assert batch["exchangeRate"] == 1
    first, second = batch["journalTransactionLines"]
    assert (first["accountNumber"], first["debitAmountInCurrency"]) == ("6800", 1250.0)
    assert (second["accountNumber"], second["creditAmountInCurrency"]) == ("2400", 1250.0)
    assert first["referenceNumber"] == "ramp:tx:1"
    assert first["transactionDescription"] == "Card purchase"
    assert first["subaccount"]["subaccountNumber"] == "100-10"
    assert batch["attachments"] == []


async def test_out_of_balance_is_refused_unless_on_hold(gl: Gl) -> None:
    """Debits must equal credits; an unbalanced batch may only be saved on hold."""
    uneven = journal_body(jline("6800", debit="1000.00"), jline("2400", credit="999.99"))
    refused = await gl.post(uneven)
    assert refused.status_code == 400
    assert "Batch is out of balance, please review." in message(refused)
    assert "0.01" in message(refused)
    assert gl.sandbox.state.journals == {}
    held = await gl.post({**uneven, "hold": w(True)})
    assert held.status_code == 201
    number = held.headers["location"].rsplit("/", 1)[1]
    assert (await gl.read(number))["status"] == "Hold"
    release_hold = await gl.call("PUT", f"{JOURNALS}/{number}", {"hold": w(False)})
    assert release_hold.status_code == 400  # still out of balance
    fixed = await gl.call(
        "PUT",
        f"{JOURNALS}/{number}",
        {
            "hold": w(False),
            "journalTransactionLines": [
                {
                    "operation": "Update",
                    "lineNumber": w(2),
                    "creditAmountInCurrency": w(Decimal("1000")),
                }
            ],
        },
    )
    assert fixed.status_code == 204, fixed.text
    assert (await gl.read(number))["status"] == "Balanced"


async def test_a_batch_needs_two_lines(gl: Gl) -> None:
    """A general ledger batch must include at least two transactions."""
    refused = await gl.post(journal_body(jline("6800", debit="0", credit="0")))
    assert refused.status_code == 400
    assert "at least two" in message(refused)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (jline("9999", debit="10"), "Account '9999' cannot be found"),
        (jline("7999", debit="10"), "Account '7999' is inactive"),
        (jline("6800", debit="10", segments=((1, "900"),)), "is inactive"),
        (jline("6800", debit="10", segments=((1, "555"),)), "cannot be found"),
        (jline("6800", debit="10", project=w("P100")), "'Project Task' cannot be empty"),
        (jline("6800", debit="10", project=w("P100"), projectTask=w("02")), "status Completed"),
        (jline("6800", debit="10", project=w("P300"), projectTask=w("01")), "status Completed"),
        (jline("6800", debit="10", vatCodeId=w("77")), "TaxID '77' cannot be found"),
        (jline("6800", debit="10", vatCodeId=w("8")), "not valid after 2026-03-05"),
    ],
)
async def test_lines_are_validated_like_invoice_lines(
    gl: Gl, line: dict[str, Any], expected: str
) -> None:
    """Account, subaccount, project and task, and VAT code checks refuse the whole batch."""
    refused = await gl.post(journal_body(line, jline("2400", credit="10")))
    assert refused.status_code == 400
    assert expected in message(refused)
    assert gl.sandbox.state.journals == {}


async def test_project_line_with_its_task_and_vat_is_accepted(gl: Gl) -> None:
    """A line on an active project with an active task, and a valid VAT code, posts."""
    number = await gl.create(
        journal_body(
            jline("6800", debit="500", project=w("P100"), projectTask=w("01"), vatCodeId=w("1")),
            jline("2400", credit="500"),
        )
    )
    line = (await gl.read(number))["journalTransactionLines"][0]
    assert line["project"]["id"] == "P100"
    assert line["projectTask"] == {"id": "01", "description": "Implementering"}
    assert line["vatCode"]["id"] == "1"


async def test_periods_come_from_the_general_ledger(gl: Gl) -> None:
    """A period closed only in AP takes journals; closed in GL, or missing, it refuses them."""
    february = journal_body(transactionDate=w("2026-02-10T00:00:00"), financialPeriod=w("202602"))
    assert (await gl.post(february)).status_code == 201  # closed in AP only
    gl.sandbox.set_period_closed("202602", True, ledger="GL")
    closed = await gl.post(february)
    assert closed.status_code == 400
    assert "closed in General ledger" in message(closed)
    by_date = {k: v for k, v in journal_body().items() if k != "financialPeriod"}
    found = await gl.create({**by_date, "transactionDate": w("2026-04-02T00:00:00")})
    assert (await gl.read(found))["financialPeriod"] == "202604"
    missing = await gl.post({**by_date, "transactionDate": w("2031-01-01T00:00:00")})
    assert missing.status_code == 400
    control = await gl.http.put("/_sandbox/periods/202605", json={"closed": True, "ledger": "GL"})
    assert control.json()["ledger"] == "GL"
    assert gl.sandbox.state.periods["202605"].closed_in_general_ledger


async def test_foreign_currency_needs_a_rate_and_converts_exactly(gl: Gl) -> None:
    """EUR with exchangeRate: base amounts are amount x rate; no rate or a bad one is refused."""
    eur = journal_body(
        jline("6800", debit="49.99"),
        jline("2400", credit="49.99"),
        currencyId=w("EUR"),
        exchangeRate=w(Decimal("11.5712")),
    )
    number = await gl.create(eur)
    batch = await gl.read(number)
    assert batch["currencyId"] == "EUR"
    assert batch["debitTotalInCurrency"] == 49.99
    assert batch["debitTotal"] == 578.44  # 49.99 x 11.5712 = 578.444… → 578.44
    assert batch["journalTransactionLines"][1]["creditAmount"] == 578.44
    no_rate = await gl.post({k: v for k, v in eur.items() if k != "exchangeRate"})
    assert no_rate.status_code == 400
    assert "exchangeRate" in message(no_rate)
    base_rate = await gl.post(journal_body(exchangeRate=w(Decimal("2"))))
    assert base_rate.status_code == 400
    unknown = await gl.post(journal_body(currencyId=w("XYZ")))
    assert "Currency 'XYZ' cannot be found" in message(unknown)


async def test_control_total_must_match(gl: Gl) -> None:
    """A given controlTotalInCurrency must equal the debit total."""
    refused = await gl.post(journal_body(controlTotalInCurrency=w(Decimal("1000"))))
    assert refused.status_code == 400
    assert "control total" in message(refused)
    assert (
        await gl.post(journal_body(controlTotalInCurrency=w(Decimal("1250"))))
    ).status_code == 201


async def test_update_needs_a_fresh_etag_and_an_open_batch(gl: Gl) -> None:
    """PUT honours If-Match (412 on a stale one); a released batch is never changed."""
    number = await gl.create()
    read = await gl.call("GET", f"{JOURNALS}/{number}")
    etag = read.headers["etag"]
    changed = await gl.call(
        "PUT", f"{JOURNALS}/{number}", {"description": w("Edited")}, if_match=etag
    )
    assert changed.status_code == 204
    stale = await gl.call("PUT", f"{JOURNALS}/{number}", {"description": w("Again")}, if_match=etag)
    assert stale.status_code == 412
    state = await release(gl.http, f"{JOURNALS}/{number}/action/release", gl.token)
    assert (state["status"], state["statusCode"]) == ("Finished", 204)
    assert (await gl.read(number))["status"] == "Posted"
    frozen = await gl.call("PUT", f"{JOURNALS}/{number}", {"description": w("Late")})
    assert frozen.status_code == 400
    assert "Posted" in message(frozen)


async def test_release_refusals_run_in_the_background(gl: Gl) -> None:
    """Releasing a batch on hold answers 202; the background request ends with the 400."""
    number = await gl.create(journal_body(hold=w(True)))
    state = await release(gl.http, f"{JOURNALS}/{number}/action/release", gl.token)
    assert state["statusCode"] == 400
    assert "cannot be released" in state["content"]["message"]
    assert (await gl.read(number))["status"] == "Hold"


async def test_release_unposted_and_legacy_options() -> None:
    """post_on_release False leaves batches Unposted; release='legacy' answers actionResult."""
    behaviour = CompanyBehaviour(post_on_release=False, release="legacy", background_steps=0)
    sandbox = make_sandbox(ManualClock(), behaviour=behaviour)
    async with client_for(sandbox) as http:
        token = await fetch_token(http)
        created = await send(http, "POST", JOURNALS, token, journal_body())
        number = created.headers["location"].rsplit("/", 1)[1]
        answer = await send(http, "POST", f"{JOURNALS}/{number}/action/release", token)
        assert answer.status_code == 200
        assert answer.json()["actionResult"] == "Done"
        read = await send(http, "GET", f"{JOURNALS}/{number}", token)
        assert read.json()["status"] == "Unposted"
