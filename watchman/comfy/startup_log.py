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
``.prev.log``. Output kept by other means (``python main.py | tee out.log``, a service's
log file) is read too when the setting ``comfyui.startup_logs`` names it. The newest of
those files is read: its first :data:`MAX_LOG_BYTES` (where a fresh log's import times
are) and, when it is longer, its last as much (where a log appended start after start has
its newest); the last block of import times found counts. Nothing here is fatal: no log,
an unreadable one or one without the block is "nothing known".

The same start says where its input folder is when ComfyUI was given one
(``--input-directory``, as the desktop app starts it): ``Setting input directory to:
<path>``, read with the block (:func:`input_directory_in`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from watchman.environment import expand_user
from watchman.regular_files import open_regular

logger = logging.getLogger(__name__)

MAX_LOG_BYTES = 16 * 1024 * 1024
"""How much of a log is read from its start, and again from its end when it is longer:
ComfyUI prints the import times within its first seconds, so a fresh log has them near
its start and a log appended start after start has its newest near its end."""

IMPORT_TIMES_HEADER = b"Import times for custom nodes:"
INPUT_DIRECTORY_MARK = b"Setting input directory to: "
"""What ComfyUI prints when started with ``--input-directory`` (as the desktop app starts
it): where LoadImage and the other loaders of uploaded files look."""
MAX_PATH_BYTES = 4096
_SECONDS = re.compile(rb"[0-9]+(?:\.[0-9]*)?")
_FAILED_MARK = b" (IMPORT FAILED): "
_PORTED_LOG = re.compile(r"comfyui_[0-9]{1,5}\.log")


@dataclass(frozen=True)
class ImportFailures:
    """The packs the last start of ComfyUI could not import, as its log names them.

    ``log``: the file read; ``written_ns``: its modification time; ``packs``: the folder
    (or single ``.py`` file) names of the packs that failed, as under ``custom_nodes``;
    ``input_directory``: the input folder that start was given (``--input-directory``),
    None when it printed none (ComfyUI's default, ``input/`` in its folder).
    """

    log: Path
    written_ns: int
    packs: frozenset[str]
    input_directory: str | None = None


def configured_logs(paths: Iterable[Path], comfyui_root: Path, home_dir: Path) -> list[Path]:
    """Return the logs the setting ``comfyui.startup_logs`` names, as paths to look at:
    ``~`` is ``home_dir``, and a relative path is taken from ``comfyui_root``."""
    return [comfyui_root / expand_user(Path(path), home_dir) for path in paths]


def startup_logs(
    comfyui_root: Path, extra: Sequence[Path] = (), base: Path | None = None
) -> list[Path]:
    """Return the start-up logs of the install at ``comfyui_root`` that exist, the newest
    first: those ComfyUI-Manager may have written in its user folder (in ``base``, the
    base directory it is started with, when given; rotated ``.prev`` copies excluded) and
    the ``extra`` ones a setting names (:func:`configured_logs`)."""
    return [path for path, _ in _existing_logs(comfyui_root, extra, base)]


def _existing_logs(
    comfyui_root: Path, extra: Sequence[Path], base: Path | None = None
) -> list[tuple[Path, int]]:
    """The existing logs with their inodes, the newest first (one ``stat`` each)."""
    user = (base if base is not None else comfyui_root) / "user"
    candidates = [user / "comfyui.log", comfyui_root / "comfyui.log"]
    try:
        with os.scandir(user) as entries:
            candidates += [
                Path(entry.path) for entry in entries if _PORTED_LOG.fullmatch(entry.name)
            ]
    except OSError:
        pass  # no user folder: no ported logs
    candidates += [path for path in extra if path not in candidates]
    found: list[tuple[int, Path, int]] = []
    for path in candidates:
        try:
            status = path.stat()
        except OSError:
            continue
        found.append((status.st_mtime_ns, path, status.st_ino))
    found.sort(key=lambda item: item[0], reverse=True)
    return [(path, inode) for _, path, inode in found]


def failed_imports_in(text: bytes) -> frozenset[str] | None:
    """Return the names of the packs the last block of import times in ``text`` marks
    ``IMPORT FAILED`` (empty: all imported), or None when ``text`` holds no such block."""
    start = text.rfind(IMPORT_TIMES_HEADER)
    if start < 0:
        return None
    failed: set[str] = set()
    for line in text[start + len(IMPORT_TIMES_HEADER) :].splitlines()[1:]:
        entry = _import_line(line)
        if entry is None:
            break  # the block ends at the first line of another kind
        path, did_fail = entry
        if did_fail:
            failed.add(_last_part(path.decode("utf-8", "surrogateescape")))
    failed.discard("")
    return frozenset(failed)


def input_directory_in(text: bytes) -> str | None:
    """Return the input folder the start whose import times end ``text`` was given: the
    last ``Setting input directory to: <path>`` line after the block of import times
    before (an earlier start's), or None when that start printed none."""
    end = text.rfind(IMPORT_TIMES_HEADER)
    if end < 0:
        return None
    start = text.rfind(IMPORT_TIMES_HEADER, 0, end)
    at = text.rfind(INPUT_DIRECTORY_MARK, max(start, 0), end)
    if at < 0:
        return None
    line = text[at + len(INPUT_DIRECTORY_MARK) : end].split(b"\n", 1)[0].strip()
    if not line or len(line) > MAX_PATH_BYTES:
        return None
    return line.decode("utf-8", "surrogateescape")


def _import_line(line: bytes) -> tuple[bytes, bool] | None:
    """Read one line of the block, ``<seconds> seconds[ (IMPORT FAILED)]: <path>``, after
    whatever prefix a log keeper puts before it (a journal's date and process): return the
    path and whether it failed, or None for a line of another kind. String operations
    only: a pattern with a lazy path before optional blanks took time quadratic in a
    stranger's line of blanks (a 40 KB line: 14 s)."""
    line = line.strip()
    at = line.find(b" seconds")
    if at < 0:
        return None
    before = line[:at].rsplit(None, 1)
    if not before or _SECONDS.fullmatch(before[-1]) is None:
        return None
    rest = line[at + len(b" seconds") :]
    if rest.startswith(_FAILED_MARK):
        path, did_fail = rest[len(_FAILED_MARK) :], True
    elif rest.startswith(b": "):
        path, did_fail = rest[2:], False
    else:
        return None
    path = path.strip()
    return (path, did_fail) if path else None


def _last_part(path: str) -> str:
    # The log is written on the machine ComfyUI runs on: Windows or POSIX separators.
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]


@dataclass(frozen=True)
class StartupLogs:
    """The start-up logs of an install as one cycle found them: each existing log with
    its inode, the newest first, and what the newest says about failed imports (None:
    nothing known)."""

    logs: tuple[tuple[Path, int], ...]
    failures: ImportFailures | None

    def identity(self) -> list[object]:
        """What of the logs a cycle's outcome depends on: each log by its path and inode
        (ComfyUI-Manager starts a new file at each ComfyUI start) and the packs the newest
        says failed (None until ComfyUI has printed its import times, so the moment it
        does is a change). The lines ComfyUI appends as it runs change none of it."""
        failed = sorted(self.failures.packs) if self.failures is not None else None
        folder = self.failures.input_directory if self.failures is not None else None
        return [*((str(path), inode) for path, inode in self.logs), failed, folder]


def read_startup_logs(
    comfyui_root: Path, extra: Sequence[Path] = (), base: Path | None = None
) -> StartupLogs:
    """Find the start-up logs of the install and read the newest: see :class:`StartupLogs`.
    ``extra``: logs a setting names, besides ComfyUI-Manager's; ``base``: the base
    directory ComfyUI is started with (its user folder is there; None: the root). Never
    raises: a log that cannot be read is logged at INFO and the next newest is read."""
    logs = _existing_logs(comfyui_root, extra, base)
    for log, _ in logs:
        try:
            written_ns, failed, input_directory = _read_log(log)
        except OSError as error:
            logger.info("ComfyUI's start-up log %s cannot be read (%s); skipped.", log, error)
            continue
        if failed is None:
            logger.debug("%s names no import times (ComfyUI still starting?).", log)
            break  # the newest start is not over: an older log is not its truth
        return StartupLogs(tuple(logs), ImportFailures(log, written_ns, failed, input_directory))
    return StartupLogs(tuple(logs), None)


def read_import_failures(comfyui_root: Path, extra: Sequence[Path] = ()) -> ImportFailures | None:
    """What the newest start-up log says about failed imports (:func:`read_startup_logs`)."""
    return read_startup_logs(comfyui_root, extra).failures


def _read_log(log: Path) -> tuple[int, frozenset[str] | None, str | None]:
    """Return a log's modification time, the failed packs of its last block of import
    times within its first and last :data:`MAX_LOG_BYTES` (None: no block there), and the
    input folder that start was given (:func:`input_directory_in`).

    Raises:
        OSError: the log is not a regular file or cannot be read.
    """
    with open_regular(log) as handle:
        status = os.fstat(handle.fileno())
        head = handle.read(MAX_LOG_BYTES)
        tail = b""
        if status.st_size > len(head):
            handle.seek(max(len(head), status.st_size - MAX_LOG_BYTES))
            tail = handle.read(MAX_LOG_BYTES)
    from_tail = failed_imports_in(tail) if tail else None
    if from_tail is not None:
        return status.st_mtime_ns, from_tail, input_directory_in(tail)
    return status.st_mtime_ns, failed_imports_in(head), input_directory_in(head)
