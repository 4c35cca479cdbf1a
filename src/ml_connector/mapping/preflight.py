"""Pre-flight checks: catch what Visma would reject, before any call, in words finance reads.

``check_invoice`` runs against a ``MasterData`` snapshot (accounts, segment values, projects and
their tasks, VAT codes, periods, currencies) that the caller fetched and cached. Every failure is
a ``NeedsAttention`` carrying a message ("Period 09-2026 is closed in the supplier ledger") and a
hint ("Reopen the period in Visma, or change the bill's accounting date in Ramp"). The first
failure wins, in document order, so a message always points at one concrete thing to fix.

Every coded value of a line is checked, and named with its Visma description when it fails
("Line 2: Kostnadssted 410 (Marketing Oslo) is inactive in Visma"):

- the account exists and is active;
- each segment value is active, also in a segment that does not validate its values (Visma
  accepts a value it does not list there, but never one marked inactive); a validated segment
  must list the value;
- a real project exists, is Active or Planned, is visible in the supplier ledger, and the line
  names one of its tasks that is Active and visible in the supplier ledger; the non-project
  ``X`` takes no task;
- the VAT code exists and, when Visma gives it a "not valid after" date, is still valid on the
  document date.

``check_lines`` runs the line checks alone: the bills flow calls it before anything is written
(the supplier included), and ``check_invoice`` repeats it with the document-level checks.
"""

from __future__ import annotations

from datetime import date

from ml_connector.errors import MappingError, NeedsAttention
from ml_connector.mapping.coding import ResolvedLine
from ml_connector.mapping.master_data import MasterData, ProjectInfo
from ml_connector.mapping.periods import period_label
from ml_connector.mapping.table import NON_PROJECT

__all__ = ["check_invoice", "check_lines", "check_project_task"]


def _check_period(period_id: str, master: MasterData) -> None:
    period = master.periods.get(period_id)
    label = period_label(period_id)
    if period is None:
        raise NeedsAttention(
            f"Financial period {label} does not exist in Visma",
            hint="Create the period in Visma (General ledger > Financial periods), "
            "or change the bill's accounting date in Ramp.",
            code="period_missing",
        )
    if not period.active:
        raise NeedsAttention(
            f"Period {label} is not active in Visma",
            hint="Activate the period in Visma (General ledger > Financial periods), "
            "or change the bill's accounting date in Ramp.",
            code="period_inactive",
        )
    if period.closed_in_supplier_ledger:
        raise NeedsAttention(
            f"Period {label} is closed in the supplier ledger",
            hint="Reopen the period in Visma, or change the bill's accounting date in Ramp.",
            code="period_closed",
        )


def _check_account(where: str, number: str, master: MasterData) -> None:
    account = master.accounts.get(number)
    if account is None:
        raise MappingError(
            f"{where}: GL account {number} does not exist in Visma",
            hint=f"Code the line to an existing account in Ramp, or map {number} "
            "to a Visma account.",
            code="account_unknown",
        )
    if not account.active:
        raise MappingError(
            f"{where}: GL account {number} ({account.description}) is inactive in Visma",
            hint="Reactivate the account in Visma, or code the line to an active account in Ramp.",
            code="account_inactive",
        )


def _check_segment(where: str, segment_id: int, value: str, master: MasterData) -> None:
    segment = master.segments.get(segment_id)
    if segment is None:
        raise MappingError(
            f"{where}: subaccount segment {segment_id} does not exist in Visma",
            hint="Check the connection's segment mapping.",
            code="segment_unknown",
        )
    active = segment.values.get(value)
    if active is None and segment.validate:
        raise MappingError(
            f"{where}: {segment.description} {value} does not exist in Visma",
            hint=f"Add {value} to the {segment.description} segment in Visma, or recode "
            "the line in Ramp.",
            code="segment_value_unknown",
        )
    if active is False:  # inactive stops the line even where the segment does not validate
        raise MappingError(
            f"{where}: {segment.description} {segment.shown(value)} is inactive in Visma",
            hint=f"Reactivate {value} in Visma, or recode the line in Ramp.",
            code="segment_value_inactive",
        )


def _named(identifier: str, description: str) -> str:
    return (
        f"{identifier} ({description})" if description and description != identifier else identifier
    )


def _check_project(where: str, project_id: str, master: MasterData) -> ProjectInfo:
    project = master.projects.get(project_id)
    if project is None:
        raise MappingError(
            f"{where}: project {project_id} does not exist in Visma",
            hint="Code the line to an existing project in Ramp.",
            code="project_unknown",
        )
    shown = _named(project_id, project.description)
    if project.status not in ("Active", "Planned"):
        raise MappingError(
            f"{where}: project {shown} is {project.status} in Visma and cannot take new costs",
            hint="Reopen the project in Visma, or code the line to an active project.",
            code="project_inactive",
        )
    if not project.visible_in_ap:
        raise MappingError(
            f"{where}: project {shown} is not visible in the supplier ledger",
            hint="Tick 'Visible in AP' on the project in Visma, or choose another project.",
            code="project_not_in_ap",
        )
    return project


def check_project_task(
    where: str, project_id: str | None, task_id: str | None, master: MasterData, module: str = "AP"
) -> None:
    """The line's task belongs to its project and may be used in ``module`` (AP or PO).

    A real project needs a task; the non-project ``X`` (or no project) takes none.
    """
    if project_id is None or project_id == NON_PROJECT:
        if task_id is not None:
            raise MappingError(
                f"{where}: project task {task_id} is coded, but the line has no project"
                + (" (it is the non-project X)" if project_id == NON_PROJECT else ""),
                hint="Code the project the task belongs to in Ramp, or remove the task.",
                code="project_task_without_project",
            )
        return
    project = master.projects.get(project_id)
    if project is None:
        return  # reported as an unknown project by the project check
    shown = _named(project_id, project.description)
    if task_id is None:
        raise MappingError(
            f"{where}: project {shown} needs a project task, and the line names none",
            hint="Code the task in Ramp, or set one for the project in the mapping "
            f"(ml-connector mappings set NAME @project {project_id} task TASK).",
            code="project_task_missing",
        )
    task = project.tasks.get(task_id)
    if task is None:
        known = ", ".join(project.usable_tasks(module)) or "none"
        raise MappingError(
            f"{where}: project task {task_id} does not exist on project {shown} in Visma "
            f"(usable tasks: {known})",
            hint="Code one of the project's tasks in Ramp, or add the task in Visma.",
            code="project_task_unknown",
        )
    task_shown = _named(task_id, task.description)
    if task.status != "Active":
        raise MappingError(
            f"{where}: project task {task_shown} of project {project_id} is {task.status} in Visma",
            hint="Activate the task in Visma, or code the line to an active task.",
            code="project_task_inactive",
        )
    if not task.usable(module):
        ledger = "supplier ledger" if module == "AP" else "purchasing"
        raise MappingError(
            f"{where}: project task {task_shown} of project {project_id} is not visible in the "
            f"{ledger}",
            hint=f"Make the task visible in the {ledger} in Visma, or choose another task.",
            code="project_task_not_visible",
        )


def _check_vat(where: str, vat_code: str, master: MasterData, on: date | None) -> None:
    if master.vat_codes and vat_code not in master.vat_codes:
        raise MappingError(
            f"{where}: VAT code {vat_code} does not exist in Visma",
            hint="Map the account to a valid VAT code for this connection.",
            code="vat_unknown",
        )
    details = master.vat_details.get(vat_code)
    last = details.not_valid_after if details is not None else None
    if last is not None and on is not None and on > last:
        shown = _named(vat_code, details.description if details else "")
        raise MappingError(
            f"{where}: VAT code {shown} is not valid after {last.isoformat()} in Visma",
            hint="Code the line to a VAT code that is valid on the invoice date.",
            code="vat_expired",
        )


def _check_line(line: ResolvedLine, master: MasterData, on: date | None) -> None:
    where = f"Line {line.line_number}"
    _check_account(where, line.account, master)
    for segment_id, value in line.subaccount:
        _check_segment(where, segment_id, value, master)
    if line.project is not None and line.project != NON_PROJECT:
        _check_project(where, line.project, master)
    check_project_task(where, line.project, line.project_task, master)
    if line.vat_code is not None:
        _check_vat(where, line.vat_code, master, on)


def check_lines(
    lines: list[ResolvedLine], master: MasterData, *, document_date: date | None = None
) -> None:
    """Raise for the first line value Visma would reject; ``document_date`` dates VAT codes."""
    for line in lines:
        _check_line(line, master, document_date)


def check_invoice(
    *,
    financial_period: str,
    currency: str,
    lines: list[ResolvedLine],
    master: MasterData,
    supplier: str | None = None,
    document_date: date | None = None,
) -> None:
    """Raise NeedsAttention for the first thing Visma would reject; return None when clean."""
    blocked = master.blocked_suppliers.get(supplier) if supplier else None
    if blocked is not None:
        raise NeedsAttention(
            f"Supplier {supplier} is {blocked} in Visma",
            hint="Activate the supplier in Visma, then retry the bill.",
            code="supplier_blocked",
        )
    _check_period(financial_period, master)
    if master.currencies is not None and currency not in master.currencies:
        raise NeedsAttention(
            f"Currency {currency} is not enabled in Visma",
            hint=f"Enable {currency} in Visma (Currency management), then retry.",
            code="currency_disabled",
        )
    check_lines(lines, master, document_date=document_date)
