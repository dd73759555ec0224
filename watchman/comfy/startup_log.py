"""Which custom node packs ComfyUI failed to import when it last started, from its log.

A pack whose ``__init__.py`` raises (most often: a Python package it needs is not
installed) is skipped by ComfyUI, which starts anyway; its node types then do not exist,
and a workflow using them is refused. Reading the pack's source cannot tell this, and
ComfyUI loads packs only when it starts, so its start-up output is the truth about the
packs the running (or last run) ComfyUI has. At the end of the imports it prints::

    Import times for custom nodes:
       0.0 seconds: /home/me/ComfyUI/custom_nodes/websocket_image_save.py
       0.0 seconds (IMPORT FAILED): /home/me/ComfyUI/custom_nodes/ComfyUI-Foo

ComfyUI keeps no log file of its own; ComfyUI-Manager copies the output to
``user/comfyui.log`` (``user/comfyui_<port>.log`` in some versions; older ones wrote
``comfyui.log`` in the folder ComfyUI ran from) and, at each start, moves the last one to
``.prev.log``. The newest of those files is read, from its start (where the import times
are) up to :data:`MAX_LOG_BYTES`; its last block of import times counts. Nothing here is
fatal: no log, an unreadable one or one without the block is "nothing known".
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from watchman.regular_files import open_regular

logger = logging.getLogger(__name__)

MAX_LOG_BYTES = 16 * 1024 * 1024
"""How much of a log is read, from its start: ComfyUI prints the import times within its
first seconds; a log that appends start after start past this is read only this far."""

IMPORT_TIMES_HEADER = b"Import times for custom nodes:"
_IMPORT_LINE = re.compile(rb"^\s*[0-9.]+ seconds(?P<failed> \(IMPORT FAILED\))?: (?P<path>.+?)\s*$")
_PORTED_LOG = re.compile(r"comfyui_[0-9]{1,5}\.log")


@dataclass(frozen=True)
class ImportFailures:
    """The packs the last start of ComfyUI could not import, as its log names them.

    ``log``: the file read; ``written_ns``: its modification time; ``packs``: the folder
    (or single ``.py`` file) names of the packs that failed, as under ``custom_nodes``.
    """

    log: Path
    written_ns: int
    packs: frozenset[str]


def startup_logs(comfyui_root: Path) -> list[Path]:
    """Return the start-up logs ComfyUI-Manager may have written for the install at
    ``comfyui_root`` that exist, the newest first (rotated ``.prev`` copies excluded)."""
    user = comfyui_root / "user"
    candidates = [user / "comfyui.log", comfyui_root / "comfyui.log"]
    try:
        with os.scandir(user) as entries:
            candidates += [
                Path(entry.path) for entry in entries if _PORTED_LOG.fullmatch(entry.name)
            ]
    except OSError:
        pass  # no user folder: no ported logs
    found: list[tuple[int, Path]] = []
    for path in candidates:
        try:
            found.append((path.stat().st_mtime_ns, path))
        except OSError:
            continue
    return [path for _, path in sorted(found, key=lambda item: item[0], reverse=True)]


def failed_imports_in(text: bytes) -> frozenset[str] | None:
    """Return the names of the packs the last block of import times in ``text`` marks
    ``IMPORT FAILED`` (empty: all imported), or None when ``text`` holds no such block."""
    start = text.rfind(IMPORT_TIMES_HEADER)
    if start < 0:
        return None
    failed: set[str] = set()
    for line in text[start + len(IMPORT_TIMES_HEADER) :].splitlines()[1:]:
        matched = _IMPORT_LINE.match(line)
        if matched is None:
            break  # the block ends at the first line of another kind
        if matched["failed"]:
            failed.add(_last_part(matched["path"].decode("utf-8", "surrogateescape")))
    failed.discard("")
    return frozenset(failed)


def _last_part(path: str) -> str:
    # The log is written on the machine ComfyUI runs on: Windows or POSIX separators.
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]


def read_import_failures(comfyui_root: Path) -> ImportFailures | None:
    """Return what the newest start-up log of the install says about failed imports, or
    None when no log names the import times (none found, unreadable, or cut before
    them). Never raises: a log that cannot be read is logged at INFO and skipped."""
    for log in startup_logs(comfyui_root):
        try:
            with open_regular(log) as handle:
                written_ns = os.fstat(handle.fileno()).st_mtime_ns
                text = handle.read(MAX_LOG_BYTES)
        except OSError as error:
            logger.info("ComfyUI's start-up log %s cannot be read (%s); skipped.", log, error)
            continue
        failed = failed_imports_in(text)
        if failed is None:
            logger.debug("%s names no import times (ComfyUI still starting?).", log)
            return None  # the newest start is not over: an older log is not its truth
        return ImportFailures(log, written_ns, failed)
    return None
