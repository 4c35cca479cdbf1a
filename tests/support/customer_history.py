"""A customer with history: Ramp's accounting fields existed before the connector came.

The Visma side is the demo company (chart, SUBACCOUNT segments 1 "Kostnadssted" and 2
"Avdeling", projects, VAT codes, suppliers). The Ramp side holds a chart a Universal CSV import
made: GL accounts under the category "Category" (named "Konto"), and fields with the customer's
own ids and Norwegian names, typed on bills as Ramp does (ramp-api.md §5.1):

| field          | name          | type        | options                                     |
|----------------|---------------|-------------|---------------------------------------------|
| ``dim_kst``    | Kostnadssted  | COST_CENTER | segment 1's values                          |
| ``dim_avd``    | Avdeling      | OTHER       | segment 2's values                          |
| ``dim_prosjekt`` | Prosjekt    | PROJECT     | ids ``prj-…``, codes = Visma project ids    |
| ``dim_mva``    | Avgiftskode   | TAX_CODE    | the VAT ids                                 |
| ``dim_kampanje`` | Kampanje    | OTHER       | campaign codes Visma does not have          |

Bills (``BILL_*``) are coded to these fields; one (``BILL_CAMPAIGN``, from a vendor Visma has
no supplier for yet) also to the campaign field, which no evidence can place. This module
belongs to the tests: the product cannot import it.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from ml_connector.sandbox.seed import (
    Dataset,
    SeedBill,
    SeedBillLine,
    SeedRampChart,
    SeedRampField,
    SeedRampGLAccount,
    SeedRampOption,
    demo_dataset,
)

__all__ = [
    "BILL_BILL_LEVEL",
    "BILL_CAMPAIGN",
    "BILL_INACTIVE_COST_CENTRE",
    "BILL_PLAIN",
    "CAMPAIGN_FIELD",
    "FIELD_TARGETS",
    "INACTIVE_COST_CENTRE",
    "NEW_VENDOR_NAME",
    "TELENOR_SUPPLIER",
    "TELENOR_SUPPLIER_NAME",
    "VENDOR_TELENOR",
    "customer_history_dataset",
    "customer_with_history",
]

VENDOR_TELENOR = "f3c95789-ace1-4954-ac5d-6baed2eac902"  # supplier 50001 in Visma (org number)
NEW_VENDOR_NAME = "Scandic Hotels AS"  # no supplier in Visma yet: the campaign bill's vendor
BILL_PLAIN = "c0000000-0000-4000-8000-000000000001"
BILL_CAMPAIGN = "c0000000-0000-4000-8000-000000000002"
BILL_BILL_LEVEL = "c0000000-0000-4000-8000-000000000003"
BILL_INACTIVE_COST_CENTRE = "c0000000-0000-4000-8000-000000000004"
INACTIVE_COST_CENTRE = "950"  # inactive in Visma's segment 1, still offered in Ramp
TELENOR_SUPPLIER = "50001"
TELENOR_SUPPLIER_NAME = "Telenor Bedriftsmarked (fakturamottak)"  # not the Ramp vendor's name
# What each of the customer's fields means in Visma (for checking invoices, never for coding).
FIELD_TARGETS = {
    "Category": "account",
    "dim_kst": "segment:1",
    "dim_avd": "segment:2",
    "dim_prosjekt": "project",
    "dim_mva": "vat",
}
CAMPAIGN_FIELD = "dim_kampanje"
GL_CATEGORY = "Category"


def _chart(base: Dataset, *, project_by_code: bool) -> SeedRampChart:
    segments = {s.segment_id: s for s in base.segments}
    return SeedRampChart(
        provider_name="Universal CSV",
        gl_category_id=GL_CATEGORY,
        gl_category_name="Konto",
        gl_accounts=tuple(
            SeedRampGLAccount(a.number, a.description, code=a.number, active=a.active)
            for a in base.accounts
        ),
        fields=(
            SeedRampField(
                "dim_kst",
                "Kostnadssted",
                "COST_CENTER",
                tuple(SeedRampOption(v.value, v.description) for v in segments[1].values),
            ),
            SeedRampField(
                "dim_avd",
                "Avdeling",
                "OTHER",
                tuple(SeedRampOption(v.value, v.description) for v in segments[2].values),
            ),
            SeedRampField(
                "dim_prosjekt",
                "Prosjekt",
                "PROJECT",
                tuple(
                    SeedRampOption(
                        _project_option(p.project_id, project_by_code),
                        p.description,
                        code=p.project_id,
                    )
                    for p in base.projects
                ),
            ),
            SeedRampField(
                "dim_mva",
                "Avgiftskode",
                "TAX_CODE",
                tuple(
                    SeedRampOption(v.vat_id, v.description, code=v.vat_id) for v in base.vat_codes
                ),
            ),
            SeedRampField(
                CAMPAIGN_FIELD,
                "Kampanje",
                "OTHER",
                (SeedRampOption("K12", "Vår 2025"), SeedRampOption("K13", "Høst 2025")),
            ),
        ),
    )


def _project_option(project_id: str, by_code: bool) -> str:
    """The option id of a project: ``prj-p1001`` (the Visma id is only the code) or the id."""
    return f"prj-{project_id.lower()}" if by_code else project_id


def _line(
    memo: str,
    amount_minor: int,
    *extra: tuple[str, str],
    account: str = "6800",
    by_code: bool = True,
) -> SeedBillLine:
    coding = (
        ("dim_kst", "200"),
        ("dim_avd", "20"),
        ("dim_prosjekt", _project_option("P1001", by_code)),
        ("dim_mva", "11"),
    )
    return SeedBillLine(
        amount_minor, memo, "", selections=((GL_CATEGORY, account), *coding, *extra)
    )


def customer_history_dataset(today: date | None = None, *, project_by_code: bool = True) -> Dataset:
    """The demo's Visma company with a Ramp business that has history (see the module doc).

    ``project_by_code=False``: the project options' ids are the Visma project ids themselves.
    """
    today = today or date.today()
    base = demo_dataset(today)
    newcomer = next(v.id for v in base.vendors if v.name == NEW_VENDOR_NAME)
    issued = today - timedelta(days=3)
    bills = (
        SeedBill(
            BILL_PLAIN,
            VENDOR_TELENOR,
            "CH-1001",
            "NOK",
            issued,
            issued + timedelta(days=30),
            (
                _line("Mobilabonnement", 1_250_00, by_code=project_by_code),
                _line("Ruter", 400_00, account="6900", by_code=project_by_code),
            ),
        ),
        SeedBill(
            BILL_CAMPAIGN,
            newcomer,
            "CH-1002",
            "NOK",
            issued,
            issued + timedelta(days=30),
            (
                _line(
                    "Kampanjetelefoner", 2_000_00, (CAMPAIGN_FIELD, "K12"), by_code=project_by_code
                ),
            ),
        ),
        SeedBill(
            BILL_BILL_LEVEL,
            VENDOR_TELENOR,
            "CH-1003",
            "NOK",
            issued,
            issued + timedelta(days=30),
            (SeedBillLine(900_00, "Fiber", "", selections=((GL_CATEGORY, "6900"),)),),
            selections=(
                ("dim_kst", "300"),
                ("dim_prosjekt", _project_option("P1003", project_by_code)),
                ("dim_mva", "1"),
            ),
        ),
    )
    chart = _chart(base, project_by_code=project_by_code)
    # The demo's card spend is coded to the demo's own fields; this customer's Ramp has only
    # its own, so it brings bills alone (a spend line coded to "subaccount-1" would create
    # that field in Ramp before any chart push, which no such customer has).
    return dataclasses.replace(
        base,
        bills=bills,
        purchase_orders=(),
        ramp_chart=chart,
        card_transactions=(),
        reimbursements=(),
        statements=(),
        transfers=(),
    )


def customer_with_history(today: date | None = None) -> Dataset:
    """The acceptance world: :func:`customer_history_dataset`, plus what a real company brings.

    - The vendor onboarding form asks "Foretaksregister-ID" and "Avgiftsregister", labels the
      connector has never seen. Telenor's organisation number sits bare under the first (not to
      be trusted alone); its VAT number, written the Norwegian way ("NO 976 967 631 MVA"),
      under the second.
    - Telenor is supplier 50001 in Visma under another name, with that organisation number.
    - One more bill is coded to cost centre 950, which Visma has made inactive while Ramp still
      offers it.

    Play it with a Visma company whose financial year starts in July.
    """
    base = customer_history_dataset(today)
    vendors = tuple(
        dataclasses.replace(v, vat_number="NO 976 967 631 MVA") if v.id == VENDOR_TELENOR else v
        for v in base.vendors
    )
    suppliers = tuple(
        dataclasses.replace(s, name=TELENOR_SUPPLIER_NAME, vat_registration_id=None)
        if s.number == TELENOR_SUPPLIER
        else s
        for s in base.suppliers
    )
    first = base.bills[0]
    inactive = SeedBill(
        BILL_INACTIVE_COST_CENTRE,
        VENDOR_TELENOR,
        "CH-1004",
        "NOK",
        first.issued_at,
        first.due_at,
        (
            SeedBillLine(
                300_00,
                "Sentralbord",
                "",
                selections=(
                    (GL_CATEGORY, "6900"),
                    ("dim_kst", INACTIVE_COST_CENTRE),
                    ("dim_avd", "20"),
                    ("dim_prosjekt", _project_option("P1001", True)),
                    ("dim_mva", "11"),
                ),
            ),
        ),
    )
    return dataclasses.replace(
        base,
        vendors=vendors,
        suppliers=suppliers,
        bills=(*base.bills, inactive),
        vendor_form_labels=("Foretaksregister-ID", "Avgiftsregister"),
    )
