"""An operator's change to a connection's supplier settings, merged and checked against Visma.

``connection set NAME --supplier-class LEV --credit-terms 30D --vat-zone 01 --org-label
"Foretaksregister-ID" --supplier-numbering manual --supplier-number-prefix R`` lands here. The
shape is checked by ``SupplierOptions.from_settings``; the class, credit terms and VAT zone
must also exist in the connection's Visma company (terms must be visible to suppliers), so a
typo is refused before it is stored, with the ids Visma does have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ml_connector.clients import VismaClient
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.flows.supplier_options import SETTINGS_KEY, SupplierOptions, validate_labels

__all__ = ["SupplierChange", "check_in_visma", "merged_supplier_settings"]


@dataclass(frozen=True)
class SupplierChange:
    """What an operator asked to change; None leaves a value as it is, "" clears it."""

    supplier_class: str | None = None
    credit_terms: str | None = None
    vat_zone: str | None = None
    add_org_labels: tuple[str, ...] = ()
    add_vat_labels: tuple[str, ...] = ()
    clear_labels: bool = False
    numbering: str | None = None
    number_prefix: str | None = None
    number_width: int | None = None

    def is_empty(self) -> bool:
        return self == SupplierChange()

    @property
    def touches_visma_ids(self) -> bool:
        return any(v is not None for v in (self.supplier_class, self.credit_terms, self.vat_zone))


def merged_supplier_settings(settings: Mapping[str, Any], change: SupplierChange) -> dict[str, Any]:
    """``settings`` with ``change`` merged into ``suppliers``; a bad shape raises."""
    current = SupplierOptions.from_settings(ConnectionSettings.parse(settings)).as_settings()
    if change.clear_labels:
        current.pop("org_labels", None)
        current.pop("vat_labels", None)
    for key, added in (
        ("org_labels", change.add_org_labels),
        ("vat_labels", change.add_vat_labels),
    ):
        if added:
            current[key] = list(validate_labels([*current.get(key, []), *added], key))
    for key, value in (
        ("supplier_class", change.supplier_class),
        ("credit_terms", change.credit_terms),
        ("vat_zone", change.vat_zone),
        ("numbering", change.numbering),
        ("number_prefix", change.number_prefix),
        ("number_width", change.number_width),
    ):
        if value is None:
            continue
        if value == "":
            current.pop(key, None)
        else:
            current[key] = value.strip() if isinstance(value, str) else value
    merged = {**settings, SETTINGS_KEY: current}
    SupplierOptions.from_settings(ConnectionSettings.parse(merged))
    if not current:
        merged.pop(SETTINGS_KEY)
    return merged


async def check_in_visma(visma: VismaClient, options: SupplierOptions) -> None:
    """Refuse a supplier class, credit terms or VAT zone the Visma company does not have."""
    if options.supplier_class is not None:
        classes = {c.id for c in await visma.list_supplier_classes()}
        _must_have("supplier class", options.supplier_class, classes)
    if options.credit_terms is not None:
        terms = {t.terms_id for t in await visma.list_credit_terms() if t.for_suppliers}
        _must_have("credit terms (visible to suppliers)", options.credit_terms, terms)
    if options.vat_zone is not None:
        zones = {z.id for z in await visma.list_vat_zones()}
        _must_have("VAT zone", options.vat_zone, zones)


def _must_have(what: str, value: str, known: set[str]) -> None:
    if value not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise ConfigurationError(f"Visma has no {what} {value!r}; it has: {listed}")
