"""What every Visma read model shares: the frozen camelCase base, Visma's date-time-as-date,
and the small references and paging facts embedded in many answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["IdDescription", "Metadata", "VismaDate", "VismaModel"]


def _date_part(value: Any) -> Any:
    """Visma sends dates as date-times ("2025-11-08T00:00:00"); keep the calendar date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and len(value) >= 10:
        return value[:10]
    return value


VismaDate = Annotated[date, BeforeValidator(_date_part)]


class VismaModel(BaseModel):
    """A Visma answer: frozen, camelCase on the wire, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel)


class IdDescription(VismaModel):
    """The small ``{id, description}`` reference Visma embeds (credit terms, VAT code …)."""

    id: str | None = None
    description: str | None = None


class Metadata(VismaModel):
    """Paging facts repeated on every list record."""

    total_count: int | None = None
    max_page_size: int | None = None
