"""The ERP's checks on what a document refers to: supplier, account, segments, project, VAT,
currency and financial period. Each failure is a 400 ``{"message": "VismaId: …"}`` whose text
names the offending value (the wording is the sandbox's own; Visma's exact texts vary).

Rules (reference §9, §11 and the ERP's documented semantics):
- suppliers with status ``Inactive`` or ``OnHold`` take no new documents (``HoldPayments`` and
  ``OneTime`` do);
- accounts must exist and be active;
- segment values must exist in a validated segment, be active and fit the segment's length;
  omitted segments take the segment's first value (the sandbox's stand-in for the ERP default);
- projects must exist and be ``Active`` and be visible in the module (AP or PO; the sandbox
  shows every project in GL); the non-project ``X`` always passes;
- a line on a real project names one of its tasks (``projectTaskId`` on AP lines,
  ``projectTask`` on PO lines), which must be ``Active`` and visible in the module; a line
  without one is refused unless the company's ``require_project_task`` is off (the invented
  convenience). The non-project ``X`` takes no task;
- a VAT code with a "not valid after" date is refused on documents dated later;
- a document's financial period comes from ``financialPeriod`` (YYYYPP), else ``postPeriod``
  (PPYYYY), else the period table's period containing the document date; it must exist and be
  open in the ledger the document posts to (supplier ledger for AP documents, general ledger
  for journal transactions).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal, Protocol

from ml_connector.sandbox.visma.responses import ApiError
from ml_connector.sandbox.visma.state import Account, CompanyState, Project, Supplier

__all__ = [
    "BLOCKED_SUPPLIER_STATUSES",
    "check_account",
    "check_currency",
    "check_period_open",
    "check_project",
    "check_project_tasks",
    "check_segments",
    "check_supplier",
    "check_vat",
    "check_vat_dates",
    "period_of_date",
    "resolve_period",
]

BLOCKED_SUPPLIER_STATUSES = frozenset({"Inactive", "OnHold"})
Module = Literal["AP", "PO", "GL"]
_MODULE_NAMES = {"AP": "Supplier ledger", "PO": "Purchase orders", "GL": "General ledger"}


def check_supplier(company: CompanyState, number: str | None) -> Supplier:
    if not number:
        raise ApiError.bad_request("Error: 'Supplier' cannot be empty.")
    supplier = company.suppliers.get(number)
    if supplier is None:
        raise ApiError.bad_request(f"Error: Supplier '{number}' cannot be found in the system.")
    if supplier.status in BLOCKED_SUPPLIER_STATUSES:
        raise ApiError.bad_request(
            f"Error: Supplier '{number}' has status {supplier.status}; "
            "no documents can be entered for it."
        )
    return supplier


def check_account(company: CompanyState, number: str | None, where: str) -> Account:
    if not number:
        raise ApiError.bad_request(f"Error: {where}: 'Account' cannot be empty.")
    account = company.accounts.get(number)
    if account is None:
        raise ApiError.bad_request(
            f"Error: {where}: Account '{number}' cannot be found in the system."
        )
    if not account.active:
        raise ApiError.bad_request(f"Error: {where}: Account '{number}' is inactive.")
    return account


def check_segments(
    company: CompanyState, given: list[dict[str, object]] | None, where: str
) -> dict[int, str]:
    """The full segment combination for a line, every value checked."""
    chosen: dict[int, str] = {}
    for row in given or []:
        segment_id = row.get("segmentId")
        value = row.get("segmentValue")
        if not isinstance(segment_id, int) or not isinstance(value, str):
            raise ApiError.bad_request(
                f"Error: {where}: subaccount segments need segmentId and segmentValue."
            )
        segment = company.segments.get(segment_id)
        if segment is None:
            raise ApiError.bad_request(
                f"Error: {where}: Segment {segment_id} does not exist in dimension SUBACCOUNT."
            )
        if len(value) > segment.length:
            raise ApiError.bad_request(
                f"Error: {where}: Value '{value}' is longer than segment {segment_id} "
                f"({segment.description}) allows ({segment.length})."
            )
        if segment.validate:
            known = segment.values.get(value)
            if known is None:
                raise ApiError.bad_request(
                    f"Error: {where}: Segment value '{value}' of segment {segment_id} "
                    f"({segment.description}) cannot be found in the system."
                )
            if not known.active:
                raise ApiError.bad_request(
                    f"Error: {where}: Segment value '{value}' of segment {segment_id} "
                    f"({segment.description}) is inactive."
                )
        chosen[segment_id] = value
    for segment_id, segment in company.segments.items():
        if segment_id not in chosen and segment.values:
            chosen[segment_id] = next(iter(segment.values))
    return chosen


def check_project(
    company: CompanyState, project_id: str | None, where: str, module: Module
) -> Project | None:
    if not project_id:
        return None
    project = company.projects.get(project_id)
    if project is None:
        raise ApiError.bad_request(
            f"Error: {where}: Project '{project_id}' cannot be found in the system."
        )
    if project.non_project:
        return project
    if project.status != "Active":
        raise ApiError.bad_request(
            f"Error: {where}: Project '{project_id}' has status {project.status}; "
            "only active projects take transactions."
        )
    if not _visible(project.visible_in_ap, project.visible_in_po, module):
        raise ApiError.bad_request(
            f"Error: {where}: Project '{project_id}' is not visible in {_MODULE_NAMES[module]}."
        )
    return project


def _visible(in_ap: bool, in_po: bool, module: Module) -> bool:
    """Visible in ``module``: the sandbox keeps AP and PO visibility; GL always shows."""
    return {"AP": in_ap, "PO": in_po, "GL": True}[module]


class _ProjectLine(Protocol):
    line_number: int
    project: str | None
    project_task: str | None


def _task_message(company: CompanyState, line: _ProjectLine, module: Module) -> str | None:
    """Why Visma refuses the line's task, or None when it is fine."""
    project = company.projects.get(line.project or "")
    task_id = line.project_task
    if project is None or project.non_project:
        return f"Project task '{task_id}' cannot be used without a project." if task_id else None
    if not task_id:
        return "'Project Task' cannot be empty." if company.require_project_task else None
    task = project.tasks.get(task_id)
    if task is None:
        return f"Project task '{task_id}' cannot be found in project '{project.project_id}'."
    if task.status != "Active":
        return (
            f"Project task '{task_id}' of project '{project.project_id}' has status {task.status}."
        )
    if not _visible(task.visible_in_ap, task.visible_in_po, module):
        return (
            f"Project task '{task_id}' of project '{project.project_id}' is not visible in "
            f"{_MODULE_NAMES[module]}."
        )
    return None


def check_project_tasks(
    company: CompanyState, lines: Iterable[_ProjectLine], module: Module
) -> None:
    """Every project line names a usable task of its project (run once the lines are set)."""
    for line in lines:
        message = _task_message(company, line, module)
        if message is not None:
            raise ApiError.bad_request(f"Error: Line {line.line_number}: {message}")


class _VatLine(Protocol):
    line_number: int
    vat_code: str | None


def check_vat_dates(company: CompanyState, lines: Iterable[_VatLine], on: datetime) -> None:
    """No line uses a VAT code past its "not valid after" date."""
    for line in lines:
        vat = company.vat_codes.get(line.vat_code or "")
        if vat is not None and vat.not_valid_after is not None and on.date() > vat.not_valid_after:
            raise ApiError.bad_request(
                f"Error: Line {line.line_number}: TaxID '{vat.vat_id}' is not valid after "
                f"{vat.not_valid_after.isoformat()}."
            )


def check_vat(company: CompanyState, vat_id: str | None, where: str) -> None:
    if vat_id is not None and vat_id not in company.vat_codes:
        raise ApiError.bad_request(
            f"Error: {where}: TaxID '{vat_id}' cannot be found in the system."
        )


def check_currency(company: CompanyState, currency: str | None) -> str:
    chosen = currency or company.base_currency
    if chosen not in company.currencies:
        raise ApiError.bad_request(f"Error: Currency '{chosen}' cannot be found in the system.")
    return chosen


def resolve_period(
    company: CompanyState,
    financial_period: str | None,
    post_period: str | None,
    document_date: datetime,
) -> str:
    """The document's financial period as ``YYYYPP``.

    ``financialPeriod`` (YYYYPP) wins, then ``postPeriod`` (PPYYYY); otherwise the period
    table decides: the period whose start and end dates contain the document date.
    """
    if financial_period:
        if len(financial_period) != 6 or not financial_period.isdigit():
            raise ApiError.bad_request(
                f"Error: financialPeriod '{financial_period}' is not in the format YYYYMM."
            )
        return financial_period
    if post_period:
        if len(post_period) != 6 or not post_period.isdigit():
            raise ApiError.bad_request(
                f"Error: postPeriod '{post_period}' is not in the format MMYYYY."
            )
        return post_period[2:] + post_period[:2]
    return period_of_date(company, document_date)


def period_of_date(company: CompanyState, day: datetime) -> str:
    """The id of the period containing ``day``; 400 when the period table has none."""
    period = company.period_at(day.date())
    if period is None:
        raise ApiError.bad_request(
            f"Error: No financial period is defined for the date {day.date().isoformat()}."
        )
    return period.period_id


def check_period_open(
    company: CompanyState, period_id: str, ledger: Literal["AP", "GL"] = "AP"
) -> None:
    """The period exists, is active, and is open in the ledger the document posts to."""
    shown = f"{period_id[4:]}-{period_id[:4]}"
    period = company.periods.get(period_id)
    if period is None or not period.active:
        raise ApiError.bad_request(f"Error: Financial period {shown} is not defined or not active.")
    if ledger == "AP" and period.closed_in_supplier_ledger:
        raise ApiError.bad_request(f"Error: Financial period {shown} is closed in Supplier ledger.")
    if ledger == "GL" and period.closed_in_general_ledger:
        raise ApiError.bad_request(f"Error: Financial period {shown} is closed in General ledger.")
