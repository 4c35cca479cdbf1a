"""Index keys: a vendor's number finds a supplier's however either side spells it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ml_connector.flows.supplier_index import index_entry, match_keys
from ml_connector.mapping.identifiers import parse_business_id
from ml_connector.mapping.vendor_identity import identify_vendor

NORWEGIAN = ("923609016", "974760673", "920237126", "984661185", "976967631")


def _spell(number: str, style: int) -> str:
    grouped = f"{number[:3]} {number[3:6]} {number[6:]}"
    dotted = grouped.replace(" ", ".")
    return (number, grouped, f"NO{number}MVA", f"NO {grouped} MVA", dotted)[style]


@given(
    number=st.sampled_from(NORWEGIAN),
    supplier_style=st.integers(0, 4),
    vendor_style=st.integers(0, 4),
    in_vat=st.booleans(),
    country=st.sampled_from([None, "NO"]),
)
def test_any_spelling_on_either_side_matches(
    number: str, supplier_style: int, vendor_style: int, in_vat: bool, country: str | None
) -> None:
    """Visma's corporateId or vatRegistrationId, in any spelling, meets the vendor's number."""
    spelled = _spell(number, supplier_style)
    entry = index_entry(
        "50001",
        "Leverandør AS",
        corporate_id=None if in_vat else spelled,
        vat_registration_id=spelled if in_vat else None,
        country=country,
    )
    identity = identify_vendor([("Org.nr", _spell(number, vendor_style))], [], country="NO")
    assert identity.org is not None or identity.vat is not None
    ids = [found.id for found in (identity.org, identity.vat) if found is not None]
    assert {entry.corporate_key, entry.vat_key} & set(match_keys(ids))


@given(first=st.sampled_from(NORWEGIAN), second=st.sampled_from(NORWEGIAN))
def test_different_numbers_never_meet(first: str, second: str) -> None:
    """Two different organisation numbers share no key."""
    entry = index_entry("50001", "A AS", corporate_id=first)
    parsed = parse_business_id(second)
    assert parsed is not None
    met = entry.corporate_key in match_keys([parsed])
    assert met == (first == second)


def test_a_bare_number_without_country_still_meets() -> None:
    """Eight digits Visma holds without a country (valid Danish and Finnish alike) meet the
    vendor's Danish number."""
    entry = index_entry("50001", "Dansk ApS", corporate_id="10000602")
    assert entry.corporate_key == ":10000602"
    danish = parse_business_id("DK10000602")
    assert danish is not None
    assert danish.trusted
    assert entry.corporate_key in match_keys([danish])
