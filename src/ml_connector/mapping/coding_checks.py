"""The refusals of coding resolution: what stops a bill rather than drop or guess. Pure.

``mapping.coding`` resolves each slot of a line; these checks run around it and raise a
``MappingError`` in finance language (what, which value, how to fix it):

- ``check_bound``: a selection of a field no binding, ignore or table row covers
  (``unbound_field``), with the ``mappings bind`` command that settles it;
- ``check_mapped``: a value of a mapped field that no row covers (``unmapped_value``);
- ``check_agree``: two bound fields that give one slot different values (``conflicting_coding``);
- ``check_held``: a cost centre, project or VAT code taken from a default while the line or bill
  holds an unused Ramp value of that kind (``ramp_value_unused``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ml_connector.errors import MappingError

if TYPE_CHECKING:  # coding imports this module
    from ml_connector.mapping.coding import CodingRules, Selection

__all__ = [
    "FIRST_DEFAULT_STEP",
    "GL_TYPE",
    "LineView",
    "SlotValue",
    "check_agree",
    "check_bound",
    "check_held",
    "check_mapped",
]

GL_TYPE = "GL_ACCOUNT"
# The resolution steps of ``mapping.coding``, numbered as ``_Resolver.resolve`` counts them:
# 1-4 line and bill coding, 5-6 fallback rows, 7 and later Visma-side defaults.
FIRST_DEFAULT_STEP = 7
# Ramp category types that say which slot a value is for (segments: any SUBACCOUNT segment).
_KIND_OF_TYPE = {"COST_CENTER": "segment", "PROJECT": "project", "TAX_CODE": "vat"}
_KIND_WORDS = {"segment": "cost centre", "project": "project", "vat": "VAT code"}
_BIND_HINT = "segment:N|project|task|vat|account"


@dataclass(frozen=True)
class LineView:
    """What one line's resolution may look at."""

    number: int
    memo: str
    own: Sequence[Selection]
    bill: Sequence[Selection]
    entity_id: str | None

    @property
    def title(self) -> str:
        return f"Line {self.number} ({self.memo or 'no description'})"

    def sources(self) -> tuple[tuple[str, Sequence[Selection]], ...]:
        return (("", self.own), (" (bill-level coding)", self.bill))


@dataclass(frozen=True)
class SlotValue:
    """One resolved slot: its value and the step that gave it (0: none did)."""

    value: str | None
    step: int

    @property
    def from_default(self) -> bool:
        return self.value is None or self.step >= FIRST_DEFAULT_STEP


def check_mapped(rules: CodingRules, line: LineView) -> None:
    """Refuse a selection of a mapped field whose value no mapping row covers."""
    mapped = rules.table.mapped_fields - rules.passthrough_fields
    if not mapped:
        return
    for where, selections in line.sources():
        for sel in selections:
            if sel.field not in mapped or sel.type == GL_TYPE:
                continue
            if any(
                r.matches(sel.field, sel.value) and not r.is_fallback for r in rules.table.rules
            ):
                continue
            raise MappingError(
                f"{line.title}{where}: Ramp {sel.field} {sel.value_label} is not mapped to "
                "anything in Visma",
                hint=f"Add a mapping for {sel.field}={sel.value} (ml-connector mappings "
                f"set), or a '*' row for {sel.field} to give that field a default.",
                code="unmapped_value",
            )


def check_bound(rules: CodingRules, line: LineView) -> None:
    """Refuse a selection of a field that is neither bound, ignored nor in the table."""
    known = rules.passthrough_fields | rules.ignored_fields
    known |= {rule.source for rule in rules.table.rules}
    for where, selections in line.sources():
        for sel in selections:
            if sel.field in known or sel.type == GL_TYPE:
                continue
            name = rules.connection_name or "NAME"
            raise MappingError(
                f"{line.title}{where}: Ramp's field {sel.field_label} holds "
                f"{sel.value_label}, but the connector does not know where that field "
                "belongs in Visma, so the invoice was not created",
                hint=f"Tell the connector once, then retry the bill: ml-connector mappings "
                f"bind {name} {sel.field} --to {_BIND_HINT} (or --to ignore if Visma does "
                f"not need it). ml-connector mappings fields {name} shows every field.",
                code="unbound_field",
            )


def _slot_words(slot: str) -> str:
    if slot.startswith("segment:"):
        return f"segment {slot.partition(':')[2]}"
    return {"account": "GL account", "task": "project task", "vat": "VAT code"}.get(slot, slot)


def check_agree(
    rules: CodingRules,
    line: LineView,
    slot: str,
    chosen: Sequence[tuple[Selection, str]],
    where: str,
) -> None:
    """Refuse two bound fields that give one slot different values: never pick one silently."""
    values = {value for _, value in chosen}
    if len(values) < 2:
        return
    (first, one), (second, other) = chosen[0], next(c for c in chosen if c[1] != chosen[0][1])
    name = rules.connection_name or "NAME"
    raise MappingError(
        f"{line.title}{where}: Ramp's fields {first.field_label} and {second.field_label} both "
        f"give the {_slot_words(slot)}, as {one!r} and {other!r}",
        hint="Correct the coding in Ramp so they agree, or bind one of the fields to something "
        f"else (ml-connector mappings bind {name} {second.field} --to …), then retry.",
        code="conflicting_coding",
    )


def _unused(rules: CodingRules, sel: Selection) -> bool:
    """A selection whose value reaches no slot: not bound, not ignored, matched by no row."""
    if sel.field in rules.passthrough_fields or sel.field in rules.ignored_fields:
        return False
    return not any(r.matches(sel.field, sel.value) for r in rules.table.rules)


def check_held(rules: CodingRules, line: LineView, kind: str, slots: Sequence[SlotValue]) -> None:
    """Refuse a default for ``kind`` when the line or bill holds an unused Ramp value of it."""
    if slots and not any(slot.from_default for slot in slots):
        return  # the slot took Ramp's coding (no slot at all: the value goes nowhere)
    for where, selections in line.sources():
        for sel in selections:
            if _KIND_OF_TYPE.get(sel.type) != kind or not _unused(rules, sel):
                continue
            taken = next((s.value for s in slots if s.from_default and s.value), None)
            instead = f"{taken}, a default," if taken else "nothing"
            name = rules.connection_name or "NAME"
            bind_to = "segment:N" if kind == "segment" else kind
            raise MappingError(
                f"{line.title}{where}: Ramp holds the {_KIND_WORDS[kind]} {sel.value_label} in "
                f"{sel.field_label}, but the invoice would take {instead} instead",
                hint=f"Use Ramp's value: bind the field (ml-connector mappings bind {name} "
                f"{sel.field} --to {bind_to}) or map its values (ml-connector mappings set "
                f"{name} {sel.field} …), then retry.",
                code="ramp_value_unused",
            )
