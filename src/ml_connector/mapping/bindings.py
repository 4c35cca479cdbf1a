"""Field bindings: which Visma target each Ramp accounting field feeds. Pure; no I/O.

A binding is keyed by the field's ERP (external) id, the ``category_info.external_id`` bills
carry, and shows the field's Ramp id, its name and the category types seen on bills. Its target:

| target      | a selection's value on the field is …                                  |
|-------------|------------------------------------------------------------------------|
| ``account`` | the GL account number                                                  |
| ``segment:N`` | the value of SUBACCOUNT segment N (cost centre, department, …)        |
| ``project`` | the project id; ``task``: the project task id; ``vat``: the VAT code   |
| ``ignore``  | nothing: Visma does not need it (a person's or a name's decision)      |
| none        | **undecided**: a bill coded to it stops until someone binds the field  |

Each binding records how it was decided (``DecidedBy``), the evidence in words, and who and when.
``via`` says whether an option's ERP id (the default) or its code is the Visma value.

``merge`` applies what discovery found to the stored set: a binding a person set (or the
connection's configuration) is never changed, only its facts (name, Ramp id, types) refreshed.
``coding_fields`` turns the effective bindings into the pass-through fields of ``CodingRules``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from ml_connector.errors import ConfigurationError
from ml_connector.mapping.coding import CodingRules
from ml_connector.mapping.field_evidence import FieldFacts, VismaValues, decide
from ml_connector.mapping.field_names import Synonyms

__all__ = [
    "DOCUMENT_FORMAT",
    "TARGET_HELP",
    "BindingSet",
    "DecidedBy",
    "FieldBinding",
    "discovered_bindings",
    "effective",
    "implicit_bindings",
    "merge",
    "parse_target",
    "rules_with_bindings",
    "target_label",
]

DOCUMENT_FORMAT = "ml-connector/field-bindings"
ACCOUNT, PROJECT, TASK, VAT, IGNORE = "account", "project", "task", "vat", "ignore"
TARGET_HELP = "segment:N, project, task, vat, account or ignore"


class DecidedBy(StrEnum):
    """How a binding came about; discovery never changes the ``pinned`` ones."""

    CATEGORY_TYPE = "category type"
    OVERLAP = "value overlap"
    NAME = "name"
    CHART_PUSH = "chart push"  # a field the connector's own chart push created
    CONFIGURATION = "configuration"  # the connection's mapping.*_field(s) settings
    PERSON = "person"

    @property
    def pinned(self) -> bool:
        return self in (DecidedBy.PERSON, DecidedBy.CONFIGURATION)


def parse_target(text: str) -> str:
    """A target in canonical form (``segment:1``, ``vat`` …); ConfigurationError otherwise."""
    raw = text.strip().lower().replace(" ", "")
    if raw in (ACCOUNT, PROJECT, TASK, VAT, IGNORE):
        return raw
    prefix, _, number = raw.partition(":")
    if prefix == "segment" and number.isdigit() and int(number) >= 1:
        return f"segment:{int(number)}"
    raise ConfigurationError(f"{text!r} is not a binding target: use {TARGET_HELP}")


def target_label(target: str | None) -> str:
    """How a target reads in a table or a message."""
    if target is None:
        return "undecided"
    if target.startswith("segment:"):
        return f"segment {target.partition(':')[2]}"
    return {VAT: "VAT code", TASK: "project task", IGNORE: "ignored"}.get(target, target)


@dataclass(frozen=True)
class FieldBinding:
    """One Ramp field's binding (``target`` None: undecided) and where it came from."""

    field: str
    target: str | None = None
    decided_by: str = ""  # a DecidedBy value; "" while undecided
    evidence: str = ""
    ramp_id: str = ""
    name: str = ""
    types: tuple[str, ...] = ()
    via: str = "id"  # "id" or "code": which of an option's ERP id and code is the Visma value
    author: str = ""
    decided_at: str = ""  # ISO 8601, UTC

    @property
    def pinned(self) -> bool:
        return self.decided_by in (DecidedBy.PERSON.value, DecidedBy.CONFIGURATION.value)

    @property
    def label(self) -> str:
        """``'Kostnadssted' (dim_kst)``, or the bare id when the name adds nothing."""
        return (
            f"{self.name!r} ({self.field})" if self.name and self.name != self.field else self.field
        )

    def facts(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.ramp_id, self.name, self.types)

    def decision(self) -> tuple[str | None, str, str, str]:
        return (self.target, self.decided_by, self.evidence, self.via)

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "target": self.target,
            "decided_by": self.decided_by,
            "evidence": self.evidence,
            "ramp_id": self.ramp_id,
            "name": self.name,
            "types": list(self.types),
            "via": self.via,
            "author": self.author,
            "decided_at": self.decided_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldBinding:
        name = data.get("field")
        if not isinstance(name, str) or not name:
            raise ConfigurationError("a stored field binding has no field id")
        target = data.get("target")
        via = str(data.get("via") or "id")
        return cls(
            field=name,
            target=None if target in (None, "") else parse_target(str(target)),
            decided_by=str(data.get("decided_by") or ""),
            evidence=str(data.get("evidence") or ""),
            ramp_id=str(data.get("ramp_id") or ""),
            name=str(data.get("name") or ""),
            types=tuple(sorted(str(t) for t in data.get("types") or ())),
            via=via if via in ("id", "code") else "id",
            author=str(data.get("author") or ""),
            decided_at=str(data.get("decided_at") or ""),
        )


@dataclass(frozen=True)
class BindingSet:
    """A connection's bindings, one per field, kept sorted by field id."""

    bindings: tuple[FieldBinding, ...] = ()

    def __post_init__(self) -> None:
        ordered = tuple(sorted({b.field: b for b in self.bindings}.values(), key=lambda b: b.field))
        object.__setattr__(self, "bindings", ordered)

    def __len__(self) -> int:
        return len(self.bindings)

    def get(self, field_id: str) -> FieldBinding | None:
        return next((b for b in self.bindings if b.field == field_id), None)

    def with_binding(self, binding: FieldBinding) -> BindingSet:
        return BindingSet((*(b for b in self.bindings if b.field != binding.field), binding))

    @property
    def undecided(self) -> tuple[FieldBinding, ...]:
        return tuple(b for b in self.bindings if b.target is None)

    def to_document(self) -> dict[str, Any]:
        return {"format": DOCUMENT_FORMAT, "bindings": [b.to_dict() for b in self.bindings]}

    @classmethod
    def from_document(cls, data: Any) -> BindingSet:
        rows = data.get("bindings") if isinstance(data, Mapping) else None
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise ConfigurationError("stored field bindings are not a list of bindings")
        return cls(tuple(FieldBinding.from_dict(r) for r in rows))


def merge(current: BindingSet, found: Iterable[FieldBinding]) -> BindingSet:
    """``current`` updated with what discovery ``found``.

    A pinned binding (a person's, the configuration's) keeps its decision; its facts are
    refreshed. Any other binding takes the new decision. Fields discovery did not see this time
    keep their binding (a bill from before may still use them).
    """
    merged = current
    for new in found:
        old = current.get(new.field)
        if old is None:
            merged = merged.with_binding(new)
        elif old.pinned:
            merged = merged.with_binding(
                replace(
                    old,
                    ramp_id=new.ramp_id or old.ramp_id,
                    name=new.name or old.name,
                    types=tuple(sorted({*old.types, *new.types})),
                )
            )
        elif old.decision() != new.decision() or old.facts() != new.facts():
            kept = old if old.decision() == new.decision() else new
            merged = merged.with_binding(
                replace(new, author=kept.author, decided_at=kept.decided_at)
            )
    return merged


def implicit_bindings(rules: CodingRules, *, configured: bool) -> BindingSet:
    """The bindings the connection's field settings imply, before any is stored.

    ``configured``: the settings name the fields (``mapping.gl_fields`` …); they are then
    decided by configuration. Otherwise they are the ids the chart push creates.
    """
    how = DecidedBy.CONFIGURATION if configured else DecidedBy.CHART_PUSH
    pairs: list[tuple[str, str]] = [(f, ACCOUNT) for f in rules.gl_fields]
    pairs += [(f, f"segment:{s}") for f, s in rules.segment_fields.items()]
    for target, name in ((PROJECT, rules.project_field), (VAT, rules.vat_field),
                         (TASK, rules.task_field)):  # fmt: skip
        if name:
            pairs.append((name, target))
    evidence = "the connection's settings" if configured else "the field id the chart push uses"
    return BindingSet(tuple(FieldBinding(f, t, how.value, evidence) for f, t in pairs))


def effective(implicit: BindingSet, stored: BindingSet | None) -> BindingSet:
    """The stored bindings over the implicit ones, field by field."""
    merged = implicit
    for binding in stored.bindings if stored else ():
        merged = merged.with_binding(binding)
    return merged


def _by_target(bindings: Sequence[FieldBinding]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for binding in bindings:
        if binding.target is not None and binding.target != IGNORE:
            found.setdefault(binding.target, []).append(binding.field)
    return found


def rules_with_bindings(
    base: CodingRules, stored: BindingSet | None, version: int | None, *, configured: bool = False
) -> CodingRules:
    """``base`` (from the settings) reading Ramp coding through the effective bindings.

    Every bound field becomes a pass-through field of its slot; ignored fields are skipped; a
    selection on any other field (undecided, unknown) stops its bill (``CodingRules``).
    """
    bound = effective(implicit_bindings(base, configured=configured), stored)
    by_target = _by_target(bound.bindings)
    singles = {t: next(iter(by_target.get(t, ())), None) for t in (PROJECT, VAT, TASK)}
    extra = {f: t for t in (PROJECT, VAT, TASK) for f in by_target.get(t, [])[1:]}
    return replace(
        base,
        gl_fields=frozenset(by_target.get(ACCOUNT, ())),
        segment_fields={
            f: int(t.partition(":")[2])
            for t, fields in by_target.items()
            if t.startswith("segment:")
            for f in fields
        },
        project_field=singles[PROJECT],
        vat_field=singles[VAT],
        task_field=singles[TASK],
        extra_fields=extra,
        ignored_fields=frozenset(b.field for b in bound.bindings if b.target == IGNORE),
        code_fields=frozenset(b.field for b in bound.bindings if b.target and b.via == "code"),
        binding_version=version,
    )


def discovered_bindings(
    facts: Iterable[FieldFacts],
    visma: VismaValues,
    *,
    names: Synonyms | None = None,
    chart: Mapping[str, str] | None = None,
    configured: BindingSet | None = None,
    stored: BindingSet | None = None,
    at: str = "",
) -> list[FieldBinding]:
    """What the evidence says of each field Ramp showed (to ``merge`` into the stored set).

    ``chart``: the fields the connector's chart push created, with their targets; they bind
    themselves. ``configured``: bindings the settings name (decided by configuration). The
    category types stored earlier count as evidence too, so a type seen once is not forgotten
    when the bill that showed it falls out of the sample.
    """
    found = []
    for fact in facts:
        earlier = stored.get(fact.field) if stored else None
        fact = replace(fact, types=fact.types | frozenset(earlier.types if earlier else ()))
        own = configured.get(fact.field) if configured else None
        if own is not None:
            binding = own
        elif chart and fact.field in chart:
            evidence = "the connector's chart push created this field"
            binding = FieldBinding(
                fact.field, chart[fact.field], DecidedBy.CHART_PUSH.value, evidence
            )
        else:
            decision = decide(fact, visma, names)
            binding = FieldBinding(
                fact.field,
                decision.target,
                decision.decided_by,
                decision.evidence,
                via=decision.via,
            )
        if not binding.pinned:
            binding = replace(binding, author="discovery", decided_at=at)
        found.append(
            replace(binding, ramp_id=fact.ramp_id, name=fact.name, types=tuple(sorted(fact.types)))
        )
    return found
