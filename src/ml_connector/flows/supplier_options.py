"""A connection's supplier settings: extra form labels, creation defaults, numbering.

They live in the connection's settings under ``suppliers``::

    {"suppliers": {
        "org_labels": ["Foretaksregister-ID"],   # also read as organisation numbers
        "vat_labels": ["Avgiftsnummer"],          # read as VAT numbers
        "supplier_class": "LEV",                  # class of the suppliers the connector creates
        "credit_terms": "30D",                    # their credit terms (else the class's)
        "vat_zone": "NO",                         # their VAT zone (else the class's)
        "numbering": "detect",                    # detect | auto | manual
        "number_prefix": "R",                     # manual numbering: R00001, R00002, …
        "number_width": 5,
        "index_max_age_s": 300
    }}

:meth:`SupplierOptions.from_settings` validates the shape (a bad value is a
``ConfigurationError``, refused before anything is stored); that the class, terms and zone exist
in Visma is checked by ``runtime.supplier_settings`` when an operator sets them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.mapping.vendor_identity import LabelSet, fold_label

__all__ = ["NUMBERING_MODES", "SETTINGS_KEY", "SupplierOptions", "validate_labels"]

SETTINGS_KEY = "suppliers"
NUMBERING_MODES = ("detect", "auto", "manual")
_MAX_LABEL = 80
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _\-./]{0,29}")
_PREFIX = re.compile(r"[A-Za-z0-9\-]{0,10}")


def validate_labels(raw: Any, what: str) -> tuple[str, ...]:
    """Form labels as given: strings with a letter or digit, at most 80 characters, no repeats."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not all(isinstance(label, str) for label in raw):
        raise ConfigurationError(f"suppliers.{what} must be a list of form labels")
    labels: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for label in (text.strip() for text in raw):
        folded = fold_label(label)
        if not folded or len(label) > _MAX_LABEL:
            raise ConfigurationError(
                f"suppliers.{what}: {label!r} is not a usable form label "
                f"(letters or digits, at most {_MAX_LABEL} characters)"
            )
        if folded not in seen:
            seen.add(folded)
            labels.append(label)
    return tuple(labels)


def _visma_id(raw: Any, what: str) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _ID.fullmatch(raw.strip()):
        raise ConfigurationError(f"suppliers.{what}: {raw!r} is not a Visma id")
    return raw.strip()


@dataclass(frozen=True)
class SupplierOptions:
    """See the module docstring."""

    org_labels: tuple[str, ...] = ()
    vat_labels: tuple[str, ...] = ()
    supplier_class: str | None = None
    credit_terms: str | None = None
    vat_zone: str | None = None
    numbering: str = "detect"
    number_prefix: str = ""
    number_width: int | None = None
    index_max_age_s: float = 300.0

    @property
    def labels(self) -> LabelSet:
        """The default labels plus the connection's own."""
        return LabelSet().extended(self.org_labels, self.vat_labels)

    def as_settings(self) -> dict[str, Any]:
        """The non-default values, as stored under ``suppliers``."""
        defaults = SupplierOptions()
        stored: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value != getattr(defaults, name):
                stored[name] = list(value) if isinstance(value, tuple) else value
        return stored

    @classmethod
    def from_settings(cls, settings: ConnectionSettings) -> SupplierOptions:
        raw = settings.suppliers or {}
        if not isinstance(raw, Mapping):
            raise ConfigurationError("suppliers settings must be an object")
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigurationError(f"unknown suppliers settings: {', '.join(unknown)}")
        numbering = str(raw.get("numbering") or "detect")
        if numbering not in NUMBERING_MODES:
            raise ConfigurationError(
                f"suppliers.numbering is one of {', '.join(NUMBERING_MODES)}, not {numbering!r}"
            )
        prefix = str(raw.get("number_prefix") or "")
        if not _PREFIX.fullmatch(prefix):
            raise ConfigurationError(
                f"suppliers.number_prefix: {prefix!r} must be at most 10 letters, digits or dashes"
            )
        return cls(
            org_labels=validate_labels(raw.get("org_labels"), "org_labels"),
            vat_labels=validate_labels(raw.get("vat_labels"), "vat_labels"),
            supplier_class=_visma_id(raw.get("supplier_class"), "supplier_class"),
            credit_terms=_visma_id(raw.get("credit_terms"), "credit_terms"),
            vat_zone=_visma_id(raw.get("vat_zone"), "vat_zone"),
            numbering=numbering,
            number_prefix=prefix,
            number_width=_bounded_int(raw.get("number_width"), "number_width", 1, 15),
            index_max_age_s=float(
                _bounded_int(raw.get("index_max_age_s"), "index_max_age_s", 5, 86_400) or 300
            ),
        )


def _bounded_int(raw: Any, what: str, low: int, high: int) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ConfigurationError(f"suppliers.{what} must be a whole number")
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"suppliers.{what} must be a whole number") from None
    if not low <= value <= high:
        raise ConfigurationError(f"suppliers.{what} must be between {low} and {high}")
    return value
