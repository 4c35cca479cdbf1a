"""Visma's master data as a supplier invoice or purchase order sees it: one cached snapshot.

``MasterData`` holds the accounts, SUBACCOUNT segments and their values, projects with their
tasks, VAT codes (with their "not valid after" dates), financial periods, enabled currencies and
blocked suppliers that ``flows.context.MasterDataCache`` reads from Visma. The pre-flight checks
(``mapping.preflight``), task assignment (``mapping.tasks``) and mapping-table validation
(``mapping.table``) all read this snapshot; it imports nothing else from ``mapping`` but the
period arithmetic, so none of them import each other for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ml_connector.mapping.periods import PeriodSpan, period_for

__all__ = [
    "AccountInfo",
    "MasterData",
    "PeriodInfo",
    "ProjectInfo",
    "SegmentInfo",
    "TaskInfo",
    "VatInfo",
    "period_at",
]


@dataclass(frozen=True)
class AccountInfo:
    description: str
    active: bool


@dataclass(frozen=True)
class SegmentInfo:
    """One SUBACCOUNT segment: its name, whether values are validated, and its values."""

    description: str
    validate: bool
    values: Mapping[str, bool]  # value → active
    names: Mapping[str, str] = field(default_factory=dict)  # value → its description

    def shown(self, value: str) -> str:
        """``"410 (Marketing Oslo)"``: the value with its description, when Visma has one."""
        name = self.names.get(value)
        return f"{value} ({name})" if name and name != value else value


@dataclass(frozen=True)
class TaskInfo:
    """A project task (``ProjectDto.tasks[]``): its status and where it may be used."""

    description: str = ""
    status: str = "Active"  # Planned | Active | Cancelled | Canceled | Completed
    visible_in_ap: bool = True
    visible_in_po: bool = True

    def usable(self, module: str = "AP") -> bool:
        """Active, and visible in the supplier ledger (``AP``) or in purchasing (``PO``)."""
        visible = self.visible_in_ap if module == "AP" else self.visible_in_po
        return self.status == "Active" and visible


@dataclass(frozen=True)
class ProjectInfo:
    status: str
    visible_in_ap: bool
    description: str = ""
    tasks: Mapping[str, TaskInfo] = field(default_factory=dict)  # task id → task
    visible_in_po: bool = True

    def takes_costs(self, module: str = "AP") -> bool:
        """Active or Planned, and visible in the supplier ledger (AP) or purchasing (PO)."""
        visible = self.visible_in_ap if module == "AP" else self.visible_in_po
        return self.status in ("Active", "Planned") and visible

    def usable_tasks(self, module: str = "AP") -> list[str]:
        """The ids of the tasks a document of ``module`` may name, sorted."""
        return sorted(t for t, info in self.tasks.items() if info.usable(module))


@dataclass(frozen=True)
class VatInfo:
    """A VAT code's description and the last day it may be used (None: no end)."""

    description: str = ""
    not_valid_after: date | None = None


@dataclass(frozen=True)
class PeriodInfo:
    """One row of Visma's period table: its state and its own start and end dates."""

    closed_in_supplier_ledger: bool
    active: bool = True
    start: date | None = None
    end: date | None = None

    @property
    def span(self) -> PeriodSpan | None:
        if self.start is None or self.end is None:
            return None
        return PeriodSpan(self.start, self.end)


@dataclass(frozen=True)
class MasterData:
    """What Visma holds, as far as a supplier invoice cares."""

    accounts: Mapping[str, AccountInfo] = field(default_factory=dict)
    segments: Mapping[int, SegmentInfo] = field(default_factory=dict)
    projects: Mapping[str, ProjectInfo] = field(default_factory=dict)
    vat_codes: frozenset[str] = frozenset()
    periods: Mapping[str, PeriodInfo] = field(default_factory=dict)
    currencies: frozenset[str] | None = None  # None: not known, not checked
    blocked_suppliers: Mapping[str, str] = field(default_factory=dict)  # number → status
    vat_details: Mapping[str, VatInfo] = field(default_factory=dict)  # VAT id → details


def period_at(master: MasterData, day: date, *, what: str) -> str:
    """The id of the period of Visma's table containing ``day`` (``mapping.periods``).

    ``what`` names the date in the message ("accounting date", "payment date"). Raises
    NeedsAttention when no period contains it.
    """
    return period_for(day, {pid: info.span for pid, info in master.periods.items()}, what=what)
