"""The import contracts in pyproject.toml: kept by the product, broken by a planted import (the
sandbox in the product, an upward import between layers, SQL or vendor HTTP outside their home)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "ml_connector"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# The modules allowed to import the sandbox, and the sandbox itself (not sources).
NOT_SOURCES = {"ml_connector.sandbox", "ml_connector.demo"}

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is not installed (pip install -e '.[dev]')"
)


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _contract() -> dict[str, object]:
    return next(c for c in _contracts() if c["id"] == "sandbox-stays-out")


def _lint(root: Path, package_parent: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ml_connector package found under ``package_parent``."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    """A copy of the package and pyproject.toml; the copy's own package is what gets linted."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        PACKAGE, tmp_path / "src" / "ml_connector", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path / "src"


def test_every_part_of_the_product_is_a_source_of_the_contract() -> None:
    """Each top-level module but the sandbox and the demo is checked: none can slip past."""
    top_level = {
        f"ml_connector.{path.stem if path.is_file() else path.name}"
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert set(_contract()["source_modules"]) == top_level - NOT_SOURCES  # type: ignore[arg-type]


def test_the_product_keeps_the_contract(tmp_path: Path) -> None:
    """The tree as it is passes lint-imports."""
    result = _lint(tmp_path, _copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(_contracts())} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement"),
    [
        ("clients/ramp_models.py", "from ml_connector.sandbox.seed import FORM_ORG_NUMBER\n"),
        ("flows/suppliers.py", "import ml_connector.demo\n"),
        ("flows/suppliers.py", "import ml_connector.app.principal\n"),
        ("store/links.py", "import ml_connector.runtime.wiring\n"),
        ("mapping/table.py", "import sqlalchemy\n"),
        ("flows/bills.py", "import httpx\n"),
        ("web/api.py", "import ml_connector.store\n"),
        ("cli/records.py", "from ml_connector.flows import bills\n"),
    ],
)
def test_a_planted_import_breaks_a_contract(tmp_path: Path, module: str, statement: str) -> None:
    """The sandbox (or the demo) in the product, an import up the layers, SQL outside store/ or
    HTTP outside clients/: each fails the lint, naming the module."""
    src = _copy(tmp_path)
    target = src / "ml_connector" / module
    text = target.read_text()
    marker = "from __future__ import annotations\n"
    target.write_text(text.replace(marker, marker + statement, 1))
    result = _lint(tmp_path, src)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    dotted = "ml_connector." + module.removesuffix(".py").replace("/", ".")
    assert dotted in result.stdout
