"""Errors in finance language, and links to the record on both vendors' screens.

A record that stopped carries what the connector knew when it stopped: an error code (the
pre-flight checks' own codes, ``http_<status>`` for a refusal by a vendor, ``retriable`` or
``internal`` for a run of failures, ``credentials`` for a paused connection), the message, and
a hint. Pre-flight messages are written for finance already; a vendor's refusal quotes the
vendor verbatim ("VismaId: 4f…. Error: Financial period 11-2026 is closed in Supplier ledger.").
:func:`explain` turns both into one plain sentence and one thing to do, and keeps the vendor's
own words and correlation id beside them for support.

Deep links follow the vendors' web apps: Ramp's bill page is ``<ramp_app_url>/bills/<id>``,
and Visma's screen for a supplier invoice is ``<visma_app_url>?ScreenId=AP301000&DocType=…&
RefNbr=…``. Both base URLs are per-connection settings (``ramp_app_url``, ``visma_app_url``)
with the production apps as defaults.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from ml_connector.connection_settings import ConnectionSettings

__all__ = [
    "DEFAULT_RAMP_APP_URL",
    "DEFAULT_VISMA_APP_URL",
    "Explanation",
    "explain",
    "ramp_link",
    "visma_link",
]

DEFAULT_RAMP_APP_URL = "https://app.ramp.com"
DEFAULT_VISMA_APP_URL = "https://erp.visma.net"

_VISMA_ID = re.compile(r"^\s*VismaId:\s*([0-9a-fA-F-]{8,})\.\s*", re.I)
_ERROR_PREFIX = re.compile(r"^\s*Error:\s*", re.I)
_GAVE_UP = re.compile(r"^Gave up after (\d+) attempts: (.*)$", re.S)
_HTTP = re.compile(r"\bHTTP (\d{3})\b")
_LINE = r"(?:(?P<line>[^:]+?):\s*)?"


@dataclass(frozen=True)
class Explanation:
    """What went wrong (``message``), what to do (``fix``), and the vendor's own words."""

    message: str
    fix: str
    vendor_text: str = ""
    vendor_reference: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "message": self.message,
            "fix": self.fix,
            "vendor_text": self.vendor_text,
            "vendor_reference": self.vendor_reference,
        }


def _period(text: str) -> str:
    """``112026`` or ``202611`` → ``11-2026``; ``11-2026`` stays."""
    digits = text.replace("-", "")
    if len(digits) == 6 and digits.isdigit():
        if digits[:2] in ("19", "20") and int(digits[4:]) <= 12:
            return f"{digits[4:]}-{digits[:4]}"
        return f"{digits[:2]}-{digits[2:]}"
    return text


def _on(m: re.Match[str]) -> str:
    line = m.groupdict().get("line")
    return f" ({line.strip()})" if line else ""


# Visma's validation texts (after "VismaId: …. Error: ") → (sentence, fix).
_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, str]]]
_VISMA_RULES: list[_Rule] = [
    (
        re.compile(r"Financial period (\S+) is closed in Supplier ledger", re.I),
        lambda m: (
            f"Period {_period(m[1])} is closed in Visma.",
            "Open the period in Visma's supplier ledger, or move the bill's date in Ramp, "
            "then retry.",
        ),
    ),
    (
        re.compile(r"Financial period (\S+) is not defined or not active", re.I),
        lambda m: (
            f"Period {_period(m[1])} does not exist or is not active in Visma.",
            "Create or activate the financial period in Visma, or move the bill's date in "
            "Ramp, then retry.",
        ),
    ),
    (
        re.compile(_LINE + r"Account '([^']+)' cannot be found", re.I),
        lambda m: (
            f"GL account {m[2]} does not exist in Visma{_on(m)}.",
            f"Map {m[2]} to an existing account in the mapping editor, or create the account "
            "in Visma, then retry.",
        ),
    ),
    (
        re.compile(_LINE + r"Account '([^']+)' is inactive", re.I),
        lambda m: (
            f"GL account {m[2]} is inactive in Visma{_on(m)}.",
            "Reactivate the account in Visma, or code the line to an active account in Ramp, "
            "then retry.",
        ),
    ),
    (
        re.compile(r"Supplier '([^']+)' cannot be found", re.I),
        lambda m: (
            f"Supplier {m[1]} does not exist in Visma.",
            "Check the vendor's supplier link (or create the supplier in Visma), then retry.",
        ),
    ),
    (
        re.compile(r"Supplier '([^']+)' has status (\w+)", re.I),
        lambda m: (
            f"Supplier {m[1]} is {m[2]} in Visma, so no invoices can be entered for it.",
            "Activate the supplier in Visma, then retry.",
        ),
    ),
    (
        re.compile(_LINE + r"Segment value '([^']+)' of segment (\d+) \(([^)]+)\) (.+?)\.?$", re.I),
        lambda m: (
            f"{m[4]} {m[2]} {'is inactive' if 'inactive' in m[5] else 'does not exist'} "
            f"in Visma{_on(m)}.",
            f"Add or reactivate {m[2]} in the {m[4]} segment in Visma, or map it to another "
            "value in the mapping editor, then retry.",
        ),
    ),
    (
        re.compile(_LINE + r"'Project Task' cannot be empty", re.I),
        lambda m: (
            f"A project line names no project task, and Visma requires one{_on(m)}.",
            "Code the task in Ramp's project task field, or set the project's task in the "
            "mapping editor (source @project, target task), then retry.",
        ),
    ),
    (
        re.compile(
            _LINE + r"Project task '([^']+)' (?:of|cannot be found in) project '([^']+)'"
            r"(.*?)\.?$",
            re.I,
        ),
        lambda m: (
            f"Project task {m[2]} of project {m[3]} "
            f"{m[4].strip(' .') or 'does not exist'} in Visma{_on(m)}.",
            "Code an active task of the project in Ramp, or activate the task in Visma, "
            "then retry.",
        ),
    ),
    (
        re.compile(_LINE + r"Project '([^']+)' cannot be found", re.I),
        lambda m: (
            f"Project {m[2]} does not exist in Visma{_on(m)}.",
            "Code the line to an existing project in Ramp, then retry.",
        ),
    ),
    (
        re.compile(_LINE + r"Project '([^']+)' has status (\w+)", re.I),
        lambda m: (
            f"Project {m[2]} is {m[3]} in Visma and takes no new costs{_on(m)}.",
            "Reopen the project in Visma, or code the line to an active project, then retry.",
        ),
    ),
    (
        re.compile(_LINE + r"Project '([^']+)' is not visible in", re.I),
        lambda m: (
            f"Project {m[2]} is not visible in Visma's supplier ledger{_on(m)}.",
            "Tick 'Visible in AP' on the project in Visma, or choose another project.",
        ),
    ),
    (
        re.compile(_LINE + r"TaxID '([^']+)' is not valid after (\S+?)\.?$", re.I),
        lambda m: (
            f"VAT code {m[2]} is no longer valid in Visma (its last day was {m[3]}){_on(m)}.",
            "Code the line to a VAT code that is valid on the invoice date, then retry.",
        ),
    ),
    (
        re.compile(_LINE + r"TaxID '([^']+)' cannot be found", re.I),
        lambda m: (
            f"VAT code {m[2]} does not exist in Visma{_on(m)}.",
            "Map the account to a valid VAT code in the mapping editor, then retry.",
        ),
    ),
    (
        re.compile(r"Currency '([^']+)' cannot be found", re.I),
        lambda m: (
            f"Currency {m[1]} is not enabled in Visma.",
            f"Enable {m[1]} in Visma's currency management, then retry.",
        ),
    ),
]

_BY_STATUS = {
    401: (
        "The vendor no longer accepts the connection's credentials.",
        "An admin replaces the credentials, then resumes the connection.",
    ),
    403: (
        "The connection's integration user lacks a permission the vendor requires.",
        "Give the integration user the missing role or scope, then retry.",
    ),
    404: (
        "The vendor no longer has an object this record refers to.",
        "Check that the bill, supplier or invoice still exists, then retry.",
    ),
    409: (
        "The vendor reports a conflict with an existing document.",
        "Compare the record with the document in Visma; retry or exclude it.",
    ),
    412: (
        "The document changed in Visma while the connector was updating it.",
        "Retry: the connector reads the document again first.",
    ),
    429: (
        "The vendor's rate limit was reached too often.",
        "Nothing to fix in the data; retry later, or spread the work over the hour.",
    ),
}


def _vendor_parts(text: str) -> tuple[str, str]:
    """(the vendor text without its correlation prefix, Visma's correlation id)."""
    reference = ""
    found = _VISMA_ID.match(text)
    if found:
        reference = found[1]
        text = text[found.end() :]
    return _ERROR_PREFIX.sub("", text).strip(), reference


def _from_visma(text: str) -> tuple[str, str] | None:
    for pattern, build in _VISMA_RULES:
        found = pattern.search(text)
        if found:
            return build(found)
    return None


def explain(error_code: str | None, message: str | None, hint: str | None) -> Explanation:
    """One sentence and one fix for a stopped record; the vendor's words kept beside them."""
    code = error_code or ""
    text = (message or "").strip()
    if not text:
        return Explanation("No error was recorded.", hint or "")
    if code == "credentials":
        return Explanation(
            "The connection is paused: Ramp or Visma refused its credentials.",
            "An admin updates the credentials (or the Visma company and tenant), then resumes "
            "the connection; the waiting records then sync by themselves.",
            vendor_text=text,
        )
    gave_up = _GAVE_UP.match(text)
    if gave_up or code in ("retriable", "internal"):
        detail = gave_up[2] if gave_up else text
        attempts = f" after {gave_up[1]} attempts" if gave_up else ""
        status = _HTTP.search(detail)
        if status and int(status[1]) == 429:
            sentence, fix = _BY_STATUS[429]
            return Explanation(sentence, fix, vendor_text=detail)
        system = "Visma" if detail.lower().startswith("visma") else "Ramp"
        if detail.lower().startswith(("visma", "ramp")):
            sentence = f"{system} did not answer properly{attempts}."
        else:
            sentence = f"The connector could not finish this record{attempts}."
        return Explanation(
            sentence,
            "Nothing to fix in the bill: check the vendor's status, then retry.",
            vendor_text=detail,
        )
    if code.startswith("http_"):
        vendor_text, reference = _vendor_parts(text)
        known = _from_visma(vendor_text)
        if known is not None:
            return Explanation(*known, vendor_text=vendor_text, vendor_reference=reference)
        number = int(code[5:]) if code[5:].isdigit() else 0
        if number in _BY_STATUS:
            sentence, fix = _BY_STATUS[number]
            return Explanation(sentence, fix, vendor_text=vendor_text, vendor_reference=reference)
        return Explanation(
            f"Visma refused the document: {vendor_text}",
            hint or "Fix what Visma names, then retry.",
            vendor_text=vendor_text,
            vendor_reference=reference,
        )
    # Pre-flight and flow checks already speak finance; keep their words and hint.
    return Explanation(_sentence(text), hint or "Fix the cause, then retry.")


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def ramp_link(settings: ConnectionSettings, object_type: str, ramp_id: str) -> str:
    """The Ramp web app's page for the object (bills, purchase orders, payments of bills)."""
    base = str(settings.ramp_app_url or DEFAULT_RAMP_APP_URL).rstrip("/")
    section = {"purchase_order": "procurement/purchase-orders"}.get(object_type, "bills")
    return f"{base}/{section}/{quote(ramp_id, safe='')}"


def visma_link(settings: ConnectionSettings, object_type: str, visma_ref: str | None) -> str | None:
    """The Visma screen for the document, or None before it exists.

    ``visma_ref`` is ``DocType/RefNbr`` for a supplier invoice; purchase orders and payments
    carry their number.
    """
    if not visma_ref:
        return None
    base = str(settings.visma_app_url or DEFAULT_VISMA_APP_URL).rstrip("/")
    if object_type == "purchase_order":
        query = {"ScreenId": "PO301000", "OrderType": "RO", "OrderNbr": visma_ref}
    elif object_type == "payment":
        query = {"ScreenId": "AP302000", "DocType": "Payment", "RefNbr": visma_ref}
    else:
        doc_type, _, number = visma_ref.rpartition("/")
        query = {"ScreenId": "AP301000", "DocType": doc_type or "Invoice", "RefNbr": number}
    return f"{base}/?{urlencode(query)}"
