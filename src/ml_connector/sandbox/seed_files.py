"""Datasets as JSON files, so a sandbox process can play a world its caller built.

``ml-connector sandbox ramp|visma --seed FILE.json`` loads a ``Dataset`` written by
:func:`dump_dataset`. The tests use it to run the sandboxes as separate processes on a world
the product cannot import (a customer with history, built in ``tests/support/``), instead of
on the demo company. The format is the dataclasses' own fields as JSON (dates as ISO text,
amounts as exact decimal text), read back with the same types, so nothing is lost either way.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from ml_connector.sandbox.seed import Dataset

__all__ = ["dump_dataset", "load_dataset"]

_ADAPTER: TypeAdapter[Dataset] = TypeAdapter(Dataset)


def dump_dataset(dataset: Dataset, path: Path) -> Path:
    """Write ``dataset`` to ``path`` as JSON; returns the path."""
    path.write_bytes(_ADAPTER.dump_json(dataset, indent=1))
    return path


def load_dataset(path: Path) -> Dataset:
    """The dataset in ``path``; ValueError naming the file and the first problem otherwise."""
    try:
        return _ADAPTER.validate_json(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read the seed file {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{path} is not a dataset: {where}: {first['msg']}") from None
