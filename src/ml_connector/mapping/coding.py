"""Resolve Ramp coding (accounting field selections) to Visma coding. Pure; no I/O.

A Ramp bill line carries selections such as ``{field: "gl_account", type: GL_ACCOUNT, value:
"6800"}``. ``CodingRules`` says which Ramp field means what in Visma (the connection's field
bindings, ``mapping.bindings``, fill these in; without any, the chart push's field ids apply):

- the GL account: any selection of type ``GL_ACCOUNT``, or a field listed in ``gl_fields``;
- subaccount segments: ``segment_fields`` maps a field's external id to a SUBACCOUNT segment id;
- the project: ``project_field``; the VAT code: ``vat_field``; the project task: ``task_field``;
- more fields bound to the project, task or VAT code: ``extra_fields``;
- ``ignored_fields``: fields a person (or a name rule) said Visma does not need;
- ``code_fields``: bound fields whose option *code*, not its ERP id, is the Visma value.

Coding that did not come from Visma (a Ramp category, a custom field) resolves through the
connection's mapping table (``CodingRules.table``, see ``mapping.table``). For each slot of a
line (the account, each segment, the project, the VAT code) the first of these that yields a
value wins:

1. a mapping row matched by one of the line's own selections;
2. the line's own pass-through selection (a field that carries Visma ids, listed above);
3. a mapping row matched by a bill-level selection; 4. the bill-level pass-through selection;
5. a ``fallback`` row matched by a line selection, then by a bill-level one;
6. an ``@entity`` row for the bill's Ramp entity; 7. an ``@account`` row for the line's
   resolved account, then ``vat_by_account`` (VAT only);
8. an ``@default`` row; 9. the configured ``default_account``, ``default_project`` or
   ``default_vat``.

The project task (a real project's lines need one in Visma) has its own, shorter order (see
``_Resolver.task``): steps 1-5 above, on the task slot, then an ``@project`` row for the line's
resolved project. The project's only usable task, the last resort, needs Visma's master data and
is ``mapping.tasks``'s job.

When several rows of one step match, ``mapping.table.rule_order`` picks the winner (higher
priority, then exact value before ``*``, then the lowest source, value and Visma value), so
the order rows were written in never matters.

Nothing is guessed, and no coding is dropped. Each of these is a ``MappingError`` that stops
the bill before anything is written:

- a line whose GL account resolves to nothing (``unmapped_account``);
- a selection of a *mapped* field (one the table has non-fallback rows for, and that is not a
  pass-through field) whose value no row matches (``unmapped_value``): a ``*`` row for that
  field is how a default is configured for it;
- a selection (on the line or the bill) of a field that is neither bound, ignored nor named by
  the table: an undecided or unknown field (``unbound_field``); the message names the field and
  the value and says how to bind it;
- two bound fields on the line (or on the bill) that give one slot different values
  (``conflicting_coding``): which one is right is for a person to say;
- a cost centre, project or VAT code taken from a default (steps 6 to 9) while the line or the
  bill holds a Ramp value of that kind (``COST_CENTER``, ``PROJECT``, ``TAX_CODE``) that no
  binding or row used (``ramp_value_unused``): Ramp's value wins, or the bill stops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from ml_connector.errors import MappingError, NeedsAttention
from ml_connector.mapping.coding_checks import (
    GL_TYPE,
    LineView,
    SlotValue,
    check_agree,
    check_bound,
    check_held,
    check_mapped,
)
from ml_connector.mapping.money import to_decimal
from ml_connector.mapping.table import (
    NON_PROJECT,
    RESERVED_SOURCES,
    SOURCE_ACCOUNT,
    SOURCE_DEFAULT,
    SOURCE_ENTITY,
    SOURCE_PROJECT,
    MappingRule,
    MappingTable,
    Target,
    rule_order,
)

__all__ = ["CodedLine", "CodingRules", "ResolvedLine", "Selection", "resolve_lines"]


@dataclass(frozen=True)
class Selection:
    """One Ramp accounting field selection, reduced to the ERP-side ids."""

    field: str  # the field's external (ERP) id, e.g. "subaccount-1"
    value: str  # the option's external (ERP) id, e.g. "100"
    type: str = "OTHER"  # Ramp's category type, e.g. GL_ACCOUNT
    name: str = ""  # what the Ramp user saw, for messages
    field_name: str = ""  # the field's name in Ramp, for messages
    code: str | None = None  # the option's ERP code (``external_code``)

    @property
    def field_label(self) -> str:
        """``'Kampanje' (dim_kampanje)``, or the bare id when Ramp gave no other name."""
        named = self.field_name and self.field_name != self.field
        return f"{self.field_name!r} ({self.field})" if named else self.field

    @property
    def value_label(self) -> str:
        """``'K12' (Vår 2025)``: the option id and what the Ramp user saw, when it differs."""
        shown = f" ({self.name})" if self.name and self.name != self.value else ""
        return f"{self.value!r}{shown}"


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
    task_field: str | None = "project_task"
    default_account: str | None = None
    default_project: str | None = None
    default_vat: str | None = None
    vat_by_account: Mapping[str, str] = field(default_factory=dict)
    table: MappingTable = field(default_factory=MappingTable)  # Ramp-originated coding
    mapping_version: int | None = None  # the stored table version, named in the audit trail
    extra_fields: Mapping[str, str] = field(default_factory=dict)  # field → project|task|vat
    ignored_fields: frozenset[str] = frozenset()
    code_fields: frozenset[str] = frozenset()  # the option's code is the Visma value
    binding_version: int | None = None  # the stored field bindings version
    connection_name: str = ""  # named in the commands messages suggest

    def with_table(self, table: MappingTable, version: int | None) -> CodingRules:
        """These rules reading Ramp-originated coding through ``table`` (saved as ``version``)."""
        return replace(self, table=table, mapping_version=version)

    def fields_for(self, slot: str) -> frozenset[str]:
        """The pass-through fields of one slot: ``account``, ``segment:N``, ``project`` …"""
        if slot == "account":
            found = set(self.gl_fields)
        elif slot.startswith("segment:"):
            number = int(slot.partition(":")[2])
            found = {f for f, s in self.segment_fields.items() if s == number}
        else:
            single = {"project": self.project_field, "vat": self.vat_field, "task": self.task_field}
            chosen = single.get(slot)
            found = {chosen} if chosen else set()
        found |= {f for f, s in self.extra_fields.items() if s == slot}
        return frozenset(str(f) for f in found) - self.ignored_fields

    @property
    def passthrough_fields(self) -> frozenset[str]:
        """Fields whose option ids (or codes) are Visma ids already: the bound fields."""
        named = {self.project_field, self.vat_field, self.task_field} - {None}
        found = self.gl_fields | set(self.segment_fields) | {str(f) for f in named}
        return frozenset(found | set(self.extra_fields)) - self.ignored_fields

    def visma_value(self, selection: Selection) -> str:
        """What a pass-through selection puts on the Visma line (its code, for code fields)."""
        if selection.field in self.code_fields and selection.code:
            return selection.code
        return selection.value


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
    project_task: str | None = None  # as coded; ``mapping.tasks`` completes and normalises it


def _first_found(*steps: Callable[[], str | None]) -> str | None:
    """The first value a step yields; later steps are not run."""
    return next((value for step in steps if (value := step()) is not None), None)


def _best(rules: Iterable[MappingRule]) -> str | None:
    chosen = min(rules, key=rule_order, default=None)
    return None if chosen is None else chosen.visma_value


class _Resolver:
    """Applies the precedence in the module docstring to one slot of one line."""

    def __init__(self, rules: CodingRules) -> None:
        self.rules = rules
        self.by_slot: dict[str, list[MappingRule]] = {}
        for rule in rules.table.rules:
            self.by_slot.setdefault(rule.target_key, []).append(rule)

    def _selected(
        self, slot: str, selections: Sequence[Selection], *, fallback: bool
    ) -> str | None:
        return _best(
            r
            for r in self.by_slot.get(slot, ())
            if r.source not in RESERVED_SOURCES
            and r.is_fallback == fallback
            and any(r.matches(sel.field, sel.value) for sel in selections)
        )

    def _keyed(self, slot: str, source: str, value: str | None) -> str | None:
        if value is None:
            return None
        return _best(r for r in self.by_slot.get(slot, ()) if r.matches(source, value))

    def _passthrough(
        self, slot: str, line: LineView, selections: Sequence[Selection], where: str
    ) -> str | None:
        """The value of the fields bound to ``slot`` (any GL_ACCOUNT one, for accounts);
        two bound fields that disagree stop the bill (``check_agree``)."""
        rules = self.rules
        fields = rules.fields_for(slot)
        ignored = rules.ignored_fields

        def accept(sel: Selection) -> bool:
            if slot == Target.ACCOUNT.value and sel.type == GL_TYPE:
                return sel.field not in ignored
            return sel.field in fields

        chosen = [(sel, rules.visma_value(sel)) for sel in selections if accept(sel)]
        check_agree(rules, line, slot, chosen, where)
        return chosen[0][1] if chosen else None

    def resolve(
        self,
        slot: str,
        line: LineView,
        *,
        account: str | None = None,
        per_account: Mapping[str, str] | None = None,
        default: str | None = None,
    ) -> SlotValue:
        own, bill = line.sources()
        steps: tuple[Callable[[], str | None], ...] = (
            lambda: self._selected(slot, line.own, fallback=False),
            lambda: self._passthrough(slot, line, own[1], own[0]),
            lambda: self._selected(slot, line.bill, fallback=False),
            lambda: self._passthrough(slot, line, bill[1], bill[0]),
            lambda: self._selected(slot, line.own, fallback=True),
            lambda: self._selected(slot, line.bill, fallback=True),
            lambda: self._keyed(slot, SOURCE_ENTITY, line.entity_id),
            lambda: self._keyed(slot, SOURCE_ACCOUNT, account),
            lambda: (per_account or {}).get(account) if account is not None else None,
            lambda: self._keyed(slot, SOURCE_DEFAULT, "*"),
            lambda: default,
        )
        for number, step in enumerate(steps, start=1):
            value = step()
            if value is not None:
                return SlotValue(value, number)
        return SlotValue(None, 0)

    def task(self, line: LineView, project: str | None) -> str | None:
        """The line's project task as coded: a task selection (mapped through the table, or
        a field bound to tasks), then the table's ``@project`` row for ``project``.

        Coding on a line without a real project is kept, so pre-flight names it rather than
        dropping it; a fallback row only fills a real project's task.
        """
        slot = Target.TASK.value
        own, bill = line.sources()
        coded = _first_found(
            lambda: self._selected(slot, line.own, fallback=False),
            lambda: self._passthrough(slot, line, own[1], own[0]),
            lambda: self._selected(slot, line.bill, fallback=False),
            lambda: self._passthrough(slot, line, bill[1], bill[0]),
        )
        if coded is not None or project is None or project == NON_PROJECT:
            return coded
        return _first_found(
            lambda: self._selected(slot, line.own, fallback=True),
            lambda: self._selected(slot, line.bill, fallback=True),
            lambda: self._keyed(slot, SOURCE_PROJECT, project),
        )

    def line(
        self, line: LineView
    ) -> tuple[str | None, tuple[tuple[int, str], ...], str | None, str | None]:
        """(account, segments, project, VAT code) of one line."""
        rules = self.rules
        check_bound(rules, line)
        check_mapped(rules, line)
        account = self.resolve(Target.ACCOUNT.value, line, default=rules.default_account).value
        segment_ids = (
            set(rules.segment_fields.values())
            | {
                int(f.partition(":")[2])
                for f in rules.extra_fields.values()
                if f.startswith("segment:")
            }
            | {r.segment for r in rules.table.rules if r.segment is not None}
        )
        segment_slots = {sid: self.resolve(f"segment:{sid}", line, account=account)
                         for sid in sorted(segment_ids)}  # fmt: skip
        project = self.resolve(
            Target.PROJECT.value, line, account=account, default=rules.default_project
        )
        vat = self.resolve(
            Target.VAT.value,
            line,
            account=account,
            per_account=rules.vat_by_account,
            default=rules.default_vat,
        )
        check_held(rules, line, "segment", list(segment_slots.values()))
        check_held(rules, line, "project", [project])
        check_held(rules, line, "vat", [vat])
        segments = tuple((sid, s.value) for sid, s in segment_slots.items() if s.value is not None)
        return account, segments, project.value, vat.value


def resolve_lines(
    lines: Sequence[CodedLine],
    bill_selections: Sequence[Selection],
    rules: CodingRules,
    *,
    currency: str,
    total_minor: int,
    entity_id: str | None = None,
) -> list[ResolvedLine]:
    """Turn Ramp lines into Visma lines; the amounts add up to ``total_minor`` exactly.

    A bill without lines becomes one line carrying the bill total and the bill-level coding.
    ``entity_id`` (the bill's Ramp entity) keys the table's ``@entity`` rows.
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
    resolver = _Resolver(rules)
    resolved = []
    for number, line in enumerate(lines, start=1):
        view = LineView(number, line.memo, line.selections, bill_selections, entity_id)
        account, segments, project, vat = resolver.line(view)
        task = resolver.task(view, project)
        if account is None:
            raise MappingError(
                f"Line {number} ({line.memo or 'no description'}) has no GL account",
                hint="Code the line's GL account in Ramp, or set a default expense account "
                "for this connection.",
                code="unmapped_account",
            )
        resolved.append(
            ResolvedLine(
                line_number=number,
                description=(line.memo or "").strip()[:30],
                amount=to_decimal(line.amount_minor, currency),
                quantity=Decimal(1),
                account=account,
                subaccount=segments,
                project=project,
                vat_code=vat,
                project_task=task,
            )
        )
    return resolved
