"""A cache of one line per workflow path under a header line (``state/workflow_cache.jsonl``,
``state/needs_cache.jsonl``): read without decoding, written whole and atomically.

Each line starts with the workflow's path as JSON and a tab; the rest is the owner's. The
header says what the lines were made for (a reader's version, an assessment's inputs);
lines under another header are never read.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from pathlib import Path

from watchman.state.json_codec import loads_json
from watchman.state.safe_files import atomic_write_chunks

logger = logging.getLogger(__name__)


def read_path_lines(path: Path, header: bytes, what: str) -> dict[str, bytes] | None:
    """Return the cache's lines by workflow path, undecoded, or None when its first line
    is not ``header``. An absent file is empty; an unreadable one is empty with a warning
    naming ``what`` (the cache). A line without a path as JSON is skipped."""
    lines: dict[str, bytes] = {}
    try:
        with path.open("rb") as handle:
            if handle.readline() != header:
                return None
            for line in handle:
                key, tab, _ = line.partition(b"\t")
                try:
                    name = loads_json(key) if tab else None
                except ValueError:
                    name = None
                if isinstance(name, str):
                    lines[name] = line
    except OSError as error:
        if not isinstance(error, FileNotFoundError):
            logger.warning("Cannot read %s %s (%s); doing its work anew.", what, path, error)
        return {}
    return lines


def write_path_lines(
    path: Path, header: bytes, lines: Mapping[str, bytes], previous: Mapping[str, bytes]
) -> bool:
    """Write ``header`` and ``lines`` when a line differs from ``previous`` (what was read
    under the same header, in order) or the file is absent; return True if written.

    Raises:
        OSError: the file cannot be written.
    """
    if list(lines.values()) == list(previous.values()) and path.exists():
        return False
    atomic_write_chunks(path, itertools.chain((header,), lines.values()))
    return True
