"""Coded lines from the seed and the control surface, resolved to Ramp selections by ERP id.

A line (``seed.SeedBillLine``, or a mapping with its field names) codes an amount to the chart
push's fields (GL account, cost centre, department, project, VAT, project task) and to any other
field through ``selections``. Coding the chart lacks is created on the Ramp side on demand
(``chart.ensure_selection``), so a test can code spend to an account the ERP never had.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ml_connector.sandbox import seed
from ml_connector.sandbox.ramp.chart import ensure_selection
from ml_connector.sandbox.ramp.model import Selection
from ml_connector.sandbox.ramp.state import RampState

__all__ = ["LineSpec", "control_line", "line_selections"]

# A bill or PO line for the control surface: a ``SeedBillLine``, or a mapping with its field
# names (``amount_minor``, ``memo``, ``gl_account``, ``cost_centre``, ``department``,
# ``project``, ``vat_code``, ``project_task``) plus optional ``selections`` {field ERP id: option
# ERP id}.
LineSpec = seed.SeedBillLine | Mapping[str, Any]
_LINE_KEYS = frozenset(
    {
        "amount_minor",
        "memo",
        "gl_account",
        "cost_centre",
        "department",
        "project",
        "vat_code",
        "project_task",
    }
)


def line_selections(
    state: RampState, clock: Callable[[], float], line: seed.SeedBillLine
) -> list[Selection]:
    """The selections of a seed line, by ERP id, creating what the chart lacks."""
    wanted = [
        (state.gl_category_id, line.gl_account),
        (seed.FIELD_COST_CENTRE, line.cost_centre),
        (seed.FIELD_DEPARTMENT, line.department),
        (seed.FIELD_PROJECT, line.project),
        (seed.FIELD_VAT, line.vat_code),
        (seed.FIELD_TASK, line.project_task),
        *line.selections,
    ]
    return [ensure_selection(state, clock, field, value) for field, value in wanted if value]


def control_line(
    state: RampState, clock: Callable[[], float], spec: LineSpec
) -> tuple[int, str | None, list[Selection]]:
    """(amount in minor units, memo, selections) of a control-surface line; ValueError if bad."""
    if isinstance(spec, seed.SeedBillLine):
        return spec.amount_minor, spec.memo or None, line_selections(state, clock, spec)
    unknown = set(spec) - _LINE_KEYS - {"selections"}
    if unknown:
        raise ValueError(f"unknown line fields: {sorted(unknown)}")
    if not isinstance(spec.get("amount_minor"), int):
        raise ValueError("a line needs an integer amount_minor")
    seed_line = seed.SeedBillLine(
        amount_minor=spec["amount_minor"],
        memo=str(spec.get("memo") or ""),
        gl_account=str(spec.get("gl_account") or ""),
        cost_centre=spec.get("cost_centre"),
        department=spec.get("department"),
        project=spec.get("project"),
        vat_code=spec.get("vat_code"),
        project_task=spec.get("project_task"),
    )
    chosen = line_selections(state, clock, seed_line)
    for field_id, option_id in dict(spec.get("selections") or {}).items():
        chosen.append(ensure_selection(state, clock, str(field_id), str(option_id)))
    return seed_line.amount_minor, seed_line.memo or None, chosen
