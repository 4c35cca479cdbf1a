"""Alembic revision files; each names its predecessor in ``down_revision``."""
