"""Pre-flight checks: what Visma would reject, caught first, in finance language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ml_connector.errors import NeedsAttention
from ml_connector.mapping.coding import ResolvedLine
from ml_connector.mapping.master_data import (
    AccountInfo,
    MasterData,
    PeriodInfo,
    ProjectInfo,
    SegmentInfo,
    TaskInfo,
    VatInfo,
)
from ml_connector.mapping.periods import period_label
from ml_connector.mapping.preflight import check_invoice, check_lines

MASTER = MasterData(
    accounts={"6800": AccountInfo("Kontorrekvisita", True), "6590": AccountInfo("Annet", False)},
    segments={1: SegmentInfo("Kostnadssted", True, {"100": True, "950": False})},
    projects={
        "X": ProjectInfo("Active", True),
        "P1": ProjectInfo("Active", True),
        "P5": ProjectInfo("Completed", True),
        "P6": ProjectInfo("Active", False),
    },
    vat_codes=frozenset({"0", "1"}),
    periods={"202611": PeriodInfo(False), "202609": PeriodInfo(True)},
    currencies=frozenset({"NOK", "EUR"}),
)


def line(**changes: object) -> ResolvedLine:
    base: dict[str, object] = {
        "line_number": 1,
        "description": "x",
        "amount": Decimal("10.00"),
        "quantity": Decimal(1),
        "account": "6800",
        "subaccount": ((1, "100"),),
        "project": "X",
        "vat_code": "1",
    }
    base.update(changes)
    return ResolvedLine(**base)  # type: ignore[arg-type]


def check(*lines: ResolvedLine, period: str = "202611", currency: str = "NOK") -> None:
    check_invoice(financial_period=period, currency=currency, lines=list(lines), master=MASTER)


def test_clean_invoice_passes() -> None:
    """A fully valid document raises nothing."""
    check(line())


@pytest.mark.parametrize(
    ("kwargs", "code", "words"),
    [
        ({"period": "202609"}, "period_closed", "Period 09-2026 is closed in the supplier ledger"),
        ({"period": "202701"}, "period_missing", "01-2027 does not exist"),
        ({"currency": "SEK"}, "currency_disabled", "SEK is not enabled"),
    ],
)
def test_document_level_failures(kwargs: dict[str, str], code: str, words: str) -> None:
    """Closed or missing periods and disabled currencies stop the document with a hint."""
    with pytest.raises(NeedsAttention) as info:
        check(line(), **kwargs)
    assert info.value.code == code
    assert words in info.value.message
    assert info.value.hint


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"account": "6999"}, "account_unknown"),
        ({"account": "6590"}, "account_inactive"),
        ({"subaccount": ((1, "950"),)}, "segment_value_inactive"),
        ({"subaccount": ((1, "777"),)}, "segment_value_unknown"),
        ({"subaccount": ((3, "1"),)}, "segment_unknown"),
        ({"project": "P9"}, "project_unknown"),
        ({"project": "P5"}, "project_inactive"),
        ({"project": "P6"}, "project_not_in_ap"),
        ({"vat_code": "99"}, "vat_unknown"),
    ],
)
def test_line_level_failures(changes: dict[str, object], code: str) -> None:
    """Each invalid line value is named, with the line number, before any call."""
    with pytest.raises(NeedsAttention) as info:
        check(line(), line(line_number=2, **changes))
    assert info.value.code == code
    assert info.value.message.startswith("Line 2")


def test_period_label_reads_like_visma() -> None:
    """Periods print as MM-YYYY, the way Visma shows them."""
    assert period_label("202611") == "11-2026"


# --- every coded value, named ------------------------------------------------------------------

FULL = MasterData(
    accounts={"6800": AccountInfo("Kontorrekvisita", True), "6590": AccountInfo("Annet", False)},
    segments={
        1: SegmentInfo(
            "Kostnadssted",
            True,
            {"100": True, "410": False},
            {"100": "Oslo", "410": "Marketing Oslo"},
        ),
        # a segment that does not validate its values: free values pass, inactive ones do not
        2: SegmentInfo("Avdeling", False, {"10": True, "90": False}, {"90": "Nedlagt"}),
    },
    projects={
        "X": ProjectInfo("Active", True, "Ikke prosjekt"),
        "P1": ProjectInfo(
            "Active",
            True,
            "Equinor",
            {
                "01": TaskInfo("Rådgivning"),
                "02": TaskInfo("Rapport", status="Completed"),
                "03": TaskInfo("Intern", visible_in_ap=False),
            },
        ),
        "P5": ProjectInfo("Completed", True, "Telia"),
        "P6": ProjectInfo("Active", False, "Intern kompetanse"),
    },
    vat_codes=frozenset({"0", "1", "7"}),
    vat_details={"7": VatInfo("Gammel sats", date(2026, 10, 31)), "1": VatInfo("Høy sats")},
    periods={"202611": PeriodInfo(False)},
    currencies=frozenset({"NOK"}),
)


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({}, None, ""),
        ({"subaccount": ((1, "100"), (2, "55"))}, None, ""),  # free value, unvalidated segment
        ({"project": "P1", "project_task": "01"}, None, ""),
        ({"vat_code": "7"}, None, ""),  # valid until after the document date below
        ({"account": "6999"}, "account_unknown", "GL account 6999 does not exist"),
        ({"account": "6590"}, "account_inactive", "GL account 6590 (Annet) is inactive"),
        (
            {"subaccount": ((1, "410"),)},
            "segment_value_inactive",
            "Kostnadssted 410 (Marketing Oslo) is inactive in Visma",
        ),
        (
            {"subaccount": ((2, "90"),)},
            "segment_value_inactive",
            "Avdeling 90 (Nedlagt) is inactive in Visma",
        ),
        ({"subaccount": ((1, "777"),)}, "segment_value_unknown", "Kostnadssted 777 does not"),
        ({"project": "P9"}, "project_unknown", "project P9 does not exist"),
        ({"project": "P5"}, "project_inactive", "project P5 (Telia) is Completed"),
        ({"project": "P6"}, "project_not_in_ap", "P6 (Intern kompetanse) is not visible"),
        ({"project": "P1"}, "project_task_missing", "project P1 (Equinor) needs a project task"),
        (
            {"project": "P1", "project_task": "09"},
            "project_task_unknown",
            "project task 09 does not exist on project P1 (Equinor) in Visma (usable tasks: 01)",
        ),
        (
            {"project": "P1", "project_task": "02"},
            "project_task_inactive",
            "project task 02 (Rapport) of project P1 is Completed",
        ),
        (
            {"project": "P1", "project_task": "03"},
            "project_task_not_visible",
            "project task 03 (Intern) of project P1 is not visible in the supplier ledger",
        ),
        (
            {"project": "X", "project_task": "01"},
            "project_task_without_project",
            "the line has no project (it is the non-project X)",
        ),
        ({"project": None, "project_task": "01"}, "project_task_without_project", "task 01"),
        ({"vat_code": "99"}, "vat_unknown", "VAT code 99 does not exist"),
    ],
)
def test_every_coded_value_is_checked_and_named(
    changes: dict[str, object], code: str | None, words: str
) -> None:
    """Account, each segment value, project, task and VAT code: the first unusable one stops
    the bill with the line, the value and its Visma name; usable coding passes."""
    lines = [line(), line(line_number=2, **changes)]
    if code is None:
        check_invoice(
            financial_period="202611",
            currency="NOK",
            lines=lines,
            master=FULL,
            document_date=date(2026, 10, 31),
        )
        return
    with pytest.raises(NeedsAttention) as info:
        check_invoice(
            financial_period="202611",
            currency="NOK",
            lines=lines,
            master=FULL,
            document_date=date(2026, 10, 31),
        )
    assert info.value.code == code
    assert info.value.message.startswith("Line 2: ")
    assert words in info.value.message
    assert info.value.hint


def test_a_vat_code_past_its_last_day_stops_the_bill() -> None:
    """Visma's "not valid after" date: a document dated later cannot use the code."""
    with pytest.raises(NeedsAttention) as info:
        check_lines([line(vat_code="7")], FULL, document_date=date(2026, 11, 1))
    assert info.value.code == "vat_expired"
    assert "VAT code 7 (Gammel sats) is not valid after 2026-10-31" in info.value.message
    check_lines([line(vat_code="7")], FULL)  # no document date: not judged
