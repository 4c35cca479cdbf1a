"""The mapping table as CSV, both ways. Pure; no I/O beyond the text handed in.

The header names the columns (``mapping.table.COLUMNS``; ``source``, ``value``, ``target`` and
``visma_value`` are required, the rest optional) in any order. Blank lines are skipped. Every
mistake is reported with its line and column, counted from 1 the way a spreadsheet shows
them, e.g. ``line 4, column 6 (priority): 'high' is not a whole number``; all mistakes of a
file are reported together, not just the first.

``write_csv`` writes every column, rows in table order, so ``read_csv(write_csv(t)) == t``.
Cells that a spreadsheet would run as a formula are written with a leading single quote and
read back without it (:mod:`ml_connector.csvcells` states the exact rule).
"""

from __future__ import annotations

import csv
import io

from ml_connector.csvcells import unescape_cell, write_rows
from ml_connector.mapping.table import (
    COLUMNS,
    MappingRule,
    MappingTable,
    MappingTableError,
    Problem,
    parse_row,
)

__all__ = ["read_csv", "write_csv"]

REQUIRED = ("source", "value", "target", "visma_value")


def write_csv(table: MappingTable) -> str:
    """The table as CSV text with a header line; formula-like cells escaped."""
    return write_rows(COLUMNS, (_cells(rule) for rule in table.rules))


def _cells(rule: MappingRule) -> list[str]:
    return [
        rule.source,
        rule.value,
        rule.target.value,
        "" if rule.segment is None else str(rule.segment),
        rule.visma_value,
        str(rule.priority),
        "true" if rule.fallback else "false",
    ]


def read_csv(text: str) -> MappingTable:
    """Parse CSV text; MappingTableError lists every bad line and column."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[Problem] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise MappingTableError(
            [Problem(f"line {reader.line_num}", f"not valid CSV: {exc}")]
        ) from exc
    if header is None:
        raise MappingTableError([Problem("line 1", "the file is empty; expected a header")])
    names = [h.strip().lower() for h in header]
    for index, name in enumerate(names, start=1):
        if name not in COLUMNS:
            problems.append(
                Problem(f"line 1, column {index}", f"unknown column {header[index - 1]!r}")
            )
        elif names.index(name) != index - 1:
            problems.append(Problem(f"line 1, column {index}", f"column {name!r} repeats"))
    for name in REQUIRED:
        if name not in names:
            problems.append(Problem("line 1", f"the header lacks the {name!r} column"))
    if problems:
        raise MappingTableError(problems)
    position = {name: index for index, name in enumerate(names, start=1)}
    rules: list[MappingRule] = []
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            problems.append(Problem(f"line {reader.line_num}", f"not valid CSV: {exc}"))
            break
        if cells is None:
            break
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            problems.append(
                Problem(
                    f"line {line}, column {min(len(cells), len(names)) + 1}",
                    f"expected {len(names)} columns, found {len(cells)}",
                )
            )
            continue

        def column(name: str, line: int = line) -> str:
            index = position.get(name)
            place = f"column {index} ({name})" if index else f"({name})"
            return f"line {line}, {place}"

        texts = dict(zip(names, (unescape_cell(cell) for cell in cells), strict=True))
        rule, found = parse_row(texts, f"line {line}", column=column)
        problems += found
        if rule is not None:
            rules.append(rule)
    if problems:
        raise MappingTableError(problems)
    return MappingTable(tuple(rules))
