"""The coded line every seeded Ramp object shares: bills, purchase orders and card spend.

A ``SeedBillLine`` codes an amount to the chart push's fields (``gl_account`` … ``project_task``)
or to any other field through ``selections``. Bills and purchase orders use it for their lines;
card transactions and reimbursements (``seed_spend``) use it for their coding and splits. It is
re-exported from ``seed``, where datasets are built.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SeedBillLine"]


@dataclass(frozen=True)
class SeedBillLine:
    """One coded line; amounts in minor units, VAT included (what the company pays).

    ``gl_account`` … ``vat_code`` code the line to the chart push's fields (the demo);
    ``selections`` codes it to any other field, as (field ERP id, option ERP id) pairs, e.g. the
    fields of a ``SeedRampChart``. ``gl_account`` may be empty when ``selections`` name the GL
    category themselves.
    """

    amount_minor: int
    memo: str
    gl_account: str
    cost_centre: str | None = None
    department: str | None = None
    project: str | None = None
    vat_code: str | None = None
    project_task: str | None = None  # the task field's option id, "<project id>/<task id>"
    selections: tuple[tuple[str, str], ...] = ()
