"""Resolve Ramp coding (accounting field selections) to Visma coding. Pure; no I/O.

A Ramp bill line carries selections such as ``{field: "gl_account", type: GL_ACCOUNT, value:
"6800"}``. ``CodingRules`` says which Ramp field means what in Visma:

- the GL account: any selection of type ``GL_ACCOUNT``, or a field listed in ``gl_fields``;
- subaccount segments: ``segment_fields`` maps a field's external id to a SUBACCOUNT segment id;
- the project: ``project_field``; the VAT code: ``vat_field``; the project task: ``task_field``.

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

Nothing is guessed. A line whose GL account resolves to nothing is a ``MappingError``. So is a
selection of a *mapped* field (one the table has non-fallback rows for, and that is not a
pass-through field) whose value no row matches: a ``*`` row for that field is how a default is
configured for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from ml_connector.errors import MappingError, NeedsAttention
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
    task_field: str | None = "project_task"
    default_account: str | None = None
    default_project: str | None = None
    default_vat: str | None = None
    vat_by_account: Mapping[str, str] = field(default_factory=dict)
    table: MappingTable = field(default_factory=MappingTable)  # Ramp-originated coding
    mapping_version: int | None = None  # the stored table version, named in the audit trail

    def with_table(self, table: MappingTable, version: int | None) -> CodingRules:
        """These rules reading Ramp-originated coding through ``table`` (saved as ``version``)."""
        return replace(self, table=table, mapping_version=version)

    @property
    def passthrough_fields(self) -> frozenset[str]:
        """Fields whose option ids are Visma ids already (the chart push created them)."""
        named = {self.project_field, self.vat_field, self.task_field} - {None}
        return frozenset(self.gl_fields | set(self.segment_fields) | {str(f) for f in named})


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


def _first(selections: Sequence[Selection], accept: Callable[[Selection], bool]) -> str | None:
    return next((sel.value for sel in selections if accept(sel)), None)


def _of_fields(fields: frozenset[str] | set[str]) -> Callable[[Sequence[Selection]], str | None]:
    """Pass-through reader: the first selection of any of ``fields``."""
    return lambda selections: _first(selections, lambda sel: sel.field in fields)


def _first_found(*steps: Callable[[], str | None]) -> str | None:
    """The first value a step yields; later steps are not run."""
    return next((value for step in steps if (value := step()) is not None), None)


def _best(rules: Iterable[MappingRule]) -> str | None:
    chosen = min(rules, key=rule_order, default=None)
    return None if chosen is None else chosen.visma_value


@dataclass(frozen=True)
class _Line:
    """What one line's resolution may look at."""

    number: int
    memo: str
    own: Sequence[Selection]
    bill: Sequence[Selection]
    entity_id: str | None


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

    def resolve(
        self,
        slot: str,
        line: _Line,
        passthrough: Callable[[Sequence[Selection]], str | None],
        *,
        account: str | None = None,
        per_account: Mapping[str, str] | None = None,
        default: str | None = None,
    ) -> str | None:
        steps: Iterator[Callable[[], str | None]] = iter(
            (
                lambda: self._selected(slot, line.own, fallback=False),
                lambda: passthrough(line.own),
                lambda: self._selected(slot, line.bill, fallback=False),
                lambda: passthrough(line.bill),
                lambda: self._selected(slot, line.own, fallback=True),
                lambda: self._selected(slot, line.bill, fallback=True),
                lambda: self._keyed(slot, SOURCE_ENTITY, line.entity_id),
                lambda: self._keyed(slot, SOURCE_ACCOUNT, account),
                lambda: (per_account or {}).get(account) if account is not None else None,
                lambda: self._keyed(slot, SOURCE_DEFAULT, "*"),
                lambda: default,
            )
        )
        return next((value for step in steps if (value := step()) is not None), None)

    def check_mapped(self, line: _Line) -> None:
        """Refuse a selection of a mapped field whose value no mapping row covers."""
        rules = self.rules
        mapped = rules.table.mapped_fields - rules.passthrough_fields
        if not mapped:
            return
        for where, selections in (("", line.own), (" (bill-level coding)", line.bill)):
            for sel in selections:
                if sel.field not in mapped or sel.type == GL_TYPE:
                    continue
                if any(
                    r.matches(sel.field, sel.value) and not r.is_fallback for r in rules.table.rules
                ):
                    continue
                shown = f" ({sel.name})" if sel.name and sel.name != sel.value else ""
                raise MappingError(
                    f"Line {line.number} ({line.memo or 'no description'}){where}: Ramp "
                    f"{sel.field} {sel.value!r}{shown} is not mapped to anything in Visma",
                    hint=f"Add a mapping for {sel.field}={sel.value} (ml-connector mappings "
                    f"set), or a '*' row for {sel.field} to give that field a default.",
                    code="unmapped_value",
                )

    def task(self, line: _Line, project: str | None) -> str | None:
        """The line's project task as coded: a task selection (mapped through the table, or
        the task field's own value), then the table's ``@project`` row for ``project``.

        Coding on a line without a real project is kept, so pre-flight names it rather than
        dropping it; a fallback row only fills a real project's task.
        """
        slot = Target.TASK.value
        task_field = self.rules.task_field

        def passthrough(selections: Sequence[Selection]) -> str | None:
            return _first(selections, lambda s: s.field == task_field) if task_field else None

        coded = _first_found(
            lambda: self._selected(slot, line.own, fallback=False),
            lambda: passthrough(line.own),
            lambda: self._selected(slot, line.bill, fallback=False),
            lambda: passthrough(line.bill),
        )
        if coded is not None or project is None or project == NON_PROJECT:
            return coded
        return _first_found(
            lambda: self._selected(slot, line.own, fallback=True),
            lambda: self._selected(slot, line.bill, fallback=True),
            lambda: self._keyed(slot, SOURCE_PROJECT, project),
        )

    def line(
        self, line: _Line
    ) -> tuple[str | None, tuple[tuple[int, str], ...], str | None, str | None]:
        """(account, segments, project, VAT code) of one line."""
        rules = self.rules
        self.check_mapped(line)

        def gl(selections: Sequence[Selection]) -> str | None:
            return _first(selections, lambda s: s.type == GL_TYPE or s.field in rules.gl_fields)

        account = self.resolve(Target.ACCOUNT.value, line, gl, default=rules.default_account)
        segment_ids = set(rules.segment_fields.values()) | {
            r.segment for r in rules.table.rules if r.segment is not None
        }
        segments = []
        for segment_id in sorted(segment_ids):
            fields = {f for f, s in rules.segment_fields.items() if s == segment_id}
            value = self.resolve(
                f"segment:{segment_id}",
                line,
                _of_fields(fields),
                account=account,
            )
            if value is not None:
                segments.append((segment_id, value))
        project = self.resolve(
            Target.PROJECT.value,
            line,
            lambda sels: _first(sels, lambda s: s.field == rules.project_field),
            account=account,
            default=rules.default_project,
        )
        vat = self.resolve(
            Target.VAT.value,
            line,
            lambda sels: _first(sels, lambda s: s.field == rules.vat_field),
            account=account,
            per_account=rules.vat_by_account,
            default=rules.default_vat,
        )
        return account, tuple(segments), project, vat


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
        view = _Line(number, line.memo, line.selections, bill_selections, entity_id)
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
