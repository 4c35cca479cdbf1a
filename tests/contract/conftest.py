"""Fixtures for the store contract: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from support.store_fixtures import BACKENDS, backend, scratch

__all__ = ["BACKENDS", "backend", "scratch"]
