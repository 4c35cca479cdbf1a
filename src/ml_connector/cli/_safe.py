"""The one way the command line writes to the terminal: nothing stored or vendor-sent acts on it.

Every command prints through :data:`~ml_connector.cli._common.console` and
``err_console``, which are :class:`SafeConsole` objects:

- a string given to them (a message, a table cell, a title) is shown **literally**: rich markup
  and ``:emoji:`` codes in it are not interpreted, and control, escape and bidi characters are
  shown as visible escapes (:func:`ml_connector.terminal.neutralise`; newlines stay);
- every segment they finally write is checked again, so a renderable built some other way
  (a ``Text``, a progress column) cannot carry an escape sequence to the terminal either;
  rich's own cursor and style codes are added after that check.

Styling is therefore opt-in and explicit: :func:`styled` fills a markup template written in the
code with values that are neutralised and markup-escaped first. :func:`print_json` writes JSON
whose strings the encoder escapes (ASCII only), and :func:`write_export` writes an export
verbatim to a file or pipe but neutralised when standard output is a terminal. An unexpected
crash's traceback is neutralised as well (:func:`install_excepthook`, set by ``cli.main``).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from rich.console import Console, ConsoleOptions, HighlighterType, JustifyMethod, OverflowMethod
from rich.console import RenderableType as Renderable
from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from ml_connector.terminal import UNSAFE, neutralise

__all__ = ["SafeConsole", "install_excepthook", "print_json", "styled", "write_export"]


class SafeConsole(Console):
    """A rich console that never interprets data as markup or passes control codes through."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**{**options, "markup": False, "emoji": False})

    def render_str(
        self,
        text: str,
        *,
        style: str | Style = "",
        justify: JustifyMethod | None = None,
        overflow: OverflowMethod | None = None,
        emoji: bool | None = None,
        markup: bool | None = None,
        highlight: bool | None = None,
        highlighter: HighlighterType | None = None,
    ) -> Text:
        """``text`` as literal Text: no markup, no emoji codes, controls escaped."""
        return super().render_str(
            neutralise(text, keep_newlines=True),
            style=style,
            justify=justify,
            overflow=overflow,
            emoji=False,
            markup=False,
            highlight=highlight,
            highlighter=highlighter,
        )

    def render(
        self, renderable: Renderable, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        """Rich's rendering, with the text of every non-control segment neutralised."""
        for segment in super().render(renderable, options):
            if segment.control is None and UNSAFE.search(segment.text) is not None:
                yield Segment(neutralise(segment.text, keep_newlines=True), segment.style)
            else:
                yield segment


def styled(template: str, *values: object, multiline: bool = False) -> Text:
    """``template`` (rich markup written in the code) with its ``{}`` fields filled by
    ``values``, each shown literally: controls escaped, markup escaped.

    Values are single-line unless ``multiline`` (a newline in them is shown as ``\\x0a``, so a
    value cannot fake a line of output).
    """
    safe = [escape(neutralise(str(value), keep_newlines=multiline)) for value in values]
    return Text.from_markup(template.format(*safe), emoji=False)


def _ascii_json(data: Any) -> str:
    # ensure_ascii escapes every control, C1 and bidi character as \uXXXX; DEL is the one
    # ASCII control JSON leaves alone, and it can only occur inside a string.
    text = json.dumps(data, indent=2, default=str, ensure_ascii=True)
    return text.replace("\x7f", "\\u007f")


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to standard output (never through rich)."""
    sys.stdout.write(_ascii_json(data) + "\n")


def write_export(text: str) -> None:
    """Write an export (CSV, JSON lines) to standard output.

    Redirected to a file or a pipe, the bytes are exactly the export's; shown on a terminal,
    line ends become plain newlines and every other control is escaped like all output.
    """
    if sys.stdout.isatty():
        text = neutralise(text.replace("\r\n", "\n"), keep_newlines=True)
    sys.stdout.write(text)


def _safe_excepthook(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(neutralise(text, keep_newlines=True))


def install_excepthook() -> None:
    """Print an unexpected crash's traceback neutralised too: its message may quote vendor
    text (expected errors are printed by ``run_with_runtime``)."""
    sys.excepthook = _safe_excepthook
