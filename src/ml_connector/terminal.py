"""Text that is safe to put on an operator's terminal.

Vendor and stored text (supplier names, error messages, webhook excerpts, connection names
typed into a URL by a stranger) can hold characters a terminal acts on instead of showing:

- C0 controls (U+0000 to U+001F) such as ESC, which starts CSI and OSC sequences that move the
  cursor, clear the screen, retitle the window or plant hyperlinks; backspace and carriage
  return, which overwrite what is already on the line;
- DEL (U+007F) and the C1 controls (U+0080 to U+009F), among them the one-character CSI (U+009B)
  and OSC (U+009D) that some terminals honour;
- the bidirectional embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069), the
  direction marks (U+200E, U+200F, U+061C) and the line and paragraph separators
  (U+2028, U+2029), which reorder or break what is shown so it reads differently from what
  is stored.

:func:`neutralise` replaces each of them with a visible escape (``\\x1b``, ``\\u202e``), so the
operator sees that something odd is there and what it was, and the terminal does nothing. A
plain newline is kept where the caller says the text may span lines.
"""

from __future__ import annotations

import re

__all__ = ["UNSAFE", "neutralise", "visible_escape"]

_BIDI_AND_SEPARATORS = (
    0x061C,
    0x200E,
    0x200F,
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
)
_CODEPOINTS = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI_AND_SEPARATORS)

UNSAFE = re.compile("[" + "".join(f"\\u{code:04x}" for code in _CODEPOINTS) + "]")
"""Matches any character :func:`neutralise` replaces (newline included)."""


def visible_escape(char: str) -> str:
    """How one unsafe character is shown: ``\\x1b`` up to U+00FF, ``\\u202e`` above."""
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


_ALL = {code: visible_escape(chr(code)) for code in _CODEPOINTS}
_KEEP_NEWLINES = {code: text for code, text in _ALL.items() if code != 0x0A}


def neutralise(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control, bidi and separator character shown as an escape.

    With ``keep_newlines``, a plain ``\\n`` stays a line break (multi-line fields); a carriage
    return is always escaped, since it rewinds the line.
    """
    if UNSAFE.search(text) is None:
        return text
    return text.translate(_KEEP_NEWLINES if keep_newlines else _ALL)
