"""Build a company's starting state from a seed ``Dataset``.

What the Visma side of a dataset becomes:
- accounts (with their default VAT id, shown as ``taxCategory``), VAT codes with rates, financial
  periods (renumbered into the company's financial year) with the supplier- and general-ledger
  closed flags,
  currencies (the base currency always included);
- the SUBACCOUNT dimension: segment 1 = cost centre, segment 2 = department, each with values;
- projects with their tasks, plus the non-project ``X`` (no tasks) when the dataset lacks it
  (Visma always has it);
- existing suppliers; auto-numbering of new suppliers continues after the highest numeric one;
- supplier classes, credit terms, VAT zones and the supplier numbering (auto or manual).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ml_connector.sandbox.seed import Dataset
from ml_connector.sandbox.visma.fiscal import FiscalCalendar
from ml_connector.sandbox.visma.state import (
    Account,
    CompanyState,
    Project,
    ProjectTask,
    Segment,
    SegmentValue,
    Supplier,
    VatCode,
)
from ml_connector.sandbox.visma.supplier_setup import setup_from_dataset

__all__ = ["NON_PROJECT_ID", "SUPPLIER_SERIES", "company_from_dataset"]

NON_PROJECT_ID = "X"
SUPPLIER_SERIES = "supplier"

_CURRENCY_NAMES = {
    "NOK": "Norwegian krone",
    "SEK": "Swedish krona",
    "DKK": "Danish krone",
    "EUR": "Euro",
    "USD": "US dollar",
    "GBP": "Pound sterling",
}


def company_from_dataset(
    dataset: Dataset,
    *,
    company_id: str,
    tenant_id: str,
    clock: Callable[[], float],
    require_project_task: bool = True,
    calendar: FiscalCalendar | None = None,
) -> CompanyState:
    """A fresh ``CompanyState`` holding the Visma half of ``dataset``.

    The dataset names its periods by calendar month (``YYYYMM``); ``calendar`` renumbers them
    into the company's financial year (a July year: the month 202507 becomes period 202501, or
    202601 when the year belongs to the next one), keeping each month's closed flag.
    """
    company = CompanyState(
        company_id=company_id,
        tenant_id=tenant_id,
        name=dataset.company_name,
        base_currency=dataset.base_currency,
        clock=clock,
        require_project_task=require_project_task,
        calendar=calendar or FiscalCalendar(),
    )
    company.supplier_setup = setup_from_dataset(dataset)
    for currency in (dataset.base_currency, *dataset.currencies):
        company.currencies[currency] = _CURRENCY_NAMES.get(currency, currency)
    _seed_chart(company, dataset)
    _seed_projects(company, dataset)
    _seed_periods(company, dataset)
    _seed_suppliers(company, dataset)
    return company


def _seed_chart(company: CompanyState, dataset: Dataset) -> None:
    """VAT codes, accounts, and the SUBACCOUNT segments with their values."""
    for seed_vat in dataset.vat_codes:
        vat = VatCode(
            seed_vat.vat_id, seed_vat.description, seed_vat.rate, seed_vat.not_valid_after
        )
        company.touch(vat)
        company.vat_codes[vat.vat_id] = vat
    for seed_account in dataset.accounts:
        account = Account(
            account_id=company.next_internal_id(),
            number=seed_account.number,
            description=seed_account.description,
            type=seed_account.type,
            active=seed_account.active,
            default_vat=seed_account.default_vat,
        )
        company.touch(account)
        company.accounts[account.number] = account
    for seed_segment in dataset.segments:
        segment = Segment(seed_segment.segment_id, seed_segment.description, seed_segment.length)
        for seed_value in seed_segment.values:
            value = SegmentValue(
                seed_segment.segment_id, seed_value.value, seed_value.description, seed_value.active
            )
            company.touch(value)
            segment.values[value.value] = value
        company.touch(segment)
        company.segments[segment.segment_id] = segment


def _seed_projects(company: CompanyState, dataset: Dataset) -> None:
    """Projects with their tasks, and the non-project code every company has."""
    for seed_project in dataset.projects:
        project = Project(
            internal_id=company.next_internal_id(),
            project_id=seed_project.project_id,
            description=seed_project.description,
            status=seed_project.status,
            visible_in_ap=seed_project.visible_in_ap,
            non_project=seed_project.project_id == NON_PROJECT_ID,
            tasks={
                task.task_id: ProjectTask(
                    task.task_id,
                    task.description,
                    task.status,
                    task.visible_in_ap,
                    task.visible_in_po,
                )
                for task in seed_project.tasks
            },
        )
        company.touch(project)
        company.projects[project.project_id] = project
    if NON_PROJECT_ID not in company.projects:
        project = Project(
            company.next_internal_id(),
            NON_PROJECT_ID,
            "Non-project code",
            "Active",
            non_project=True,
        )
        company.touch(project)
        company.projects[NON_PROJECT_ID] = project


def _seed_periods(company: CompanyState, dataset: Dataset) -> None:
    """The periods, renumbered into the company's financial year."""
    for seed_period in dataset.periods:
        month = date(int(seed_period.period_id[:4]), int(seed_period.period_id[4:]), 1)
        period = company.new_period(company.calendar.period_id_of(month))
        period.closed_in_supplier_ledger = seed_period.closed_in_supplier_ledger
        period.closed_in_general_ledger = seed_period.closed_in_general_ledger
        company.periods[period.period_id] = period


def _seed_suppliers(company: CompanyState, dataset: Dataset) -> None:
    """The existing suppliers; new numbers continue after the highest numeric one."""
    highest = 0
    for seed_supplier in dataset.suppliers:
        supplier = Supplier(
            internal_id=company.next_internal_id(),
            number=seed_supplier.number,
            name=seed_supplier.name,
            status=seed_supplier.status,
            currency_id=seed_supplier.currency,
            corporate_id=seed_supplier.corporate_id,
            vat_registration_id=seed_supplier.vat_registration_id,
            details={"mainAddress": {"countryId": seed_supplier.country}},
        )
        company.touch(supplier)
        company.suppliers[supplier.number] = supplier
        if supplier.number.isdigit():
            highest = max(highest, int(supplier.number))
    company.start_series(SUPPLIER_SERIES, highest or 50000)
