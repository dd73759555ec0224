"""One large JSON object read piece by piece as its bytes arrive.

A running ComfyUI's ``/object_info`` is one object of a member per node type; at 100,000
model files every loader input lists them all, and the whole answer runs to hundreds of
MB. Decoded at once it became ~4x its size in Python objects (800 MiB for a 198 MB answer),
most of them thrown away after reading. Read here (:func:`object_leaves`), the objects of
the first levels are gone into rather than decoded, so only one value below them (one
input's definition) is alive at a time, and only the text not yet decoded is held.

Each value is decoded by the standard library's C scanner (``raw_decode``), as fast as
orjson on text of this kind. Where a value is not complete in the text read so far, more
is read until the pending text has doubled (or passed the longest value so far), so a
large value is tried a logarithmic number of times, never once per chunk.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Generator, Iterable, Iterator
from typing import Any

from watchman.errors import WatchmanError

# In C, not a loop per character: a body of whitespace costs no more than one of text.
_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")
# Text asked for before the first try at a member, and the least added before each retry.
_MIN_TEXT = 64 * 1024
# The decoder pairs escaped surrogates into one character; what is left of the range is lone.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedJsonError(WatchmanError):
    """The bytes are not one JSON object (or not UTF-8, or nested too deep to read)."""


OBJECT_BEGINS = object()
"""What :func:`object_leaves` yields for an object it goes into: its members follow."""


def object_members(chunks: Iterable[bytes]) -> Iterator[tuple[str, Any]]:
    """Yield each ``(key, value)`` of the one JSON object ``chunks`` make, in order.

    Takes the object's bytes in any pieces (UTF-8, as JSON is sent). Values are decoded as
    ``json.loads`` does (``NaN`` and ``Infinity`` included, as Python's own ``json.dumps``
    writes them); a lone surrogate escape in a string becomes U+FFFD, so every text can be
    written out again as UTF-8. A repeated key is yielded again.

    Raises:
        MalformedJsonError: the bytes are not a JSON object, break off before its end,
            carry anything but whitespace after it, are not UTF-8, or nest deeper than
            the interpreter's recursion limit lets the scanner go.
    """
    for path, value in object_leaves(chunks, 1):
        yield path[0], value


def object_leaves(chunks: Iterable[bytes], depth: int) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield the one JSON object ``chunks`` make as ``(path, value)`` pairs, in order,
    going into the objects of the first ``depth - 1`` levels rather than decoding them.

    ``path`` is the keys from the top (1 to ``depth`` of them). An object it goes into is
    yielded as :data:`OBJECT_BEGINS`, its members after it; any other value, and every
    value at ``depth``, is decoded whole (as :func:`object_members` decodes them). So only
    one such value's objects are alive at a time: a node of ``/object_info`` whose thirty
    inputs each list 100,000 files is read one input at a time.

    Raises:
        MalformedJsonError: as :func:`object_members`.
    """
    text = _Text(chunks)
    scanner = json.JSONDecoder()
    position = text.skip_whitespace(0)
    if text.char(position) != "{":
        raise MalformedJsonError("the answer is not a JSON object")
    position = yield from _members(text, scanner, position, (), depth)
    text.expect_end(position)


def _members(
    text: _Text,
    scanner: json.JSONDecoder,
    position: int,
    path: tuple[str, ...],
    depth: int,
) -> Generator[tuple[tuple[str, ...], Any], None, int]:
    """Yield the members of the object at ``position`` (its ``{``) under ``path``;
    return the position after its ``}``."""
    position = text.skip_whitespace(position + 1)
    if text.char(position) == "}":
        return position + 1
    while True:
        key, position = text.decode(scanner, position)
        if not isinstance(key, str):
            raise MalformedJsonError("an object key is not a string")
        position = text.skip_whitespace(position)
        if text.char(position) != ":":
            raise MalformedJsonError(f"no ':' after the key {key[:80]!r}")
        position = text.skip_whitespace(position + 1)
        here = (*path, key)
        if len(here) < depth and text.char(position) == "{":
            yield here, OBJECT_BEGINS
            position = yield from _members(text, scanner, position, here, depth)
        else:
            value, position = text.decode(scanner, position)
            yield here, value
        position = text.skip_whitespace(position)
        mark = text.char(position)
        if mark == "}":
            return position + 1
        if mark != ",":
            raise MalformedJsonError(f"no ',' or '}}' after the member {key[:80]!r}")
        position = text.skip_whitespace(position + 1)


class _Text:
    """The decoded text not yet consumed, refilled from the byte chunks on demand.

    Positions handed out are into ``self.buffer``; a refill drops the text before the
    position it is given and returns positions shifted to match.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buffer = ""
        self._offset = 0  # where ``buffer`` starts in the whole text (for messages)
        self.ended = False
        self._longest = 0  # the longest value decoded so far, in characters

    def refill(self, position: int, wanted: int) -> int:
        """Drop the text before ``position``, read until ``wanted`` characters follow it
        (or the bytes end), and return ``position``'s new index (0)."""
        pieces = [self.buffer[position:]]
        have = len(pieces[0])
        while have < wanted and not self.ended:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                chunk, self.ended = b"", True
            try:
                piece = self._decoder.decode(chunk, final=self.ended)
            except UnicodeDecodeError as error:
                raise MalformedJsonError(f"the answer is not UTF-8 ({error.reason})") from None
            pieces.append(piece)
            have += len(piece)
        self._offset += position
        self.buffer = "".join(pieces)
        return 0

    def char(self, position: int) -> str:
        """The character at ``position`` ("" at the end of the text). Call only with a
        position ``skip_whitespace`` returned, which has made sure it is read."""
        return self.buffer[position : position + 1]

    def skip_whitespace(self, position: int) -> int:
        """Return the first position at or after ``position`` that is not whitespace,
        reading on as needed (the end of the text when nothing else follows)."""
        while True:
            found = _NOT_WHITESPACE.search(self.buffer, position)
            if found is not None:
                return found.start()
            if self.ended:
                return len(self.buffer)
            position = self.refill(len(self.buffer), _MIN_TEXT)

    def expect_end(self, position: int) -> None:
        """Make sure nothing but whitespace follows ``position``."""
        position = self.skip_whitespace(position)
        if position < len(self.buffer):
            raise MalformedJsonError("the answer goes on after its object ends")

    def decode(self, scanner: json.JSONDecoder, position: int) -> tuple[Any, int]:
        """Decode the one JSON value at ``position``; return it and the position after.

        A value that fails, or that ends exactly where the text read so far ends (a
        number cut in two decodes as a shorter one), is tried again once the pending
        text has at least doubled, or has grown past the longest value read so far (the
        loaders of one answer list the same files); only when the bytes have ended is a
        failure final.
        """
        wanted = _MIN_TEXT
        while True:
            if not self.ended and len(self.buffer) - position < wanted:
                position = self.refill(position, wanted)
            available = len(self.buffer) - position
            try:
                value, end = scanner.raw_decode(self.buffer, position)
            except json.JSONDecodeError as error:
                if self.ended:
                    where = self._offset + error.pos
                    raise MalformedJsonError(
                        f"the answer is not JSON at character {where} ({error.msg})"
                    ) from None
            except RecursionError:
                raise MalformedJsonError("the answer nests too deep to read") from None
            else:
                if end < len(self.buffer) or self.ended:
                    self._longest = max(self._longest, end - position)
                    if _has_surrogate_escape(self.buffer, position, end):
                        value = _without_lone_surrogates(value)
                    return value, end
            wanted = max(2 * available, self._longest + self._longest // 8, _MIN_TEXT)


def _has_surrogate_escape(text: str, start: int, end: int) -> bool:
    # Rare: only then is the decoded value walked (a pair, an escaped emoji, is fine too).
    return text.find("\\ud", start, end) >= 0 or text.find("\\uD", start, end) >= 0


def _without_lone_surrogates(value: Any) -> Any:
    """``value`` with each string that holds a lone surrogate (``"\\udcff"``: how Python
    writes a file name that is not UTF-8) mended to U+FFFD, so it can be written again."""
    if isinstance(value, str):
        if value.isascii():
            return value
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value
