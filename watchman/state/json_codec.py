"""The JSON every state file and log line is written in, and read back: orjson, with
paths, sets, tuples and dataclasses written as JSON values, and a string that is not
valid Unicode (a file name that is not UTF-8) kept through ``\\udcXX`` escapes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import orjson


def dumps_json(document: Any) -> bytes:
    """Serialise a document (dicts, lists, frozen dataclasses, paths) as indented JSON.

    A string that is not valid Unicode (a file name that is not UTF-8 holds lone
    surrogates) is written as ``\\udcXX`` escapes, which every reader here turns back
    into the same string, so such a path keeps its identity across cycles.
    """
    try:
        return orjson.dumps(
            document,
            option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE,
            default=json_default,
        )
    except orjson.JSONEncodeError as error:
        if not _stdlib_writes(error):
            raise
        text = json.dumps(document, indent=2, sort_keys=True, default=json_default)
        return (text + "\n").encode("ascii")


def dumps_line(record: Any) -> bytes:
    """Serialise one record as compact JSON for one log line (no newline), escaping a
    string that is not valid Unicode as ``dumps_json`` does."""
    try:
        return orjson.dumps(record, default=json_default)
    except orjson.JSONEncodeError as error:
        if not _stdlib_writes(error):
            raise
        return json.dumps(record, separators=(",", ":"), default=json_default).encode("ascii")


def _stdlib_writes(error: orjson.JSONEncodeError) -> bool:
    # What orjson refuses and the standard library writes: lone surrogates, and an
    # integer past 64 bits (a stranger's file may hold one; read back as a double).
    message = str(error)
    return "surrogates" in message or "64-bit" in message


def loads_json(data: bytes) -> Any:
    """Return the JSON value in ``data`` as written by ``dumps_json`` or ``append_jsonl``.

    Raises:
        ValueError: not valid JSON (orjson.JSONDecodeError is one).
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        if b"\\ud" not in data and b"\\uD" not in data:
            raise
    # Lone surrogate escapes, written for a file name that is not UTF-8 (see dumps_json).
    try:
        return json.loads(data)
    except RecursionError as error:
        raise ValueError("nested too deeply") from error


def json_default(value: Any) -> Any:
    """What the JSON writers here write for a value JSON has no type for: a path as
    posix text, a set sorted, a tuple or dataclass as a list or object.

    Raises:
        TypeError: any other value.
    """
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # orjson writes dataclasses itself; the json fallback of dumps_json needs this.
        return {item.name: getattr(value, item.name) for item in dataclasses.fields(value)}
    raise TypeError(f"cannot serialise {type(value).__name__}")
