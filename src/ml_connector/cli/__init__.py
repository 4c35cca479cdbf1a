"""The ``ml-connector`` command line (Typer). Every option can also come from an environment
variable, named in ``--help``. Commands bridge to the async core with ``asyncio.run``.

One module per command group; importing them registers their commands on ``app``.
"""

from __future__ import annotations

from ml_connector.cli import (
    alerts,
    backfill,
    chart,
    connections,
    demo,
    fields,
    mappings,
    operations,
    records,
    service,
    users,
    webhooks,
)
from ml_connector.cli._common import app
from ml_connector.cli._safe import install_excepthook
from ml_connector.log import configure_logging
from ml_connector.settings import Settings

__all__ = ["app", "main"]

_COMMAND_MODULES = (
    alerts,
    backfill,
    chart,
    connections,
    demo,
    fields,
    mappings,
    operations,
    records,
    service,
    users,
    webhooks,
)


def main() -> None:
    """Console-script entry point."""
    install_excepthook()
    configure_logging(Settings())
    app()
