"""Any string, shown: file names that are not UTF-8 and lone surrogates, escaped.

On POSIX a file name is bytes; Python decodes the bytes that are not UTF-8 as lone
surrogates (``surrogateescape``), and a workflow may hold a lone UTF-16 surrogate escape.
Neither can be encoded as UTF-8, so printing, ``orjson.dumps`` or ``.encode()`` of such a
string raises. Everything shown to a person or written as text goes through
:func:`printable` first.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters that change how the text around them looks rather than being seen: control
# characters (a terminal's escape sequences among them) and the marks that reorder text
# right to left (a name "x\u202egnp.exe" shows as "xexe.png").
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    # U+DC80..U+DCFF is how surrogateescape carries one undecodable byte 0x80..0xFF.
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """Return ``text`` with every lone surrogate written as an escape: ``\\xNN`` for a
    file-name byte that is not UTF-8, ``\\uXXXX`` otherwise. Valid text is returned
    unchanged (the same object)."""
    if text.isascii():
        return text
    return _SURROGATE.sub(_escape, text)


def visible(text: str) -> str:
    r"""Return ``text`` printable (:func:`printable`) with every character that is not
    seen but acts written as an escape: control characters (line breaks, tabs, a
    terminal's escape sequences) as ``\xNN``, marks that reorder text as ``\uXXXX``.
    For a stranger's text shown on one line, where such a character would break the line
    or disguise the name. Text without them is returned unchanged."""
    shown = printable(text)
    return _INVISIBLE.sub(_escape_invisible, shown)


def _escape_invisible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def shortened(text: str, limit: int = 120) -> str:
    """Return ``text`` printable and cut to about ``limit`` characters for a message."""
    shown = printable(text)
    if len(shown) <= limit:
        return shown
    return f"{shown[: limit - 1]}… ({len(shown)} characters)"
