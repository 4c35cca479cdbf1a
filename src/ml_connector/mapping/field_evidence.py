"""Decide which Visma target a Ramp accounting field feeds, from evidence. Pure; no I/O.

Ramp's field resource carries no type, so ``decide`` weighs what is known, strongest first:

1. **Category type.** Bills coded to the field say what Ramp thinks it is
   (``category_info.type``): ``GL_ACCOUNT`` is the account, ``PROJECT`` the project and
   ``TAX_CODE`` the VAT code. ``COST_CENTER`` says "a segment" but not which one: the value
   overlap or the name must settle that. Ramp's GL account category is the account too.
2. **Value overlap.** How many of the field's option ids (or codes) are values of each candidate
   in Visma: the accounts, each SUBACCOUNT segment's values, the projects, the project tasks and
   the VAT codes. It decides when at least half of the options belong to one candidate and no
   other candidate reaches half as many.
3. **Name.** The field's name and id, through ``field_names.Synonyms``. A name decides only when
   it points to exactly one target and the values do not contradict it: a field whose options
   are known, none of which is a value of the named target, stays undecided. So a Ramp field
   "Prosjekt" holding a Visma segment's values is bound to the segment (by overlap), never to
   the project (by name).

When nothing settles it the field is **undecided**; nothing is guessed. A decision also says
whether an option's ERP id or its code carries the Visma value (``via``), whichever overlaps more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ml_connector.mapping.field_names import Synonyms

__all__ = [
    "MIN_SHARE",
    "Decision",
    "FieldFacts",
    "Overlap",
    "SegmentValues",
    "VismaValues",
    "decide",
    "overlaps",
]

# The share of a field's options that must be values of one candidate for overlap to decide.
MIN_SHARE = 0.5
_BY_TYPE = {"GL_ACCOUNT": "account", "PROJECT": "project", "TAX_CODE": "vat"}
_STRONG = frozenset({*_BY_TYPE, "COST_CENTER"})


@dataclass(frozen=True)
class FieldFacts:
    """What Ramp shows of one accounting field: its ids, name, options and the types seen."""

    field: str  # the ERP (external) id; the key of its binding
    ramp_id: str = ""
    name: str = ""
    types: frozenset[str] = frozenset()  # category_info.type values on recent bills
    option_ids: frozenset[str] = frozenset()  # ERP ids of its options (and values seen on bills)
    option_codes: frozenset[str] = frozenset()
    gl_category: bool = False  # Ramp's GL account category (from the GL accounts list)


@dataclass(frozen=True)
class SegmentValues:
    description: str
    values: frozenset[str]


@dataclass(frozen=True)
class VismaValues:
    """The values a supplier-invoice line can take in Visma, per target."""

    accounts: frozenset[str] = frozenset()
    segments: Mapping[int, SegmentValues] = field(default_factory=dict)
    projects: frozenset[str] = frozenset()
    tasks: frozenset[str] = frozenset()
    vat: frozenset[str] = frozenset()

    def candidates(self) -> dict[str, frozenset[str]]:
        """Every bindable target (``ignore`` aside) and its values."""
        found = {"account": self.accounts, "project": self.projects, "task": self.tasks}
        for segment_id, segment in sorted(self.segments.items()):
            found[f"segment:{segment_id}"] = segment.values
        found["vat"] = self.vat
        return found

    def label(self, target: str) -> str:
        """``segment:1`` → ``segment 1 (Kostnadssted)``; other targets as they are."""
        if target.startswith("segment:"):
            segment = self.segments.get(int(target.partition(":")[2]))
            name = f" ({segment.description})" if segment and segment.description else ""
            return f"segment {target.partition(':')[2]}{name}"
        return {"vat": "VAT code", "task": "project task"}.get(target, target)


@dataclass(frozen=True)
class Overlap:
    """How many of a field's options are values of one candidate, by id or by code."""

    target: str
    count: int
    share: float
    via: str  # "id" or "code"


@dataclass(frozen=True)
class Decision:
    """A target (None: undecided), how it was decided, and the evidence in words."""

    target: str | None
    decided_by: str  # "category type" | "value overlap" | "name" | "" (undecided)
    evidence: str
    via: str = "id"


def overlaps(facts: FieldFacts, visma: VismaValues) -> list[Overlap]:
    """Per candidate, the better of id and code overlap; largest first, then by target."""
    total = len(facts.option_ids)
    if not total:
        return []
    found = []
    for target, values in visma.candidates().items():
        by_id = len(facts.option_ids & values)
        by_code = len(facts.option_codes & values)
        count, via = (by_code, "code") if by_code > by_id else (by_id, "id")
        if count:
            found.append(Overlap(target, count, count / total, via))
    return sorted(found, key=lambda o: (-o.count, o.target))


def _decisive(found: list[Overlap]) -> Overlap | None:
    if not found or found[0].share < MIN_SHARE:
        return None
    runner_up = found[1].share if len(found) > 1 else 0.0
    return found[0] if runner_up <= found[0].share / 2 else None


def _via(target: str, found: list[Overlap]) -> str:
    return next((o.via for o in found if o.target == target), "id")


def _share(overlap: Overlap, facts: FieldFacts, visma: VismaValues) -> str:
    what = "codes" if overlap.via == "code" else "ids"
    return (
        f"{overlap.count} of its {len(facts.option_ids)} option {what} are "
        f"{visma.label(overlap.target)} values in Visma"
    )


def _by_type(facts: FieldFacts, found: list[Overlap]) -> Decision | None:
    strong = sorted(facts.types & _STRONG)
    if len(strong) > 1:
        return Decision(None, "", f"bills show it as {' and '.join(strong)}")
    if facts.gl_category:
        via = _via("account", found)
        return Decision("account", "category type", "Ramp's GL account category", via)
    if strong and strong[0] in _BY_TYPE:
        target = _BY_TYPE[strong[0]]
        via = _via(target, found)
        return Decision(target, "category type", f"bills code it as {strong[0]}", via)
    return None


def _by_name(
    facts: FieldFacts, visma: VismaValues, names: Synonyms, found: list[Overlap], allowed: set[str]
) -> Decision | None:
    segments = {sid: s.description for sid, s in visma.segments.items()}
    named = names.targets_named((facts.name, facts.field), segments) & (allowed | {"ignore"})
    if len(named) != 1:
        return None
    target = next(iter(named))
    if target == "ignore":
        return Decision(
            "ignore", "name", f"the name {facts.name or facts.field!r} is to be ignored"
        )
    values = visma.candidates().get(target, frozenset())
    if facts.option_ids and values and not any(o.target == target for o in found):
        return None  # the name says one thing, the values another: not settled
    return Decision(
        target,
        "name",
        f"the name {facts.name or facts.field!r} means {visma.label(target)}",
        _via(target, found),
    )


def decide(facts: FieldFacts, visma: VismaValues, names: Synonyms | None = None) -> Decision:
    """The binding the evidence supports for one field, or an undecided Decision saying why."""
    names = names or Synonyms()
    found = overlaps(facts, visma)
    typed = _by_type(facts, found)
    if typed is not None:
        return typed
    allowed = set(visma.candidates())
    cost_centre = "COST_CENTER" in facts.types
    if cost_centre:  # a segment, but which one the type does not say
        allowed = {t for t in allowed if t.startswith("segment:")}
        found = [o for o in found if o.target in allowed]
    best = _decisive(found)
    prefix = "bills code it as COST_CENTER; " if cost_centre else ""
    if best is not None:
        return Decision(best.target, "value overlap", prefix + _share(best, facts, visma), best.via)
    named = _by_name(facts, visma, names, found, allowed)
    if named is not None:
        return Decision(named.target, named.decided_by, prefix + named.evidence, named.via)
    return Decision(None, "", _why_not(facts, visma, found, cost_centre))


def _why_not(facts: FieldFacts, visma: VismaValues, found: list[Overlap], cost_centre: bool) -> str:
    if cost_centre and not visma.segments:
        return "bills code it as COST_CENTER, but Visma's SUBACCOUNT has no segments"
    if cost_centre:
        return "bills code it as COST_CENTER, but neither its values nor its name say which segment"
    if found:
        parts = ", ".join(
            f"{visma.label(o.target)} {o.count}/{len(facts.option_ids)}" for o in found[:3]
        )
        return f"its values match several targets ({parts}) and its name settles nothing"
    if facts.option_ids:
        return "none of its values is a Visma value, and its name matches no target"
    return "no bill shows its type, it has no options, and its name matches no target"
