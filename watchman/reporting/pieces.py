"""Reading back a report JSON as :func:`~watchman.state.json_codec.dumps_json` wrote it, one
top-level value or one list item at a time, instead of decoding the 17 MB document whole
(~47 MiB at the cycle's peak; the report stage does it once after an upgrade, when there
is no index yet).

``dumps_json`` indents by two and sorts keys, and a JSON string never holds a raw newline,
so every line starts at a token: a top-level entry starts with a line of two spaces and a
quote, an item of a top-level list with a line of four spaces and anything but a closing
bracket. Each piece is decoded on its own, and the lines between them must be exactly the
brackets and commas of that layout. Anything else (a report edited by hand, another
layout, keys out of order or repeated, a damaged file) gives None, and the caller decodes
the whole file as before: this reader never reads a file differently from a whole decode.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchman.reporting.stream import StableHash
from watchman.state.json_codec import loads_json

_ENTRY = re.compile(rb'  ("(?:[^"\\\n]|\\.)*"): (.*)\n')
_ITEM_START = re.compile(rb"    [^ \]}]")


@dataclass(frozen=True)
class ReadBack:
    """A report read in pieces: its top-level values but the lists (``values``), the keys
    of its top-level lists (their items went to ``on_item``), the sha256 of its bytes and
    the digest of its stable part."""

    values: dict[str, Any]
    lists: tuple[str, ...]
    sha256: str
    stable_digest: str


class _NotThisLayout(Exception):
    """The file is not a document as dumps_json writes it."""


def read_in_pieces(
    path: Path, on_item: Callable[[str, Any], None] = lambda key, item: None
) -> ReadBack | None:
    """Read the JSON document at ``path`` one piece at a time: ``on_item(key, item)`` is
    called for each item of each top-level list, in order; the other top-level values are
    returned. None when the file cannot be read or is not laid out as ``dumps_json``
    writes (then decode it whole). Never raises."""
    try:
        with path.open("rb") as handle:
            return _read(handle, on_item)
    except (OSError, TypeError, ValueError, RecursionError, _NotThisLayout):
        return None


def _read(lines: Iterator[bytes], on_item: Callable[[str, Any], None]) -> ReadBack:
    file_hash = hashlib.sha256()
    stable = StableHash()
    values: dict[str, Any] = {}
    lists: list[str] = []
    last_key: str | None = None

    def hashed() -> Iterator[bytes]:
        for line in lines:
            file_hash.update(line)
            yield line

    source = hashed()
    first = next(source, None)
    line = b"}\n" if first == b"{}\n" else next(source, None)  # {} is written so
    if first not in (b"{\n", b"{}\n"):
        raise _NotThisLayout
    while line is not None and line != b"}\n":
        match = _ENTRY.fullmatch(line)
        if match is None:
            raise _NotThisLayout
        key = loads_json(match[1])
        if not isinstance(key, str) or (last_key is not None and key <= last_key):
            raise _NotThisLayout  # keys out of order or repeated: a whole decode decides
        last_key = key
        rest = match[2]
        if rest == b"[":
            lists.append(key)
            stable.open_list(key)
            line = _list_items(source, stable, on_item, key)
        else:
            entry = [line]
            line = next(source, None)
            while line is not None and line.startswith(b"   "):  # deeper than an entry
                entry.append(line)
                line = next(source, None)
            if line is not None and line[:3] in (b"  }", b"  ]"):  # its closing bracket
                entry.append(line)
                line = next(source, None)
            value = _one_entry(b"".join(entry), key, last=line == b"}\n")
            if isinstance(value, list):
                lists.append(key)
                stable.open_list(key)
                for item in value:
                    _item(stable, on_item, key, item)
            else:
                stable.value(key, value)
                values[key] = value
    if line is None or next(source, None) is not None:
        raise _NotThisLayout  # no closing brace, or something after it
    return ReadBack(values, tuple(lists), file_hash.hexdigest(), stable.hexdigest())


def _item(stable: StableHash, on_item: Callable[[str, Any], None], key: str, item: Any) -> None:
    stable.item(key, item)
    on_item(key, item)


def _one_entry(text: bytes, key: str, last: bool) -> Any:
    """Decode one top-level entry ``  "key": value`` (with its comma unless ``last``)."""
    if last == text.endswith(b",\n"):
        raise _NotThisLayout
    decoded = loads_json(b"{" + (text[:-2] if not last else text[:-1]) + b"}")
    if not isinstance(decoded, dict) or list(decoded) != [key]:
        raise _NotThisLayout
    return decoded[key]


def _list_items(
    source: Iterator[bytes], stable: StableHash, on_item: Callable[[str, Any], None], key: str
) -> bytes | None:
    """Decode the items of the top-level list ``key`` whose opening line was read, each
    hashed and handed to ``on_item``; return the line after the list's closing bracket."""
    item: list[bytes] = []
    line = next(source, None)
    while True:
        if line is None:
            raise _NotThisLayout
        closing = line in (b"  ]\n", b"  ],\n")
        if closing or _ITEM_START.match(line):
            if item:
                text = b"".join(item)
                if closing == text.endswith(b",\n"):  # every item but the last has a comma
                    raise _NotThisLayout
                _item(stable, on_item, key, loads_json(text[:-1] if closing else text[:-2]))
                item = []
            elif closing:
                raise _NotThisLayout  # "[" then "]" on its own line: not dumps_json's []
            if closing:
                break
        elif not item:
            raise _NotThisLayout
        item.append(line)
        line = next(source, None)
    after = next(source, None)
    if (after == b"}\n") == line.endswith(b",\n"):  # a comma unless it is the last entry
        raise _NotThisLayout
    return after
