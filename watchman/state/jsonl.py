"""Append-only JSON-lines logs: records appended whole and fsynced, a torn last line
closed off before the next append and skipped by readers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from watchman.state.json_codec import dumps_line, loads_json

logger = logging.getLogger(__name__)


def append_jsonl(path: Path, record: Any, *, sync: bool = True) -> None:
    """Append one JSON object as a line, flushed and (``sync``) fsynced.

    A torn last line left by an earlier crash is closed off first, so the new record is
    never glued onto it.

    Raises:
        OSError: the file cannot be written.
    """
    append_jsonl_lines(path, [record], sync=sync)


def append_jsonl_lines(path: Path, records: Sequence[Any], *, sync: bool = True) -> None:
    """Append JSON objects one a line with one write and one fsync for them all (a cycle
    that takes in 5,000 workflows syncs the log once, not 5,000 times); ``sync`` False:
    flushed to the system, not synced (a line worth less than a disk flush, such as a
    progress line). Nothing is written for no records. A crash mid-write leaves whole
    lines and at most one torn last line, which readers skip.

    Raises:
        OSError: the file cannot be written.
    """
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    line = b"".join(dumps_line(record) + b"\n" for record in records)
    with path.open("ab+") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                line = b"\n" + line
        handle.write(line)
        handle.flush()
        if sync:
            os.fsync(handle.fileno())


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield each JSON object line of ``path`` in order; torn or foreign lines are skipped."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = loads_json(raw)
            except ValueError:
                logger.warning("Skipping unreadable line %d of %s.", number, path)
                continue
            if isinstance(record, dict):
                yield record
