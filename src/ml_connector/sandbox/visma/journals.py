"""General-ledger batches (journal transactions): creating, changing, balancing and releasing.

Rules (reference §9.8; Visma's help "About general ledger batches" for GL301000):
- only the general ledger takes new batches (``module`` GL); all lines share the batch's
  currency, ledger and period. The period comes from ``financialPeriod`` (YYYYPP), else
  ``postPeriod`` (MMYYYY), else the period table's period containing ``transactionDate``; it
  must exist and be open **in the general ledger** (a period closed only in the supplier ledger
  still takes journals);
- each line is checked like a supplier invoice line: account (exists, active), subaccount
  segments (known, active, fitting; omitted segments take the segment's first value), project
  (exists, active) and its task (``projectTask``; required on a real project unless the company
  is lenient), VAT codes (``vatCodeId``/``vatId`` must exist and be valid on the date);
- **balance**: the debit total must equal the credit total (in the batch's currency), and a batch
  has at least two lines; otherwise it is refused, unless it is saved on hold (an out-of-balance
  batch "can be saved as On hold"). The refusal reads "Batch is out of balance, please review."
  (the sandbox's wording; Visma's exact text is not documented);
- a given ``controlTotalInCurrency`` must equal the debit total;
- currency: the company's base currency (rate 1), or another known currency with an
  ``exchangeRate`` (the sandbox has no currency rate table, so a foreign batch without a rate is
  refused). Base amounts are each line's amount times the rate, rounded half up to cents;
- status: ``Hold`` when ``hold`` is true, else ``Balanced``; only those can be changed (PUT).
  Release needs ``Balanced``, re-checks the balance and the period, and makes the batch
  ``Posted`` (``Unposted`` for a company that does not post on release). A released batch is
  never changed again;
- numbering: an omitted ``batchNumber`` takes the next of the batch series (``000001``, …); a
  given one must be free.
VAT codes on lines are validated and stored; the sandbox derives no VAT lines from them
(``createVatTransaction`` is stored, not simulated).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ml_connector.sandbox.visma.coding import (
    check_account,
    check_currency,
    check_period_open,
    check_project,
    check_project_tasks,
    check_segments,
    check_vat,
    check_vat_dates,
    resolve_period,
)
from ml_connector.sandbox.visma.journal_state import (
    EDITABLE_BATCH_STATUSES,
    JournalLine,
    JournalTransaction,
)
from ml_connector.sandbox.visma.line_ops import apply_line_operations
from ml_connector.sandbox.visma.responses import ApiError
from ml_connector.sandbox.visma.state import CompanyState
from ml_connector.sandbox.visma.wrappers import (
    OPERATIONS,
    SEGMENTS,
    Field,
    Plain,
    Rows,
    Wrapped,
)

__all__ = [
    "BATCH_SERIES",
    "JOURNAL_TRANSACTION_WRITE",
    "LEDGERS",
    "apply_journal_update",
    "create_journal",
    "release_journal",
]

BATCH_SERIES = "gl-batch"
LEDGERS = {"ACTUAL": "Actual ledger"}  # the company's posting ledger (id invented)
_CENT = Decimal("0.01")

JOURNAL_LINE_WRITE: Mapping[str, Field] = {
    "operation": Plain(enum=OPERATIONS),
    "lineNumber": Wrapped("int"),
    "accountNumber": Wrapped(),
    "subaccount": SEGMENTS,
    "project": Wrapped(),
    "projectTask": Wrapped(),
    "referenceNumber": Wrapped(),
    "transactionDescription": Wrapped(),
    "debitAmountInCurrency": Wrapped("dec"),
    "creditAmountInCurrency": Wrapped("dec"),
    "vatCodeId": Wrapped(),
    "vatId": Wrapped(),
    "branch": Wrapped(),
    "uom": Wrapped(),
    "quantity": Wrapped("dec"),
    "note": Wrapped(),
}

JOURNAL_TRANSACTION_WRITE: Mapping[str, Field] = {
    "batchNumber": Wrapped(),
    "hold": Wrapped("bool"),
    "transactionDate": Wrapped("datetime"),
    "postPeriod": Wrapped(),
    "financialPeriod": Wrapped(),
    "ledger": Wrapped(),
    "currencyId": Wrapped(),
    "exchangeRate": Wrapped("dec"),
    "autoReversing": Wrapped("bool"),
    "description": Wrapped(),
    "controlTotalInCurrency": Wrapped("dec"),
    "createVatTransaction": Wrapped("bool"),
    "skipVatAmountValidation": Wrapped("bool"),
    "transactionCode": Wrapped(),
    "branch": Wrapped(),
    "overrideNumberSeries": Wrapped("bool"),
    "journalTransactionLines": Rows(JOURNAL_LINE_WRITE),
}


def money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def create_journal(company: CompanyState, data: dict[str, Any]) -> JournalTransaction:
    """A validated new batch from an unwrapped ``JournalTransactionUpdateDto``; not stored."""
    today = company.now().replace(hour=0, minute=0, second=0, microsecond=0)
    moment: datetime = data.get("transactionDate") or today
    period = resolve_period(company, data.get("financialPeriod"), data.get("postPeriod"), moment)
    check_period_open(company, period, "GL")
    currency = check_currency(company, data.get("currencyId"))
    number = data.get("batchNumber")
    if number:
        if number in company.journals:
            raise ApiError.bad_request(f"Error: Batch number {number} already exists.")
    else:
        number = company.next_number(BATCH_SERIES, 6, lambda n: n in company.journals)
    batch = JournalTransaction(
        batch_number=number,
        financial_period=period,
        transaction_date=moment,
        currency_id=currency,
        exchange_rate=_rate(company, currency, data.get("exchangeRate"), moment),
        ledger=_ledger(data.get("ledger")),
        created=company.now(),
    )
    _apply_header(batch, data)
    _apply_lines(company, batch, batch.lines, data.get("journalTransactionLines") or [], True)
    _finish(company, batch, batch.lines)
    for line in batch.lines:
        company.subaccount_for(line.segments)
    return batch


def apply_journal_update(
    company: CompanyState, batch: JournalTransaction, data: dict[str, Any]
) -> None:
    """Apply a PUT body (validated first: a refused update changes nothing)."""
    if batch.status not in EDITABLE_BATCH_STATUSES:
        raise ApiError.bad_request(
            f"Error: Batch {batch.batch_number} has status {batch.status} and can no longer be "
            "changed."
        )
    moment = data.get("transactionDate") or batch.transaction_date
    period = batch.financial_period
    if {"transactionDate", "financialPeriod", "postPeriod"} & data.keys():
        period = resolve_period(
            company, data.get("financialPeriod"), data.get("postPeriod"), moment
        )
        check_period_open(company, period, "GL")
    currency = (
        check_currency(company, data["currencyId"]) if data.get("currencyId") else batch.currency_id
    )
    given_rate = data.get("exchangeRate")
    if given_rate is None and currency == batch.currency_id:
        given_rate = batch.exchange_rate
    trial = replace(
        batch,
        financial_period=period,
        transaction_date=moment,
        currency_id=currency,
        exchange_rate=_rate(company, currency, given_rate, moment),
        ledger=_ledger(data["ledger"]) if data.get("ledger") else batch.ledger,
        lines=[replace(line, segments=dict(line.segments)) for line in batch.lines],
    )
    _apply_header(trial, data)
    _apply_lines(company, trial, trial.lines, data.get("journalTransactionLines") or [], False)
    _finish(company, trial, trial.lines)
    for name in (
        "financial_period",
        "transaction_date",
        "currency_id",
        "exchange_rate",
        "ledger",
        "lines",
        "status",
        "hold",
        "description",
        "branch",
        "control_total",
        "auto_reversing",
        "create_vat_transaction",
        "skip_vat_amount_validation",
        "transaction_code",
    ):
        setattr(batch, name, getattr(trial, name))
    for line in batch.lines:
        company.subaccount_for(line.segments)


def release_journal(
    company: CompanyState, batch: JournalTransaction, *, post_on_release: bool = True
) -> None:
    """Release a balanced batch: ``Posted`` (or ``Unposted``); refusals are ``ApiError``."""
    if batch.status != "Balanced":
        raise ApiError.bad_request(
            f"Error: Batch {batch.batch_number} has status {batch.status} and cannot be released."
        )
    _check_balance(batch)
    check_period_open(company, batch.financial_period, "GL")
    batch.status = "Posted" if post_on_release else "Unposted"


def _rate(company: CompanyState, currency: str, given: Decimal | None, moment: datetime) -> Decimal:
    if currency == company.base_currency:
        if given is not None and given != 1:
            raise ApiError.bad_request(
                f"Error: The exchange rate of the base currency {currency} is 1, not {given}."
            )
        return Decimal(1)
    if given is None:
        raise ApiError.bad_request(
            f"Error: No exchange rate for {currency} to {company.base_currency} on "
            f"{moment.date().isoformat()}. Send exchangeRate with the batch."
        )
    if given <= 0:
        raise ApiError.bad_request(f"Error: The exchange rate must be positive, not {given}.")
    return given


def _ledger(ledger: str | None) -> str:
    chosen = ledger or "ACTUAL"
    if chosen not in LEDGERS:
        raise ApiError.bad_request(f"Error: Ledger '{chosen}' cannot be found in the system.")
    return chosen


def _apply_header(batch: JournalTransaction, data: dict[str, Any]) -> None:
    simple = {
        "description": "description",
        "branch": "branch",
        "controlTotalInCurrency": "control_total",
        "autoReversing": "auto_reversing",
        "createVatTransaction": "create_vat_transaction",
        "skipVatAmountValidation": "skip_vat_amount_validation",
        "transactionCode": "transaction_code",
    }
    for name, attribute in simple.items():
        if name in data and data[name] is not None:
            setattr(batch, attribute, data[name])
    if data.get("hold") is not None:
        batch.hold = bool(data["hold"])
    batch.status = "Hold" if batch.hold else "Balanced"


def _apply_lines(
    company: CompanyState,
    batch: JournalTransaction,
    lines: list[JournalLine],
    rows: list[dict[str, Any]],
    creating: bool,
) -> None:
    apply_line_operations(
        lines,
        rows,
        new_line=lambda number, _row: JournalLine(line_number=number),
        fill=lambda line, row, where, inserting: _fill_line(company, line, row, where, inserting),
        creating=creating,
    )


def _fill_line(
    company: CompanyState, line: JournalLine, row: dict[str, Any], where: str, inserting: bool
) -> None:
    if inserting or "accountNumber" in row:
        line.account = check_account(company, row.get("accountNumber"), where).number
    if inserting or "subaccount" in row:
        line.segments = check_segments(company, row.get("subaccount"), where)
    if "project" in row:
        check_project(company, row["project"], where, "GL")
        line.project = row["project"]
    for name in ("vatCodeId", "vatId"):
        if row.get(name) is not None:
            check_vat(company, row[name], where)
    simple = {
        "projectTask": "project_task",
        "referenceNumber": "reference_number",
        "transactionDescription": "description",
        "vatCodeId": "vat_code",
        "vatId": "vat_id",
        "branch": "branch",
        "uom": "uom",
        "quantity": "quantity",
        "note": "note",
    }
    for name, attribute in simple.items():
        if name in row:
            setattr(line, attribute, row[name])
    if row.get("debitAmountInCurrency") is not None:
        line.debit = money(row["debitAmountInCurrency"])
    if row.get("creditAmountInCurrency") is not None:
        line.credit = money(row["creditAmountInCurrency"])


def _finish(company: CompanyState, batch: JournalTransaction, lines: list[JournalLine]) -> None:
    """Checks that need every line, then the base amounts and the balance."""
    check_project_tasks(company, lines, "GL")
    check_vat_dates(company, _VatView.of(lines), batch.transaction_date)
    for line in lines:
        line.debit_base = money(line.debit * batch.exchange_rate)
        line.credit_base = money(line.credit * batch.exchange_rate)
    if not batch.hold:
        _check_balance(batch)
    debit = batch.totals()[0]
    if batch.control_total is not None and money(batch.control_total) != debit:
        raise ApiError.bad_request(
            f"Error: The control total {money(batch.control_total)} does not match the batch's "
            f"debit total {debit}."
        )


def _check_balance(batch: JournalTransaction) -> None:
    debit, credit, _, _ = batch.totals()
    if len(batch.lines) < 2:
        raise ApiError.bad_request(
            f"Error: Batch {batch.batch_number}: a general ledger batch must include at least "
            f"two transactions ({len(batch.lines)} given)."
        )
    if debit != credit:
        raise ApiError.bad_request(
            "Error: Batch is out of balance, please review. "
            f"Debit total {debit} {batch.currency_id}, credit total {credit} "
            f"{batch.currency_id}: they differ by {debit - credit}."
        )


class _VatView:
    """Journal lines as ``check_vat_dates`` reads them (a VAT code per line)."""

    def __init__(self, line_number: int, vat_code: str | None) -> None:
        self.line_number = line_number
        self.vat_code = vat_code

    @classmethod
    def of(cls, lines: list[JournalLine]) -> list[_VatView]:
        views = []
        for line in lines:
            for code in {line.vat_code, line.vat_id} - {None}:
                views.append(cls(line.line_number, code))
        return views
