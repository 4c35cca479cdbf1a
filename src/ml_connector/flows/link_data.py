"""Typed views of a link's ``data`` per link kind: what each flow keeps on its links.

The store keeps a link's data as a JSON object (``store.Link.data``); the flows read and write
it only through these views. ``from_dict`` reads the stored object and ``to_dict`` gives it back
with exactly the keys that were there (a field left unset is not written), so the stored JSON
is what the flows always wrote. Keys a view does not name are kept in ``rest``, untouched.

- ``BillLinkData`` (bill → supplier invoice): ``payload_hash``, the hash of the payload the
  invoice carries; ``posted_hash``, the hash of the payload a POST was about to send (kept
  before each POST, so an invoice adopted later is known to carry it); ``attached``, the keys
  of the invoice files already attached.
- ``SupplierLinkData`` (vendor → supplier): ``matched_by``, the F2 step that found or made
  the supplier.
- ``PaymentLinkData`` (paid bill → supplier payment): ``invoice``, the invoice it pays;
  ``payload``, the payment as sent; ``released``, set once the payment is released;
  ``release`` and ``invoice_release``, the ids of background release requests (of the payment,
  of its invoice) still to be polled (``flows.releases``).
- ``OrderLinkData`` (purchase order → Visma order): ``payload``, what was last sent (header
  and lines by Ramp line id); ``lines``, Ramp line id → Visma ``lineNbr``; ``pending``, the
  lines a PUT is inserting; ``vendor_id``, the order's Ramp vendor; ``source_digest``, the
  digest of the Ramp order last synced; ``held``, set once the order is put on hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = ["BillLinkData", "OrderLinkData", "PaymentLinkData", "ReleaseKey", "SupplierLinkData"]

# The fields of PaymentLinkData holding a background release request id.
ReleaseKey = Literal["release", "invoice_release"]


def _rest(data: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in known}


def _set(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


@dataclass(frozen=True)
class BillLinkData:
    """A bill link's data: the payload hashes and the files attached."""

    payload_hash: str | None = None
    posted_hash: str | None = None
    attached: tuple[str, ...] | None = None
    rest: Mapping[str, Any] = field(default_factory=dict)

    _KEYS = ("payload_hash", "posted_hash", "attached")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> BillLinkData:
        data = data or {}
        attached = data.get("attached")
        return cls(
            payload_hash=data.get("payload_hash"),
            posted_hash=data.get("posted_hash"),
            attached=None if attached is None else tuple(attached),
            rest=_rest(data, cls._KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.rest)
        _set(out, "posted_hash", self.posted_hash)
        _set(out, "attached", None if self.attached is None else list(self.attached))
        _set(out, "payload_hash", self.payload_hash)
        return out

    def with_file(self, key: str) -> BillLinkData:
        """The same data with one more attached file key."""
        return replace(self, attached=(*(self.attached or ()), key))


@dataclass(frozen=True)
class SupplierLinkData:
    """A vendor link's data: how F2 found (or made) the supplier."""

    matched_by: str | None = None
    rest: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SupplierLinkData:
        data = data or {}
        return cls(matched_by=data.get("matched_by"), rest=_rest(data, ("matched_by",)))

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.rest)
        _set(out, "matched_by", self.matched_by)
        return out


@dataclass(frozen=True)
class OrderLinkData:
    """A purchase-order link's data: what was last sent and where its lines are in Visma."""

    payload: Mapping[str, Any] | None = None
    lines: Mapping[str, int] | None = None
    pending: Mapping[str, int] | None = None
    vendor_id: str | None = None
    source_digest: str | None = None
    held: bool | None = None
    rest: Mapping[str, Any] = field(default_factory=dict)

    _KEYS = ("payload", "lines", "pending", "vendor_id", "source_digest", "held")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> OrderLinkData:
        data = data or {}
        return cls(
            payload=data.get("payload"),
            lines=data.get("lines"),
            pending=data.get("pending"),
            vendor_id=data.get("vendor_id"),
            source_digest=data.get("source_digest"),
            held=data.get("held"),
            rest=_rest(data, cls._KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.rest)
        _set(out, "payload", None if self.payload is None else dict(self.payload))
        _set(out, "lines", None if self.lines is None else dict(self.lines))
        _set(out, "vendor_id", self.vendor_id)
        _set(out, "source_digest", self.source_digest)
        _set(out, "pending", None if self.pending is None else dict(self.pending))
        _set(out, "held", self.held)
        return out


@dataclass(frozen=True)
class PaymentLinkData:
    """A payment link's data: what was paid, whether it is released, releases in flight."""

    invoice: str | None = None
    payload: Mapping[str, Any] | None = None
    released: bool | None = None
    release: str | None = None
    invoice_release: str | None = None
    rest: Mapping[str, Any] = field(default_factory=dict)

    _KEYS = ("invoice", "payload", "released", "release", "invoice_release")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PaymentLinkData:
        data = data or {}
        return cls(
            invoice=data.get("invoice"),
            payload=data.get("payload"),
            released=data.get("released"),
            release=data.get("release"),
            invoice_release=data.get("invoice_release"),
            rest=_rest(data, cls._KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.rest)
        _set(out, "invoice", self.invoice)
        _set(out, "payload", None if self.payload is None else dict(self.payload))
        _set(out, "invoice_release", self.invoice_release)
        _set(out, "release", self.release)
        _set(out, "released", self.released)
        return out

    def request(self, key: ReleaseKey) -> str | None:
        """The release request id kept under ``key``."""
        return self.release if key == "release" else self.invoice_release

    def with_request(self, key: ReleaseKey, request_id: str | None) -> PaymentLinkData:
        """The same data with the request id under ``key`` set (None: dropped)."""
        if key == "release":
            return replace(self, release=request_id)
        return replace(self, invoice_release=request_id)
