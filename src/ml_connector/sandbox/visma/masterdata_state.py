"""The stored master data of a simulated Visma.net company: accounts, SUBACCOUNT segments and
their values, subaccounts, projects and tasks, VAT codes, financial periods and suppliers.

Records are mutable dataclasses, changed under ``CompanyState.lock`` through
``CompanyState.touch`` (``state.py``), which bumps ``version`` and ``last_modified``.
"""

from __future__ import annotations

import uuid
from dataclasses import InitVar, dataclass, field
from datetime import date, datetime
from decimal import Decimal

from ml_connector.sandbox.visma.fiscal import FiscalCalendar

__all__ = [
    "Account",
    "Period",
    "Project",
    "ProjectTask",
    "Segment",
    "SegmentValue",
    "Subaccount",
    "Supplier",
    "VatCode",
]


@dataclass
class Account:
    account_id: int
    number: str
    description: str
    type: str
    active: bool
    default_vat: str | None
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class SegmentValue:
    segment_id: int
    value: str
    description: str
    active: bool
    internal_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    public_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class Segment:
    """One segment of the SUBACCOUNT dimension; ``values`` keyed by value id, in seed order."""

    segment_id: int
    description: str
    length: int
    values: dict[str, SegmentValue] = field(default_factory=dict)
    validate: bool = True
    internal_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    public_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class Subaccount:
    """A combination of segment values; created the first time a document uses it."""

    subaccount_id: int
    segments: dict[int, str]
    active: bool = True
    version: int = 0
    last_modified: datetime = datetime.min

    @property
    def number(self) -> str:
        return "-".join(self.segments[key] for key in sorted(self.segments))


@dataclass
class ProjectTask:
    """A task of a project; ``status`` Planned | Active | Cancelled | Completed."""

    task_id: str
    description: str
    status: str = "Active"
    visible_in_ap: bool = True
    visible_in_po: bool = True


@dataclass
class Project:
    internal_id: int
    project_id: str
    description: str
    status: str
    visible_in_ap: bool = True
    visible_in_po: bool = True
    non_project: bool = False
    tasks: dict[str, ProjectTask] = field(default_factory=dict)  # by task id, in seed order
    public_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class VatCode:
    vat_id: str
    description: str
    rate: Decimal
    not_valid_after: date | None = None
    version: int = 0
    last_modified: datetime = datetime.min


@dataclass
class Period:
    """A financial period: ``period_id`` is ``YYYYPP`` (financial year, period number).

    ``start`` and ``end`` are the period's dates in the period table; when ``starts``/``ends``
    are left out they are the calendar month the id names (a calendar-year company).
    """

    period_id: str
    closed_in_supplier_ledger: bool = False
    active: bool = True
    closed_in_general_ledger: bool = False
    starts: InitVar[date | None] = None
    ends: InitVar[date | None] = None
    start: date = field(init=False)
    end: date = field(init=False)

    def __post_init__(self, starts: date | None, ends: date | None) -> None:
        if starts is None or ends is None:
            _, starts, ends = FiscalCalendar().bounds(self.period_id)
        self.start, self.end = starts, ends

    @property
    def year(self) -> int:
        return int(self.period_id[:4])

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass
class Supplier:
    """A supplier; ``details`` keeps the other unwrapped write fields (addresses, terms…)."""

    internal_id: int
    number: str
    name: str
    status: str
    currency_id: str | None = None
    corporate_id: str | None = None
    vat_registration_id: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    version: int = 0
    last_modified: datetime = datetime.min
