"""Pre-flight checks: catch what Visma would reject, before any call, in words finance reads.

``check_invoice`` runs against a ``MasterData`` snapshot (accounts, segment values, projects,
VAT codes, periods, currencies) that the caller fetched and cached. Every failure is a
``NeedsAttention`` carrying a message ("Period 09-2026 is closed in the supplier ledger") and a
hint ("Reopen the period in Visma, or change the bill's accounting date in Ramp"). The first
failure wins, in document order, so a message always points at one concrete thing to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ml_connector.errors import MappingError, NeedsAttention
from ml_connector.mapping.coding import ResolvedLine
from ml_connector.mapping.periods import PeriodSpan, period_for, period_label

__all__ = [
    "NON_PROJECT",
    "AccountInfo",
    "MasterData",
    "PeriodInfo",
    "ProjectInfo",
    "SegmentInfo",
    "check_invoice",
    "period_at",
    "period_label",
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


@dataclass(frozen=True)
class ProjectInfo:
    status: str
    visible_in_ap: bool


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


# Visma's conventional "non-project" id: always accepted on AP lines, whatever the project list.
NON_PROJECT = "X"


def period_at(master: MasterData, day: date, *, what: str) -> str:
    """The id of the period of Visma's table containing ``day`` (``mapping.periods``).

    ``what`` names the date in the message ("accounting date", "payment date"). Raises
    NeedsAttention when no period contains it.
    """
    return period_for(day, {pid: info.span for pid, info in master.periods.items()}, what=what)


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


def _check_line(line: ResolvedLine, master: MasterData) -> None:
    where = f"Line {line.line_number}"
    account = master.accounts.get(line.account)
    if account is None:
        raise MappingError(
            f"{where}: GL account {line.account} does not exist in Visma",
            hint=f"Code the line to an existing account in Ramp, or map {line.account} "
            "to a Visma account.",
            code="account_unknown",
        )
    if not account.active:
        raise MappingError(
            f"{where}: GL account {line.account} ({account.description}) is inactive in Visma",
            hint="Reactivate the account in Visma, or code the line to an active account in Ramp.",
            code="account_inactive",
        )
    for segment_id, value in line.subaccount:
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
        if active is False:
            raise MappingError(
                f"{where}: {segment.description} {value} is inactive in Visma",
                hint=f"Reactivate {value} in Visma, or recode the line in Ramp.",
                code="segment_value_inactive",
            )
    if line.project is not None and line.project != NON_PROJECT:
        project = master.projects.get(line.project)
        if project is None:
            raise MappingError(
                f"{where}: project {line.project} does not exist in Visma",
                hint="Code the line to an existing project in Ramp.",
                code="project_unknown",
            )
        if project.status not in ("Active", "Planned"):
            raise MappingError(
                f"{where}: project {line.project} is {project.status} in Visma and cannot "
                "take new costs",
                hint="Reopen the project in Visma, or code the line to an active project.",
                code="project_inactive",
            )
        if not project.visible_in_ap:
            raise MappingError(
                f"{where}: project {line.project} is not visible in the supplier ledger",
                hint="Tick 'Visible in AP' on the project in Visma, or choose another project.",
                code="project_not_in_ap",
            )
    if line.vat_code is not None and master.vat_codes and line.vat_code not in master.vat_codes:
        raise MappingError(
            f"{where}: VAT code {line.vat_code} does not exist in Visma",
            hint="Map the account to a valid VAT code for this connection.",
            code="vat_unknown",
        )


def check_invoice(
    *,
    financial_period: str,
    currency: str,
    lines: list[ResolvedLine],
    master: MasterData,
    supplier: str | None = None,
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
    for line in lines:
        _check_line(line, master)
