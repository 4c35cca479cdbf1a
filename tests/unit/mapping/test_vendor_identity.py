"""Where a vendor's organisation and VAT numbers are found, and which of them are trusted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.mapping.identifiers import IdKind
from ml_connector.mapping.vendor_identity import (
    DEFAULT_ORG_LABELS,
    DEFAULT_VAT_LABELS,
    LabelSet,
    identify_vendor,
)

LABELS = LabelSet()


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("Organisasjonsnummer", IdKind.ORG),
        ("Organisasjonsnummer (9 siffer)", IdKind.ORG),
        ("ORG.NR.", IdKind.ORG),
        ("Org-nr", IdKind.ORG),
        ("Organisationsnummer", IdKind.ORG),
        ("CVR-nr.", IdKind.ORG),
        ("Y-tunnus", IdKind.ORG),
        ("Business ID", IdKind.ORG),
        ("Company registration number", IdKind.ORG),
        ("Företagsnummer", IdKind.ORG),
        ("VAT", IdKind.VAT),
        ("VAT registration number", IdKind.VAT),
        ("MVA-nummer", IdKind.VAT),
        ("Momsreg.nr", IdKind.VAT),
        ("Momsregistreringsnummer", IdKind.VAT),
        ("ALV-numero", IdKind.VAT),
        ("Alv-rekisteröintinumero", IdKind.VAT),
        ("Organisation number / VAT", IdKind.ORG),  # the longer known label wins
        ("Foretaksregister-ID", None),
        ("Bank account", None),
        ("IBAN", None),
    ],
)
def test_default_labels(label: str, kind: IdKind | None) -> None:
    """Nordic and English labels are recognised whatever their case, accents or punctuation."""
    assert LABELS.kind_of(label) is kind


@given(
    label=st.sampled_from(DEFAULT_ORG_LABELS + DEFAULT_VAT_LABELS),
    upper=st.lists(st.booleans(), min_size=40, max_size=40),
    wrap=st.sampled_from(["{}", "{}:", " {} ", "{} (required)", "Vendor {}", "{}."]),
)
def test_label_matching_ignores_case_and_surroundings(
    label: str, upper: list[bool], wrap: str
) -> None:
    """A default label in any case, with words around it, is still its kind."""
    expected = LABELS.kind_of(label)
    cased = "".join(c.upper() if u else c.lower() for c, u in zip(label, upper, strict=False))
    assert LABELS.kind_of(wrap.format(cased)) is expected


def test_a_connection_can_add_labels() -> None:
    """An extended label set reads the customer's own labels."""
    extended = LABELS.extended(org=["Foretaksregister-ID"], vat=["Avgiftsnr"])
    assert extended.kind_of("foretaksregister id") is IdKind.ORG
    assert extended.kind_of("AVGIFTSNR") is IdKind.VAT
    assert extended.kind_of("Organisasjonsnummer") is IdKind.ORG  # the defaults stay


def test_form_answer_under_a_known_label() -> None:
    """An answer under a recognised label is trusted when its check digit holds."""
    identity = identify_vendor([("Org.nr", "923 609 016")], [], country="NO")
    assert identity.org is not None
    assert (identity.org.id.key, identity.org.source) == ("NO:923609016", "form: Org.nr")
    assert identity.corporate_id == "923609016"
    assert identity.vat is None
    assert identity.rejected == ()


def test_an_invalid_check_digit_is_reported_not_used() -> None:
    """A number whose check digit fails is named in the audit and never matched on."""
    identity = identify_vendor([("Organisasjonsnummer", "923609017")], [], country="NO")
    assert identity.org is None
    assert identity.keys() == ()
    audit = identity.as_audit()["not_used"]
    assert audit == [
        {
            "value": "923609017",
            "source": "form: Organisasjonsnummer",
            "kind": "org_number",
            "country": "NO",
            "check": "invalid",
            "why": "check digit or length is wrong",
        }
    ]


def test_unseen_label_with_the_number_only_in_free_text() -> None:
    """A bare number under an unknown label is not taken; the description's "Org.nr" is."""
    identity = identify_vendor(
        [("Foretaksregister-ID", "923609016")],
        [("description", "Kontorrekvisita. Org.nr.: 923 609 016, tlf 22 33 44 55")],
        country="NO",
    )
    assert identity.org is not None
    assert (identity.org.id.key, identity.org.source) == ("NO:923609016", "description")


@pytest.mark.parametrize(
    ("text", "key", "kind"),
    [
        ("Faktura fra NO 923 609 016 MVA", "NO:923609016", IdKind.VAT),
        ("923609016 MVA", "NO:923609016", IdKind.VAT),
        ("Org nr 923 609 016 22 33", "NO:923609016", IdKind.ORG),  # a phone number follows
        ("Momsreg.nr SE556036079301", "SE:5560360793", IdKind.VAT),
        ("registered as 556036-0793", "SE:5560360793", IdKind.ORG),
        ("CVR 24 25 67 90", "DK:24256790", IdKind.ORG),
        ("VAT DK24256790", "DK:24256790", IdKind.VAT),
        ("Y-tunnus 0112038-9", "FI:01120389", IdKind.ORG),
        ("ALV FI01120389", "FI:01120389", IdKind.VAT),
    ],
)
def test_numbers_in_free_text(text: str, key: str, kind: IdKind) -> None:
    """Free text yields a number written in a form that says what it is."""
    identity = identify_vendor([], [("description", text)])
    found = identity.org or identity.vat
    assert found is not None
    assert (found.id.key, found.id.kind) == (key, kind)


def test_bare_digits_in_free_text_are_ignored() -> None:
    """A bare run of digits (a phone or account number) is not an organisation number."""
    identity = identify_vendor([], [("description", "Ring 923609016 eller konto 1234.56.78903")])
    assert identity.org is None
    assert identity.vat is None
    assert identity.rejected == ()


def test_two_different_numbers_in_free_text_are_both_refused() -> None:
    """When free text names two organisations, neither is guessed at."""
    identity = identify_vendor(
        [], [("description", "Org.nr 923609016 (datter av org.nr 974760673)")], country="NO"
    )
    assert identity.org is None
    assert {why for _, why in identity.rejected} == {"several different numbers in the free text"}


def test_the_form_answer_beats_free_text() -> None:
    """A form answer wins over a different number in the description, which is reported."""
    identity = identify_vendor(
        [("CVR", "24256790")], [("description", "CVR 10150817")], country="DK"
    )
    assert identity.org is not None
    assert identity.org.id.key == "DK:24256790"
    assert [why for _, why in identity.rejected] == ["differs from the form answer"]


def test_a_vat_number_of_another_organisation_is_dropped() -> None:
    """A Nordic VAT number must be the organisation number with its prefix."""
    identity = identify_vendor(
        [("Org.nr", "923609016"), ("MVA-nummer", "NO974760673MVA")], [], country="NO"
    )
    assert identity.org is not None
    assert identity.vat is None
    assert identity.rejected[0][1] == "does not belong to the organisation number"


def test_the_organisation_number_follows_from_the_vat_number() -> None:
    """With only a VAT number, the supplier still gets its organisation number."""
    identity = identify_vendor([("VAT", "SE556036079301")], [])
    assert (identity.corporate_id, identity.vat_registration_id) == (
        "556036-0793",
        "SE556036079301",
    )
    assert identity.keys() == ("SE:5560360793",)


def test_a_number_answer_label_that_is_eight_digits_takes_the_label_country() -> None:
    """A CVR label settles eight digits as Danish, a Y-tunnus label as Finnish."""
    danish = identify_vendor([("CVR-nummer", "26174164")], [])
    finnish = identify_vendor([("Y-tunnus", "26174164")], [])
    assert danish.org is None  # not a valid CVR
    assert finnish.org is not None
    assert finnish.org.id.key == "FI:26174164"
