"""Project tasks on resolved lines: the last step of the task precedence, and task option ids.

In Visma's project accounting every line of a project-related document names a project task
(reference §9.7); the non-project ``X`` takes none. Visma's API does not say which task is a
project's default, so the connector takes a line's task from, in order:

1. a Ramp field bound to tasks, or a mapping row matched by a selection (``mapping.coding``);
2. the mapping table's ``@project`` row for the line's project (``mapping.coding``);
3. the project's only task that is active and visible in the ledger (``assign_tasks``, here).

When none of these gives exactly one task the line needs a person: the message names the
project and, when there are several, the candidate tasks. Nothing is guessed.

Task ids are unique within a project only ("01" may exist on every project), so the task field
the chart push creates in Ramp uses ``<project id>/<task id>`` as each option's ERP id
(``task_option_id``). A coded value of that form is checked against the line's project and
reduced to the bare task id Visma takes; a bare task id (a customer's own task field) is taken
as it is.
"""

from __future__ import annotations

from dataclasses import replace

from ml_connector.errors import MappingError
from ml_connector.mapping.coding import ResolvedLine
from ml_connector.mapping.master_data import MasterData
from ml_connector.mapping.table import NON_PROJECT

__all__ = ["TASK_ID_SEPARATOR", "assign_tasks", "split_task_option", "task_option_id"]

TASK_ID_SEPARATOR = "/"


def task_option_id(project_id: str, task_id: str) -> str:
    """The ERP id of a task option in Ramp: ``P1002/02``."""
    return f"{project_id}{TASK_ID_SEPARATOR}{task_id}"


def split_task_option(value: str, master: MasterData) -> tuple[str | None, str]:
    """``(project id, task id)`` of a coded task value; no project when it is a bare task id.

    Only a prefix naming a project Visma knows counts, so a task id that itself holds the
    separator is never cut in two.
    """
    project, separator, task = value.partition(TASK_ID_SEPARATOR)
    if separator and task and project in master.projects:
        return project, task
    return None, value


def _where(line: ResolvedLine) -> str:
    return f"Line {line.line_number} ({line.description or 'no description'})"


def _project_name(project_id: str, master: MasterData) -> str:
    info = master.projects.get(project_id)
    description = info.description if info is not None else ""
    return f"{project_id} ({description})" if description else project_id


def _normalised(line: ResolvedLine, master: MasterData) -> ResolvedLine:
    """The line with a ``project/task`` value reduced to the task, checked against the line."""
    assert line.project_task is not None
    owner, task = split_task_option(line.project_task, master)
    if owner is None or line.project is None or line.project == NON_PROJECT:
        return line  # a bare task id, or a task without a project: pre-flight judges it
    if owner != line.project:
        raise MappingError(
            f"{_where(line)}: task {task} belongs to project {_project_name(owner, master)}, "
            f"but the line is coded to project {_project_name(line.project, master)}",
            hint="Code a task of the line's own project in Ramp, or change the line's project.",
            code="project_task_other_project",
        )
    return replace(line, project_task=task)


def _only_task(line: ResolvedLine, master: MasterData, module: str) -> ResolvedLine:
    """The line with its project's only usable task; MappingError when there is not one."""
    assert line.project is not None
    project = master.projects.get(line.project)
    if project is None or not project.takes_costs(module):
        return line  # an unknown or unusable project: pre-flight names the project itself
    candidates = project.usable_tasks(module)
    if len(candidates) == 1:
        return replace(line, project_task=candidates[0])
    ledger = "supplier ledger" if module == "AP" else "purchasing"
    name = _project_name(line.project, master)
    set_task = f"ml-connector mappings set NAME @project {line.project} task TASK"
    if not candidates:
        raise MappingError(
            f"{_where(line)}: project {name} has no task that is active and visible in the "
            f"{ledger}, and the line names none",
            hint=f"Add or activate a task on project {line.project} in Visma (visible in the "
            f"{ledger}), or code the line to another project.",
            code="project_task_missing",
        )
    shown = ", ".join(
        f"{task} ({project.tasks[task].description})" if project.tasks[task].description else task
        for task in candidates
    )
    raise MappingError(
        f"{_where(line)}: project {name} has several active tasks ({shown}), and the line does "
        "not say which",
        hint="Choose the task in Ramp's project task field, or set the project's task in the "
        f"mapping ({set_task}).",
        code="project_task_ambiguous",
    )


def assign_tasks(
    lines: list[ResolvedLine], master: MasterData, *, module: str = "AP"
) -> list[ResolvedLine]:
    """Each line with its project task settled: coded values normalised, gaps filled from the
    project's only usable task (``module``: ``AP`` for invoices, ``PO`` for orders)."""
    settled = []
    for line in lines:
        if line.project_task is not None:
            line = _normalised(line, master)
        elif line.project is not None and line.project != NON_PROJECT:
            line = _only_task(line, master, module)
        settled.append(line)
    return settled
