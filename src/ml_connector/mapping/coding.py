"""Resolve Ramp coding (accounting field selections) to Visma coding. Pure; no I/O.

A Ramp bill line carries selections such as ``{field: "gl_account", type: GL_ACCOUNT, value:
"6800"}``. ``CodingRules`` says which Ramp field means what in Visma:

- the GL account: any selection of type ``GL_ACCOUNT``, or a field listed in ``gl_fields``;
- subaccount segments: ``segment_fields`` maps a field's external id to a SUBACCOUNT segment id;
- the project: ``project_field``; the VAT code: ``vat_field``.

Precedence for each target: the line's own selection, then the bill-level selection, then the
configured default (``default_account``, ``default_project``, ``vat_by_account`` then
``default_vat``). A line whose GL account resolves to nothing is a ``MappingError``: we never
guess an account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ml_connector.errors import MappingError, NeedsAttention
from ml_connector.mapping.money import to_decimal

__all__ = ["CodedLine", "CodingRules", "ResolvedLine", "Selection", "resolve_lines"]

GL_TYPE = "GL_ACCOUNT"


@dataclass(frozen=True)
class Selection:
    """One Ramp accounting field selection, reduced to the ERP-side ids."""

    field: str  # the field's external (ERP) id, e.g. "subaccount-1"
    value: str  # the option's external (ERP) id, e.g. "100"
    type: str = "OTHER"  # Ramp's category type, e.g. GL_ACCOUNT
    name: str = ""  # what the Ramp user saw, for messages


@dataclass(frozen=True)
class CodedLine:
    """One Ramp bill line: amount in minor units (VAT included) and its selections."""

    amount_minor: int
    memo: str
    selections: tuple[Selection, ...] = ()
    quantity: int = 1


@dataclass(frozen=True)
class CodingRules:
    """How a connection reads Ramp coding. Defaults match what the chart push creates."""

    gl_fields: frozenset[str] = frozenset({"gl_account"})
    segment_fields: Mapping[str, int] = field(
        default_factory=lambda: {"subaccount-1": 1, "subaccount-2": 2}
    )
    project_field: str | None = "project"
    vat_field: str | None = "vat"
    default_account: str | None = None
    default_project: str | None = None
    default_vat: str | None = None
    vat_by_account: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolvedLine:
    """A Visma supplier-invoice line, ready to be written."""

    line_number: int
    description: str
    amount: Decimal  # document currency, VAT included
    quantity: Decimal
    account: str
    subaccount: tuple[tuple[int, str], ...]
    project: str | None
    vat_code: str | None


def _pick(
    selections: Sequence[Selection], bill_level: Sequence[Selection], match: str | None
) -> str | None:
    if match is None:
        return None
    for source in (selections, bill_level):
        for sel in source:
            if sel.field == match:
                return sel.value
    return None


def _account(
    rules: CodingRules, line: Sequence[Selection], bill: Sequence[Selection]
) -> str | None:
    for source in (line, bill):
        for sel in source:
            if sel.type == GL_TYPE or sel.field in rules.gl_fields:
                return sel.value
    return rules.default_account


def resolve_lines(
    lines: Sequence[CodedLine],
    bill_selections: Sequence[Selection],
    rules: CodingRules,
    *,
    currency: str,
    total_minor: int,
) -> list[ResolvedLine]:
    """Turn Ramp lines into Visma lines; the amounts add up to ``total_minor`` exactly.

    A bill without lines becomes one line carrying the bill total and the bill-level coding.
    """
    if not lines:
        lines = [CodedLine(total_minor, "", ())]
    line_sum = sum(line.amount_minor for line in lines)
    if line_sum != total_minor:
        raise NeedsAttention(
            f"The bill's lines add up to {to_decimal(line_sum, currency)} {currency}, "
            f"but the bill total is {to_decimal(total_minor, currency)} {currency}",
            hint="Correct the line amounts in Ramp so they match the invoice total.",
            code="lines_do_not_balance",
        )
    resolved = []
    for number, line in enumerate(lines, start=1):
        account = _account(rules, line.selections, bill_selections)
        if account is None:
            raise MappingError(
                f"Line {number} ({line.memo or 'no description'}) has no GL account",
                hint="Code the line's GL account in Ramp, or set a default expense account "
                "for this connection.",
                code="unmapped_account",
            )
        segments = tuple(
            sorted(
                (segment_id, value)
                for field_id, segment_id in rules.segment_fields.items()
                if (value := _pick(line.selections, bill_selections, field_id)) is not None
            )
        )
        project = _pick(line.selections, bill_selections, rules.project_field)
        vat = _pick(line.selections, bill_selections, rules.vat_field)
        resolved.append(
            ResolvedLine(
                line_number=number,
                description=(line.memo or "").strip()[:30],
                amount=to_decimal(line.amount_minor, currency),
                quantity=Decimal(1),
                account=account,
                subaccount=segments,
                project=project or rules.default_project,
                vat_code=vat or rules.vat_by_account.get(account) or rules.default_vat,
            )
        )
    return resolved
