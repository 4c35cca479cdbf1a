"""ml-connector: every approved Ramp bill becomes exactly one Visma.net supplier invoice."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
