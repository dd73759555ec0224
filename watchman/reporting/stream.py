"""The report's JSON document written item by item, and the digest of its stable part.

A 5,000-workflow report is ~17 MB of JSON; held whole it cost ~24 MiB as objects and
its serialised bytes on top, and telling it unchanged meant decoding the previous one
(~35 MiB). Here each item of a top-level list (:class:`Items`: the workflows, the
actions) is made, serialised and written on its own, so the document never exists whole,
and the same pass hashes its stable part (everything but the times and the cycle id, see
:data:`~watchman.reporting.document.VOLATILE_KEYS`): two reports are the same when their
digests are. The bytes are exactly those :func:`~watchman.state.json_codec.dumps_json`
writes for the whole document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from watchman.state.json_codec import json_default

VOLATILE_KEYS = frozenset({"generated_at", "cycle_id", "cycle", "changes"})
"""Top-level keys that change every cycle. "changes" compares with the report before: a
report rewritten for it alone would lose what the person has not read yet."""
VOLATILE_NESTED_KEYS = frozenset({"resolved_at", "last_resolved_at"})
"""Keys left out at any depth: when a lookup was made is not a change of the report."""

_INDENTED = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


class Items:
    """A top-level list of the document, made item by item as it is written (never held
    whole). ``make`` returns a fresh iterable each time (a document with a string that is
    not valid Unicode is written a second time, escaped)."""

    def __init__(self, make: Callable[[], Iterable[Any]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[Any]:
        return iter(self._make())


class _NotUnicode(Exception):
    """A string of the document holds a lone surrogate: orjson cannot write it."""


@dataclass(frozen=True)
class Written:
    """What :func:`write_document` wrote: the sha256 of the file's bytes and the digest of
    the document's stable part (both hex)."""

    sha256: str
    stable_digest: str


def write_document(handle: BinaryIO, document: Mapping[str, Any]) -> Written:
    """Write ``document`` to ``handle`` (an empty file open for writing and seeking) as
    ``dumps_json(document)`` would, an :class:`Items` value one item at a time, and
    return what was written.

    Raises:
        OSError: the file cannot be written.
        TypeError: a value JSON cannot hold.
    """
    try:
        return _write(handle, document, ascii_only=False)
    except _NotUnicode:
        # As dumps_json: the whole document escaped, so a file name that is not UTF-8
        # keeps its identity (\\udcXX) across cycles.
        handle.seek(0)
        handle.truncate()
        return _write(handle, document, ascii_only=True)


def _write(handle: BinaryIO, document: Mapping[str, Any], ascii_only: bool) -> Written:
    dump = _dump_ascii if ascii_only else _dump
    file_hash = hashlib.sha256()
    stable = StableHash()

    def write(data: bytes) -> None:
        file_hash.update(data)
        handle.write(data)

    if not document:
        write(b"{}\n")
        return Written(file_hash.hexdigest(), stable.hexdigest())
    for number, key in enumerate(_ordered(document)):
        value = document[key]
        write((b"{\n  " if number == 0 else b",\n  ") + dump(key) + b": ")
        if isinstance(value, (list, tuple, Items)):
            stable.open_list(key)
            count = 0
            for item in value:
                data = dump(item)
                write((b"[\n    " if count == 0 else b",\n    ") + _indent(data, 4))
                if ascii_only:
                    stable.item(key, item)
                else:
                    stable.dumped_item(key, item, data)
                count += 1
            write(b"\n  ]" if count else b"[]")
        else:
            write(_indent(dump(value), 2))
            stable.value(key, value)
    write(b"\n}\n")
    return Written(file_hash.hexdigest(), stable.hexdigest())


def stable_digest(document: Mapping[str, Any]) -> str:
    """The digest :func:`write_document` returns for ``document`` (a report as read back
    from its JSON, or as made), without writing it."""
    stable = StableHash()
    for key in _ordered(document):
        value = document[key]
        if isinstance(value, (list, tuple, Items)):
            stable.open_list(key)
            for item in value:
                stable.item(key, item)
        else:
            stable.value(key, value)
    return stable.hexdigest()


def _ordered(document: Mapping[str, Any]) -> list[str]:
    keys = sorted(document)
    if not all(isinstance(key, str) for key in keys):
        raise TypeError("a report's top-level keys are strings")
    return keys


class StableHash:
    """The sha256 of a document's stable part, fed one top-level value or list item at a
    time: each as canonical JSON (what ``dumps_json`` writes for it alone: sorted keys,
    indented by two), volatile keys left out."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def open_list(self, key: str) -> None:
        if key not in VOLATILE_KEYS:
            self._hash.update(b"\n" + _canonical(key) + b"[")

    def item(self, key: str, item: Any) -> None:
        if key not in VOLATILE_KEYS:
            self._hash.update(_canonical(_strip(item)) + b",")

    def dumped_item(self, key: str, item: Any, dumped: bytes) -> None:
        """As :meth:`item`, given the item's canonical JSON ``dumped`` (as the document
        writes it): hashed as it is when it holds no volatile key, which is most items,
        so the item is neither copied without them nor serialised a second time."""
        if key in VOLATILE_KEYS:
            return
        if any(marker in dumped for marker in _VOLATILE_MARKERS):
            trimmed = _without_volatile(dumped)
            dumped = trimmed if trimmed is not None else _canonical(_strip(item))
        self._hash.update(dumped + b",")

    def value(self, key: str, value: Any) -> None:
        if key not in VOLATILE_KEYS:
            self._hash.update(b"\n" + _canonical(key) + b"=" + _canonical(_strip(value)))

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


_SCALARS = frozenset({str, int, float, bool, type(None)})
_VOLATILE_MARKERS = tuple(b'"' + key.encode("ascii") + b'":' for key in VOLATILE_NESTED_KEYS)
"""A volatile key as the canonical JSON writes it (a string value of that text is not
followed by a colon)."""


_VOLATILE_VALUE = re.compile(
    rb'"(?:'
    + b"|".join(re.escape(key.encode("ascii")) for key in sorted(VOLATILE_NESTED_KEYS))
    + rb')": (?:"(?:[^"\\\n]|\\.)*"|null|true|false|-?[0-9][0-9.eE+-]*)(,?)'
)
"""A volatile key and its scalar value in canonical JSON, with the comma after it."""


def _without_volatile(dumped: bytes) -> bytes | None:
    """``dumped`` (canonical JSON) without the lines of its volatile keys, which is the
    canonical JSON of the value stripped of them; None when that takes more than removing
    lines (a volatile key whose value is an object or a list, an object's only key, or
    two such lines that end an object together).

    Each key is found with ``bytes.find`` (a regular expression scanning every position
    of 5,000 entries took 0.2 s a cycle). A raw newline is always between tokens (strings
    escape theirs) and a string's quotes inside a string are escaped, so a marker at the
    start of a line is a key, not text in a string."""
    starts = sorted(at for marker in _VOLATILE_MARKERS for at in _occurrences(dumped, marker))
    pieces = []
    kept_from = 0
    for at in starts:
        line = dumped.rfind(b"\n", 0, at)
        if line < 0 or dumped[line + 1 : at].strip(b" "):
            return None
        found = _VOLATILE_VALUE.match(dumped, at)
        if found is None:
            return None  # an object or a list: copied without it and written again
        if found[1]:
            start = line  # not the object's last key: the line before keeps its comma
        elif dumped[line - 1 : line] == b",":
            start = line - 1  # the last key: the line before loses its comma
        else:
            return None  # "{" then this key alone: the object becomes "{}"
        if start < kept_from:
            return None
        pieces.append(dumped[kept_from:start])
        kept_from = found.end()
    pieces.append(dumped[kept_from:])
    return b"".join(pieces)


def _occurrences(data: bytes, marker: bytes) -> Iterator[int]:
    at = data.find(marker)
    while at >= 0:
        yield at
        at = data.find(marker, at + 1)


def _strip(value: Any) -> Any:
    # Exact type checks first: a 5,000-workflow report has ~400,000 values, and an
    # isinstance check against Mapping (an ABC) on each was most of the digest's time.
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list or kind is tuple or (kind is not dict and isinstance(value, (list, tuple))):
        return [item if type(item) in _SCALARS else _strip(item) for item in value]
    if kind is dict or isinstance(value, Mapping):
        return {
            key: item if type(item) in _SCALARS else _strip(item)
            for key, item in value.items()
            if key not in VOLATILE_NESTED_KEYS
        }
    return value


def _canonical(value: Any) -> bytes:
    # The very bytes the document holds for a value (_dump): an item without volatile
    # keys is then hashed as written (StableHash.dumped_item).
    try:
        return orjson.dumps(value, option=_INDENTED, default=json_default)
    except orjson.JSONEncodeError:
        # A lone surrogate, or an integer beyond 64 bits in a report read back: the same
        # value always takes this way, so its digest is still its own.
        return json.dumps(value, indent=2, sort_keys=True, default=json_default).encode("ascii")


def _dump(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_INDENTED, default=json_default)
    except orjson.JSONEncodeError as error:
        if "surrogates" in str(error):
            raise _NotUnicode from error
        raise TypeError(str(error)) from error


def _dump_ascii(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=json_default).encode("ascii")


def _indent(data: bytes, spaces: int) -> bytes:
    # A JSON string never holds a raw newline (it is escaped), so every newline is
    # between tokens and the nested value's lines move right as a whole.
    return data.replace(b"\n", b"\n" + b" " * spaces)
