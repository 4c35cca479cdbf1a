"""How the simulated company behaves where real Visma companies (or Visma's answers) differ.

Each field is a sandbox option. The default is what Visma documents (or, where Visma is silent,
what the sandbox infers); a convenience or a stricter company set-up is an option the tests
turn on. ``docs/sandbox/visma.md`` lists each with its source and confidence.

- ``max_page_size`` and ``page_metadata``: Visma caps ``pageSize`` silently (reference §4);
  ``page_metadata`` ``"full"`` repeats ``{"totalCount", "maxPageSize"}`` on every record (the
  spec's ``MetadataDto`` and Visma's example), ``"total_only"`` leaves out ``maxPageSize`` (as
  integrators see on some endpoints), ``"none"`` leaves out ``metadata`` altogether.
- ``release``: ``"background"`` answers a release action with 202 and a background request
  (the current spec lists only 202/412 for supplier invoice and payment releases; reference
  §8); ``"legacy"`` answers 200 with ``{"actionId", "actionResult"}`` (the 9.11 spec).
- ``background_steps``: how many later API requests to the company pass before a queued
  release runs (0: at once). The state of a request reads ``Started`` until then.
- ``fiscal_year_start_month`` and ``fiscal_year_belongs_to_next``: the company's financial
  year (``fiscal.py``); 1 and False is a calendar year.
- ``validation_status``: the HTTP status of business-rule refusals on writes. 400 is the usual
  answer; 500 plays the ERP errors integrators report with a validation message in a 500 body
  (reference §6, "typically 400; also 500").
- ``post_on_release``: a released journal transaction is ``Posted`` (Visma's General ledger
  preference "Automatically post on release"); False leaves it ``Unposted``.
- ``po_lines_need_inventory`` and ``inventory_items``: a company whose purchase-order lines
  must name an inventory item (Visma's minimal purchase order example sends ``inventory`` on
  every line; reference §9.3), and the non-stock items it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ml_connector.sandbox.visma.fiscal import FiscalCalendar

__all__ = ["CompanyBehaviour", "PageMetadata", "ReleaseMode"]

PageMetadata = Literal["full", "total_only", "none"]
ReleaseMode = Literal["background", "legacy"]


@dataclass(frozen=True)
class CompanyBehaviour:
    """The sandbox options of one simulated company (see the module docstring)."""

    max_page_size: int = 1000
    page_metadata: PageMetadata = "full"
    release: ReleaseMode = "background"
    background_steps: int = 2
    fiscal_year_start_month: int = 1
    fiscal_year_belongs_to_next: bool = False
    validation_status: int = 400
    po_lines_need_inventory: bool = False
    inventory_items: Mapping[str, str] = field(default_factory=dict)  # number → description
    post_on_release: bool = True

    def __post_init__(self) -> None:
        if self.max_page_size < 1:
            raise ValueError("max_page_size must be at least 1")
        if self.page_metadata not in ("full", "total_only", "none"):
            raise ValueError(f"unknown page_metadata {self.page_metadata!r}")
        if self.release not in ("background", "legacy"):
            raise ValueError(f"unknown release mode {self.release!r}")
        if self.background_steps < 0:
            raise ValueError("background_steps cannot be negative")
        if self.validation_status not in (400, 422, 500):
            raise ValueError("validation_status must be 400, 422 or 500")
        self.calendar()  # validates the financial year settings

    def calendar(self) -> FiscalCalendar:
        return FiscalCalendar(self.fiscal_year_start_month, self.fiscal_year_belongs_to_next)
