"""What every Ramp read model shares: frozen and tolerant, and date-times that mean UTC when
Ramp leaves the offset out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["RampModel", "UtcDateTime"]


def _assume_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_assume_utc)]


class RampModel(BaseModel):
    """A Ramp answer: frozen, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)
