"""Visma read models of the ledger's master data: accounts, subaccounts and dimensions,
projects and their tasks, VAT codes and financial periods."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from ml_connector.clients._visma_model import VismaDate, VismaModel

__all__ = [
    "Account",
    "AccountRef",
    "Dimension",
    "DimensionSegment",
    "FinancialPeriod",
    "Project",
    "ProjectTask",
    "ProjectVisibility",
    "SegmentValue",
    "Subaccount",
    "SubaccountSegment",
    "VatCode",
    "VatSchedule",
]


class AccountRef(VismaModel):
    number: str | None = None
    description: str | None = None
    type: str | None = None
    active: bool | None = None


class SubaccountSegment(VismaModel):
    segment_id: int
    segment_value: str | None = None
    segment_description: str | None = None
    segment_value_description: str | None = None


class Subaccount(VismaModel):
    """A subaccount (one value per SUBACCOUNT segment), as listed or as embedded in a line."""

    subaccount_number: str | None = None
    subaccount_id: int | None = None
    description: str | None = None
    active: bool | None = None
    segments: tuple[SubaccountSegment, ...] = ()
    last_modified_date_time: datetime | None = None


class Account(VismaModel):
    """A GL account; ``number`` is Visma's ``accountCD``."""

    account_id: int | None = Field(default=None, alias="accountID")
    number: str = Field(alias="accountCD")
    description: str | None = None
    type: str | None = None
    active: bool = True
    account_class: str | None = None
    account_group_cd: str | None = Field(default=None, alias="accountGroupCD")
    currency: str | None = None
    tax_category: str | None = None
    last_modified_date_time: datetime | None = None


class SegmentValue(VismaModel):
    value_id: str
    description: str | None = None
    active: bool = True
    segment_id: int | None = None
    last_modified: datetime | None = None


class DimensionSegment(VismaModel):
    segment_id: int
    description: str | None = None
    length: int | None = None
    validate_values: bool | None = Field(default=None, alias="validate")
    is_auto_number: bool | None = None
    segment_values: tuple[SegmentValue, ...] = ()


class Dimension(VismaModel):
    """A segmented key such as SUBACCOUNT, with its segments and their values."""

    id: str
    description: str | None = None
    length: int | None = None
    segments: tuple[DimensionSegment, ...] = ()

    def segment(self, segment_id: int) -> DimensionSegment | None:
        return next((s for s in self.segments if s.segment_id == segment_id), None)


class ProjectVisibility(VismaModel):
    visible_in_gl: bool | None = None
    visible_in_ap: bool | None = None
    visible_in_po: bool | None = None


def _visible(visibility: ProjectVisibility | None, module: str) -> bool:
    """Visma leaves a visibility flag out when it is on."""
    if visibility is None:
        return True
    flag = visibility.visible_in_ap if module == "AP" else visibility.visible_in_po
    return flag is not False


class ProjectTask(VismaModel):
    """A task of a project (``TaskDto``, embedded in ``ProjectDto.tasks``)."""

    task_id: str
    description: str | None = None
    status: str | None = None  # Planned | Active | Cancelled | Canceled | Completed
    visibility: ProjectVisibility | None = None

    @property
    def visible_in_ap(self) -> bool:
        return _visible(self.visibility, "AP")

    @property
    def visible_in_po(self) -> bool:
        return _visible(self.visibility, "PO")


class Project(VismaModel):
    internal_id: int | None = Field(default=None, alias="internalID")
    project_id: str = Field(alias="projectID")
    description: str | None = None
    status: str | None = None
    hold: bool | None = None
    visibility: ProjectVisibility | None = None
    tasks: tuple[ProjectTask, ...] = ()
    last_modified_date_time: datetime | None = None

    @property
    def visible_in_ap(self) -> bool:
        """Whether AP documents may use it; Visma leaves the flag out when it is on."""
        return _visible(self.visibility, "AP")

    @property
    def visible_in_po(self) -> bool:
        return _visible(self.visibility, "PO")


class VatSchedule(VismaModel):
    start_date: VismaDate | None = None
    vat_rate: Decimal | None = None


class VatCode(VismaModel):
    vat_id: str
    description: str | None = None
    type: str | None = None
    vat_category_id: str | None = None
    deductible_vat: bool | None = None
    reverse_vat: bool | None = None
    not_valid_after: VismaDate | None = None  # the last day the code may be used
    schedules: tuple[VatSchedule, ...] = ()

    @property
    def rate(self) -> Decimal | None:
        """The rate of the latest schedule, in percent."""
        dated = [s for s in self.schedules if s.vat_rate is not None]
        dated.sort(key=lambda s: s.start_date or date.min)
        return dated[-1].vat_rate if dated else None


class FinancialPeriod(VismaModel):
    """A row of the period table; ``period`` is ``YYYYPP`` (financial year, period number),
    which reads as a calendar month only when the financial year is the calendar year."""

    year: int | None = None
    period: str
    start_date: VismaDate | None = None
    end_date: VismaDate | None = None
    description: str | None = None
    active: bool | None = None
    closed_in_supplier_ledger: bool = False
    closed_in_general_ledger: bool = False
