"""Checking a mapping table: conflicting rows, and every Visma value against master data.

``validate`` refuses two rows with the same match, slot and priority but different Visma
values (the tie-break would pick one silently) and, given Visma's master data, every Visma
value that does not exist or cannot be used on a supplier invoice line: the account active,
the segment value active (and listed, where the segment validates its values), the project
active or planned and visible in the supplier ledger, the task active and visible in AP on its
project (an ``@project`` row) or on some project (any other task row), the VAT code known. An
``@account`` row's key must be an account.
"""

from __future__ import annotations

from ml_connector.mapping.master_data import MasterData
from ml_connector.mapping.table import (
    ANY,
    NON_PROJECT,
    SOURCE_ACCOUNT,
    SOURCE_PROJECT,
    MappingRule,
    MappingTable,
    Problem,
    Target,
)

__all__ = ["validate"]


def validate(table: MappingTable, master: MasterData | None = None) -> list[Problem]:
    """Everything wrong with ``table``: conflicts always, targets when ``master`` is given.

    A conflict is two rows with the same match, slot and priority but different Visma values:
    the tie-break would pick one silently, so it is refused instead. With ``master``, every
    Visma value must exist and be usable on a supplier invoice line (account active, segment
    value active, project active and visible in AP, VAT code known), and every ``@account``
    key must be an account.
    """
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str, bool, int], tuple[str, MappingRule]] = {}
    for number, rule in enumerate(table.rules, start=1):
        where = rule.origin or f"row {number}"
        earlier = seen.get(rule.match_key)
        if earlier is not None:
            first_where, first = earlier
            if first.visma_value != rule.visma_value:
                problems.append(
                    Problem(
                        where,
                        f"conflicts with {first_where}: {rule.source}={rule.value} sets "
                        f"{rule.target_key} to both {first.visma_value} and {rule.visma_value} "
                        f"at priority {rule.priority}",
                    )
                )
            else:
                problems.append(Problem(where, f"repeats {first_where}"))
        else:
            seen[rule.match_key] = (where, rule)
        if master is not None:
            problems += [Problem(where, m) for m in _target_problems(rule, master)]
    return problems


def _target_problems(rule: MappingRule, master: MasterData) -> list[str]:
    found: list[str] = []
    if rule.source == SOURCE_ACCOUNT and rule.value != ANY and rule.value not in master.accounts:
        found.append(f"account {rule.value} (the row's key) does not exist in Visma")
    value = rule.visma_value
    if rule.target is Target.ACCOUNT:
        account = master.accounts.get(value)
        if account is None:
            found.append(f"account {value} does not exist in Visma")
        elif not account.active:
            found.append(f"account {value} ({account.description}) is inactive in Visma")
    elif rule.target is Target.SEGMENT:
        segment = master.segments.get(rule.segment or 0)
        if segment is None:
            found.append(f"segment {rule.segment} does not exist in Visma's SUBACCOUNT")
        else:
            active = segment.values.get(value)
            if active is None and segment.validate:
                found.append(f"{segment.description} {value} does not exist in Visma")
            elif active is False:
                found.append(f"{segment.description} {value} is inactive in Visma")
    elif rule.target is Target.PROJECT:
        project = master.projects.get(value)
        if project is None:
            found.append(f"project {value} does not exist in Visma")
        elif project.status not in ("Active", "Planned") and value != NON_PROJECT:
            found.append(f"project {value} is {project.status} in Visma")
        elif not project.visible_in_ap:
            found.append(f"project {value} is not visible in the supplier ledger (AP)")
    elif rule.target is Target.TASK:
        found += _task_problems(rule, master)
    elif master.vat_codes and value not in master.vat_codes:
        found.append(f"VAT code {value} does not exist in Visma")
    return found


def _task_problems(rule: MappingRule, master: MasterData) -> list[str]:
    """An ``@project`` row's task must be usable on AP lines of that project; any other task
    row's task must be usable on at least one project (which one depends on the line)."""
    task = rule.visma_value
    if rule.source != SOURCE_PROJECT:
        if any(task in p.usable_tasks("AP") for p in master.projects.values()):
            return []
        return [f"task {task} is not an active, AP-visible task of any project in Visma"]
    project = master.projects.get(rule.value)
    if project is None:
        return [f"project {rule.value} (the row's key) does not exist in Visma"]
    info = project.tasks.get(task)
    if info is None:
        return [f"task {task} does not exist on project {rule.value} in Visma"]
    if not info.usable("AP"):
        return [f"task {task} of project {rule.value} is not active and visible in AP in Visma"]
    return []
