"""Dataset files: what ``ml-connector sandbox … --seed FILE.json`` loads is what was written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ml_connector.sandbox.seed import Dataset, demo_dataset, empty_dataset
from ml_connector.sandbox.seed_files import dump_dataset, load_dataset
from support.customer_history import customer_with_history


@pytest.mark.parametrize(
    "build", [demo_dataset, empty_dataset, customer_with_history], ids=lambda b: b.__name__
)
def test_a_dataset_survives_the_round_trip_unchanged(
    build: Callable[[], Dataset], tmp_path: Path
) -> None:
    """Dates, exact amounts, tuples and the customer's own Ramp chart come back equal."""
    dataset = build()
    assert load_dataset(dump_dataset(dataset, tmp_path / "world.json")) == dataset


def test_a_file_that_is_no_dataset_is_refused_naming_the_problem(tmp_path: Path) -> None:
    """A wrong field type is a ValueError naming the file and where it is wrong."""
    path = tmp_path / "broken.json"
    path.write_text('{"company_name": "X", "base_currency": "NOK", "entities": 7}')
    with pytest.raises(ValueError, match=r"broken\.json is not a dataset: entities"):
        load_dataset(path)


def test_a_missing_file_is_refused_with_its_name(tmp_path: Path) -> None:
    """A path that does not exist says so, with the path."""
    with pytest.raises(ValueError, match="cannot read the seed file"):
        load_dataset(tmp_path / "absent.json")
