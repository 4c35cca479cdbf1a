"""The demo company's fixed data: its Visma chart (accounts, VAT codes, cost centres,
departments, projects and tasks) and its vendor list (countries, currencies, org and VAT
numbers, and which are already Visma suppliers), with the hints that code each vendor's bills.

``_demo.py`` builds the dataset from these with a fixed random seed.
"""

from __future__ import annotations

from decimal import Decimal

from ml_connector.sandbox.seed import (
    SeedAccount,
    SeedProject,
    SeedSegmentValue,
    SeedTask,
    SeedVat,
)

__all__ = [
    "ACCOUNTS",
    "ACCOUNT_HINTS",
    "CITIES",
    "COST_CENTRES",
    "DEPARTMENTS",
    "MEMOS",
    "PROJECTS",
    "STREETS",
    "TASK_CHOICES",
    "VAT",
    "VENDORS",
]

ACCOUNTS = (
    SeedAccount("1500", "Kundefordringer", "Asset"),
    SeedAccount("1920", "Bankinnskudd", "Asset"),
    SeedAccount("2400", "Leverandørgjeld", "Liability"),
    SeedAccount("2920", "Kredittkortgjeld Ramp", "Liability"),
    SeedAccount("2930", "Skyldige utlegg til ansatte", "Liability"),
    SeedAccount("2710", "Inngående merverdiavgift", "Liability"),
    SeedAccount("3000", "Salgsinntekt", "Income", default_vat=None),
    SeedAccount("4000", "Innkjøp av varer", "Expense", default_vat="1"),
    SeedAccount("6300", "Leie lokaler", "Expense", default_vat="0"),
    SeedAccount("6340", "Lys og varme", "Expense", default_vat="1"),
    SeedAccount("6540", "Inventar", "Expense", default_vat="1"),
    SeedAccount("6551", "Datautstyr", "Expense", default_vat="1"),
    SeedAccount("6552", "Programvare", "Expense", default_vat="1"),
    SeedAccount("6560", "Rekvisita", "Expense", default_vat="1"),
    SeedAccount("6590", "Annet driftsmateriale", "Expense", active=False, default_vat="1"),
    SeedAccount("6700", "Revisjonshonorar", "Expense", default_vat="1"),
    SeedAccount("6720", "Konsulenthonorar", "Expense", default_vat="1"),
    SeedAccount("6800", "Kontorrekvisita", "Expense", default_vat="1"),
    SeedAccount("6860", "Møter, kurs", "Expense", default_vat="1"),
    SeedAccount("6900", "Telefon og internett", "Expense", default_vat="1"),
    SeedAccount("7100", "Bilgodtgjørelse", "Expense", default_vat="0"),
    SeedAccount("7140", "Reisekostnad", "Expense", default_vat="13"),
    SeedAccount("7160", "Diett og kost", "Expense", default_vat="11"),
    SeedAccount("7320", "Reklamekostnad", "Expense", default_vat="1"),
    SeedAccount("7350", "Representasjon", "Expense", default_vat="0"),
    SeedAccount("7500", "Forsikringspremie", "Expense", default_vat="0"),
    SeedAccount("7770", "Bank- og kortgebyr", "Expense", default_vat="0"),
    SeedAccount("7790", "Annen kostnad", "Expense", default_vat="1"),
)

VAT = (
    SeedVat("0", "Ingen mva", Decimal("0")),
    SeedVat("1", "Inngående mva høy sats", Decimal("25")),
    SeedVat("11", "Inngående mva middels sats", Decimal("15")),
    SeedVat("13", "Inngående mva lav sats", Decimal("12")),
)

COST_CENTRES = (
    SeedSegmentValue("100", "Oslo"),
    SeedSegmentValue("200", "Bergen"),
    SeedSegmentValue("300", "Trondheim"),
    SeedSegmentValue("400", "Stockholm"),
    SeedSegmentValue("900", "Felles"),
    SeedSegmentValue("950", "Stavanger (nedlagt)", active=False),
)
DEPARTMENTS = (
    SeedSegmentValue("10", "Advisory"),
    SeedSegmentValue("20", "Technology"),
    SeedSegmentValue("30", "Sales"),
    SeedSegmentValue("40", "Administration"),
    SeedSegmentValue("50", "People"),
)
# Every project has tasks. P1001 and P1003 have exactly one active task (lines need no task
# coding: the connector takes it); P1002 and P1004 have several (their lines code the task).
PROJECTS = (
    SeedProject("X", "Ikke prosjekt"),
    SeedProject("P1001", "Equinor ERP-rådgivning", tasks=(SeedTask("01", "Rådgivning"),)),
    SeedProject(
        "P1002",
        "DNB skymigrering",
        tasks=(SeedTask("01", "Analyse"), SeedTask("02", "Migrering")),
    ),
    SeedProject(
        "P1003",
        "Posten prosessanalyse",
        tasks=(
            SeedTask("01", "Prosessanalyse"),
            SeedTask("02", "Sluttrapport", status="Completed"),
            SeedTask("03", "Intern tid", visible_in_ap=False, visible_in_po=False),
        ),
    ),
    SeedProject(
        "P1004",
        "Orkla innkjøpsstrategi",
        tasks=(
            SeedTask("01", "Kartlegging"),
            SeedTask("02", "Leverandørvalg"),
            SeedTask("03", "Oppfølging", status="Planned"),
        ),
    ),
    SeedProject(
        "P1005",
        "Telia nettverksrevisjon",
        status="Completed",
        tasks=(SeedTask("01", "Revisjon", status="Completed"),),
    ),
    SeedProject(
        "P1006",
        "Intern kompetanseheving",
        visible_in_ap=False,
        tasks=(SeedTask("01", "Kurs"),),
    ),
)
# The task a line of a project with several active tasks codes, picked by the line's amount
# (no random draw, so the rest of the dataset is unchanged by it).
TASK_CHOICES = {"P1002": ("01", "02"), "P1004": ("01", "02")}

# name, country, currency, org number, VAT number, existing supplier? (number, match basis).
# Every Nordic number passes its check digit (mapping.identifiers); the companies are real,
# most of the numbers are made up.
VENDORS: tuple[tuple[str, str, str, str | None, str | None, str | None], ...] = (
    ("Telenor Norge AS", "NO", "NOK", "976967631", "NO976967631MVA", "org"),
    ("Atea AS", "NO", "NOK", "920237126", "NO920237126MVA", "org"),
    ("Posten Bring AS", "NO", "NOK", "984661185", "NO984661185MVA", "vat"),
    ("Elkjøp Nordic AS", "NO", "NOK", "961155398", None, "name"),
    ("Kontorspar AS", "NO", "NOK", "918110836", "NO918110836MVA", "org"),
    ("Scandic Hotels AS", "NO", "NOK", "981372778", "NO981372778MVA", None),
    ("Vy Buss AS", "NO", "NOK", "982957826", None, None),
    ("Deloitte AS", "NO", "NOK", "980211282", "NO980211282MVA", "vat"),
    ("Advokatfirmaet Thommessen AS", "NO", "NOK", "957423248", None, "name"),
    ("Microsoft Norge AS", "NO", "NOK", "935566770", "NO935566770MVA", "org"),
    ("Norwegian Air Shuttle ASA", "NO", "NOK", "965920358", None, None),
    ("SAS Norge AS", "NO", "NOK", "913734394", None, None),
    ("Rema 1000 Norge AS", "NO", "NOK", "964973385", None, None),
    ("Fjordkraft AS", "NO", "NOK", "976944801", "NO976944801MVA", "org"),
    ("If Skadeforsikring NUF", "NO", "NOK", "981290666", None, "name"),
    ("Entra ASA", "NO", "NOK", "999296432", "NO999296432MVA", "org"),
    ("Møllerbil AS", "NO", "NOK", "953125374", None, None),
    ("Tekna Kurs AS", "NO", "NOK", "922433135", None, None),
    ("Bergen Kaffebrenneri AS", "NO", "NOK", "912345602", None, None),
    ("Trondheim Catering AS", "NO", "NOK", "923456783", None, None),
    ("Oslo Taxi AS", "NO", "NOK", "934567897", None, None),
    ("Nettpartner AS", "NO", "NOK", "945678909", None, None),
    ("Kantega Design AS", "NO", "NOK", "956789001", None, None),
    ("Nordic Office Furniture AS", "NO", "NOK", "967890103", None, None),
    ("Clas Ohlson AB", "SE", "SEK", "556035-8672", "SE556035867201", "vat"),
    ("Dustin Sverige AB", "SE", "SEK", "556237-4339", "SE556237433901", "org"),
    ("Telia Sverige AB", "SE", "SEK", "556430-0142", None, None),
    ("Kjell & Company AB", "SE", "SEK", "556591-5328", None, None),
    ("Stockholm Konferens AB", "SE", "SEK", "556677-8899", None, None),
    ("SJ AB", "SE", "SEK", "556196-1599", None, None),
    ("Nordisk Rekrytering AB", "SE", "SEK", "556812-3342", None, None),
    ("Göteborg Tryckeri AB", "SE", "SEK", "556923-4452", None, None),
    ("Amazon Web Services EMEA SARL", "LU", "EUR", "B186284", "LU26888617", "org"),
    ("Adobe Systems Software Ireland Ltd", "IE", "EUR", "344720", "IE6364992H", None),
    ("Atlassian BV", "NL", "EUR", "64736539", "NL855875916B01", None),
    ("Slack Technologies Ltd", "IE", "EUR", "617356", "IE3491497NH", None),
    ("Miro Europe BV", "NL", "EUR", "72914459", None, None),
    ("Booking.com BV", "NL", "EUR", "31047344", "NL805734958B01", None),
    ("Zoom Video Communications Inc", "US", "EUR", None, None, None),
    ("Hetzner Online GmbH", "DE", "EUR", "HRB 6089", "DE812871812", None),
)

CITIES = {
    "NO": ("Oslo", "0150"),
    "SE": ("Stockholm", "111 22"),
    "LU": ("Luxembourg", "L-1855"),
    "IE": ("Dublin", "D02 X285"),
    "NL": ("Amsterdam", "1017 CE"),
    "US": ("San Jose", "95113"),
    "DE": ("Gunzenhausen", "91710"),
}

# Which accounts each kind of vendor is usually coded to.
ACCOUNT_HINTS = {
    "Telenor": ("6900",),
    "Telia": ("6900",),
    "Atea": ("6551", "6552"),
    "Dustin": ("6551",),
    "Microsoft": ("6552",),
    "Adobe": ("6552",),
    "Atlassian": ("6552",),
    "Slack": ("6552",),
    "Miro": ("6552",),
    "Zoom": ("6552",),
    "Amazon": ("6552",),
    "Hetzner": ("6552",),
    "Posten": ("6800",),
    "Kontorspar": ("6800", "6560"),
    "Clas": ("6560",),
    "Kjell": ("6560",),
    "Elkjøp": ("6540", "6551"),
    "Scandic": ("7140",),
    "Vy": ("7140",),
    "Norwegian": ("7140",),
    "SAS": ("7140",),
    "SJ": ("7140",),
    "Oslo Taxi": ("7140",),
    "Booking": ("7140",),
    "Deloitte": ("6700",),
    "Thommessen": ("6720",),
    "Kantega": ("6720", "7320"),
    "Nettpartner": ("6720",),
    "Rekrytering": ("6720",),
    "Rema": ("7160",),
    "Catering": ("7350", "7160"),
    "Kaffebrenneri": ("7160",),
    "Fjordkraft": ("6340",),
    "If Skade": ("7500",),
    "Entra": ("6300",),
    "Møller": ("7100",),
    "Tekna": ("6860",),
    "Konferens": ("6860",),
    "Tryckeri": ("7320",),
    "Furniture": ("6540",),
}


STREETS = ("Storgata", "Kungsgatan", "Main Street")
MEMOS = ("tjenester", "lisens", "reise", "utstyr")
