"""The mapping table: rules that turn Ramp-side coding into Visma values. Pure; no I/O.

A connection's table is a list of rows. Each row says "when SOURCE has VALUE, set TARGET to
VISMA_VALUE":

| column        | meaning                                                                   |
|---------------|---------------------------------------------------------------------------|
| ``source``    | a Ramp accounting field's external id (``ramp_category``, ``gl_account``), |
|               | or one of the reserved sources ``@entity`` (the bill's Ramp entity id),   |
|               | ``@account`` (the Visma account the line resolved to), ``@project`` (the  |
|               | Visma project the line resolved to; ``task`` targets only), ``@default``  |
| ``value``     | the Ramp option's external id, the entity id, the account number, the     |
|               | project id, or ``*`` for any value (``@default`` rows always use ``*``)   |
| ``target``    | ``account``, ``segment``, ``project``, ``task`` or ``vat``                |
| ``segment``   | the SUBACCOUNT segment id, for ``segment`` targets only                   |
| ``visma_value`` | the Visma account number, segment value, project id, project task id or |
|               | VAT code                                                                  |
| ``priority``  | a whole number, 0 by default; the higher wins when several rows match     |
| ``fallback``  | ``true``: fill the target only when coding left it empty                  |

Rows on reserved sources are always fallbacks: a default expense account is
``@default,*,account,,7790``, a VAT code per account ``@account,6800,vat,,1``, the non-project
``@default,*,project,,X`` and a default cost centre per Ramp entity
``@entity,<entity id>,segment,1,300``; the task of a project that has several
``@project,P1002,task,,02``. How rows take part in resolving a line, and the
tie-break between equal priorities, are described in ``mapping.coding``.

``mapping.table_checks.validate`` checks a table against Visma's master data and returns
problems that name the row: unknown or inactive targets, and conflicting rows (same match,
different result).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ml_connector.errors import ConfigurationError

__all__ = [
    "ANY",
    "COLUMNS",
    "DOCUMENT_FORMAT",
    "NON_PROJECT",
    "RESERVED_SOURCES",
    "SOURCE_ACCOUNT",
    "SOURCE_DEFAULT",
    "SOURCE_ENTITY",
    "SOURCE_PROJECT",
    "MappingRule",
    "MappingTable",
    "MappingTableError",
    "Problem",
    "Target",
    "parse_row",
    "renumbered",
    "rule_order",
]

ANY = "*"
SOURCE_ENTITY = "@entity"
SOURCE_ACCOUNT = "@account"
SOURCE_DEFAULT = "@default"
# Visma's conventional "non-project" id: always accepted on AP lines, and never takes a task.
NON_PROJECT = "X"
SOURCE_PROJECT = "@project"  # keyed by the line's resolved project; sets its task
RESERVED_SOURCES = frozenset({SOURCE_ENTITY, SOURCE_ACCOUNT, SOURCE_DEFAULT, SOURCE_PROJECT})
DOCUMENT_FORMAT = "ml-connector/mapping-table"
COLUMNS = ("source", "value", "target", "segment", "visma_value", "priority", "fallback")


class Target(StrEnum):
    """What a rule sets on a Visma invoice line."""

    ACCOUNT = "account"  # the GL account number
    SEGMENT = "segment"  # one SUBACCOUNT segment's value (cost centre, department)
    PROJECT = "project"  # the project id ("X" is Visma's non-project)
    VAT = "vat"  # the VAT code
    TASK = "task"  # the project task id (Visma's projectTaskId), for lines on a real project


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a table; ``where`` names the row (and line/column when known)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class MappingTableError(ConfigurationError):
    """A table (or the file it came from) is invalid; ``problems`` names every bad row."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"invalid mapping table: {shown}{more}")


@dataclass(frozen=True)
class MappingRule:
    """One row of the table. ``origin`` (say "line 7") only labels messages."""

    source: str
    value: str
    target: Target
    visma_value: str
    segment: int | None = None
    priority: int = 0
    fallback: bool = False
    origin: str = field(default="", compare=False)

    @property
    def is_fallback(self) -> bool:
        """Fills a target only when coding left it empty (reserved sources always do)."""
        return self.fallback or self.source in RESERVED_SOURCES

    @property
    def target_key(self) -> str:
        """``account``, ``project``, ``task``, ``vat`` or ``segment:<id>``: one slot on a line."""
        if self.target is Target.SEGMENT:
            return f"segment:{self.segment}"
        return self.target.value

    @property
    def match_key(self) -> tuple[str, str, str, bool, int]:
        """Rows with equal match keys compete for the same slot in the same way."""
        return (self.source, self.value, self.target_key, self.is_fallback, self.priority)

    def matches(self, source: str, value: str) -> bool:
        return self.source == source and self.value in (ANY, value)

    def to_row(self) -> dict[str, Any]:
        """The JSON form (defaults left out)."""
        row: dict[str, Any] = {
            "source": self.source,
            "value": self.value,
            "target": self.target.value,
            "visma_value": self.visma_value,
        }
        if self.segment is not None:
            row["segment"] = self.segment
        if self.priority:
            row["priority"] = self.priority
        if self.fallback:
            row["fallback"] = True
        return row


def rule_order(rule: MappingRule) -> tuple[int, int, str, str, str]:
    """The documented tie-break: the smallest key wins.

    Higher priority first; then an exact value before the ``*`` wildcard; then the lowest
    source, value and Visma value in plain string order. The key depends only on the rule's
    content, so the winner never depends on the order rows were written in.
    """
    return (-rule.priority, int(rule.value == ANY), rule.source, rule.value, rule.visma_value)


@dataclass(frozen=True)
class MappingTable:
    """A connection's rules, in the order they were written (order never decides a match)."""

    rules: tuple[MappingRule, ...] = ()

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def mapped_fields(self) -> frozenset[str]:
        """Ramp fields whose every value must be mapped (they have non-fallback rows)."""
        return frozenset(r.source for r in self.rules if not r.is_fallback)

    def with_rule(self, rule: MappingRule) -> MappingTable:
        """The table with ``rule`` added, replacing a row for the same match and slot."""
        slot = _slot(rule)
        kept = [r for r in self.rules if _slot(r) != slot]
        index = next((i for i, r in enumerate(self.rules) if _slot(r) == slot), len(kept))
        kept.insert(index, rule)
        return MappingTable(tuple(kept))

    def without(
        self, source: str, value: str, target: Target, segment: int | None = None
    ) -> tuple[MappingTable, int]:
        """The table without the rows for this match and slot, and how many were removed."""
        kept = tuple(
            r
            for r in self.rules
            if not (
                r.source == source
                and r.value == value
                and r.target is target
                and (target is not Target.SEGMENT or r.segment == segment)
            )
        )
        return MappingTable(kept), len(self.rules) - len(kept)

    def to_document(self) -> dict[str, Any]:
        """The JSON document stored per version and written by ``mappings export --json``."""
        return {"format": DOCUMENT_FORMAT, "rules": [r.to_row() for r in self.rules]}

    @classmethod
    def from_document(cls, data: Any) -> MappingTable:
        """Read a JSON document (or a bare list of rows); MappingTableError names bad rows."""
        rows = data.get("rules") if isinstance(data, Mapping) else data
        if not isinstance(rows, list):
            raise MappingTableError([Problem("document", "expected a list of rules")])
        problems: list[Problem] = []
        rules: list[MappingRule] = []
        for number, row in enumerate(rows, start=1):
            where = f"row {number}"
            if not isinstance(row, Mapping):
                problems.append(Problem(where, "expected an object"))
                continue
            unknown = sorted(set(row) - set(COLUMNS))
            for name in unknown:
                problems.append(Problem(f"{where} ({name})", "unknown field"))
            texts = {k: _text(v) for k, v in row.items() if k in COLUMNS}
            rule, found = parse_row(texts, where, column=_column_of(where))
            problems += found
            if rule is not None and not unknown:
                rules.append(rule)
        if problems:
            raise MappingTableError(problems)
        return cls(tuple(rules))


def _column_of(where: str) -> Callable[[str], str]:
    return lambda name: f"{where} ({name})"


def _slot(rule: MappingRule) -> tuple[str, str, str, bool]:
    return (rule.source, rule.value, rule.target_key, rule.is_fallback)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0", ""})


def parse_row(
    texts: Mapping[str, str], where: str, *, column: Callable[[str], str]
) -> tuple[MappingRule | None, list[Problem]]:
    """Build a rule from column texts; problems carry ``column(name)`` as their place.

    Shared by the JSON and CSV readers so both say the same thing about the same mistake.
    """
    problems: list[Problem] = []

    def bad(name: str, message: str) -> None:
        problems.append(Problem(column(name), message))

    source, value = texts.get("source", "").strip(), texts.get("value", "").strip()
    visma_value = texts.get("visma_value", "").strip()
    for name, text in (("source", source), ("value", value), ("visma_value", visma_value)):
        if not text:
            bad(name, "is empty")
    raw_target = texts.get("target", "").strip().lower()
    target = Target(raw_target) if raw_target in Target.__members__.values() else None
    if target is None:
        bad(
            "target",
            f"{raw_target or 'nothing'!r} is not one of account, segment, project, task, vat",
        )
    segment = _int(texts.get("segment", ""), "segment", bad)
    priority = _int(texts.get("priority", ""), "priority", bad)
    raw_fallback = texts.get("fallback", "").strip().lower()
    if raw_fallback not in _TRUE | _FALSE:
        bad("fallback", f"{raw_fallback!r} is not true or false")
    if target is Target.SEGMENT and not texts.get("segment", "").strip():
        bad("segment", "a segment target needs the segment id")
    if target is not None and target is not Target.SEGMENT and segment is not None:
        bad("segment", f"only segment targets take a segment id (target is {target.value})")
    if segment is not None and segment < 1:
        bad("segment", "segment ids start at 1")
    _check_reserved(source, value, target, bad)
    if problems or target is None:
        return None, problems
    rule = MappingRule(
        source=source,
        value=value,
        target=target,
        visma_value=visma_value,
        segment=segment,
        priority=priority or 0,
        fallback=raw_fallback in _TRUE,
        origin=where,
    )
    return rule, problems


def _check_reserved(
    source: str, value: str, target: Target | None, bad: Callable[[str, str], None]
) -> None:
    """What the reserved sources (``@default``, ``@account``, ``@project``) allow."""
    if source == SOURCE_DEFAULT and value and value != ANY:
        bad("value", f"@default rows apply to every line: use {ANY!r}, not {value!r}")
    if source == SOURCE_ACCOUNT and target is Target.ACCOUNT:
        bad("target", "an @account row cannot choose the account it is keyed on")
    if source == SOURCE_PROJECT and target is not None and target is not Target.TASK:
        bad("target", "an @project row sets the project's task only (target task)")
    if source == SOURCE_PROJECT and value == ANY:
        bad("value", "an @project row names one project: tasks belong to a single project")
    if source.startswith("@") and source not in RESERVED_SOURCES:
        bad(
            "source",
            f"unknown reserved source {source!r} (use @entity, @account, @project or @default)",
        )


def _int(text: str, name: str, bad: Callable[[str, str], None]) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        bad(name, f"{text!r} is not a whole number")
        return None


def renumbered(table: MappingTable) -> MappingTable:
    """The same rules labelled by their row number (after edits, origins go stale)."""
    return MappingTable(
        tuple(replace(r, origin=f"row {i}") for i, r in enumerate(table.rules, start=1))
    )
