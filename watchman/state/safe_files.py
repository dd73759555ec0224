"""Safe files: atomic writes, tolerant reads, append-only logs and the run lock.

Every file the tool writes goes through here, so that a crash or a full disk never leaves a
half-written state file, and a state file that cannot be parsed is set aside and rebuilt
rather than stopping the daemon.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from filelock import FileLock, Timeout

from watchman.errors import LockHeldError

logger = logging.getLogger(__name__)

SCHEMA_VERSION_KEY = "schema_version"

# mkstemp creates files readable by the owner only; written files should get the mode any
# other file of this process gets (node_exporter must read the metrics textfile). The
# umask can only be read by setting it, so read it once, at import, before any thread.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, replace.

    Raises:
        OSError: the folder is not writable or the disk is full; ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(descriptor, 0o666 & ~_UMASK)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename durable on POSIX; Windows cannot open folders, which is fine.
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


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
            default=_json_default,
        )
    except orjson.JSONEncodeError as error:
        if "surrogates" not in str(error):
            raise
        text = json.dumps(document, indent=2, sort_keys=True, default=_json_default)
        return (text + "\n").encode("ascii")


def _dumps_line(record: Any) -> bytes:
    try:
        return orjson.dumps(record, default=_json_default)
    except orjson.JSONEncodeError as error:
        if "surrogates" not in str(error):
            raise
        return json.dumps(record, separators=(",", ":"), default=_json_default).encode("ascii")


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


def _json_default(value: Any) -> Any:
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


def atomic_write_json(path: Path, document: Any) -> None:
    """Write ``document`` as JSON to ``path`` atomically.

    Raises:
        OSError: as ``atomic_write_bytes``.
    """
    atomic_write_bytes(path, dumps_json(document))


def write_json_if_changed(path: Path, document: Any) -> bool:
    """Write ``document`` only when its bytes differ from what ``path`` holds.

    Returns:
        True when the file was (re)written, False when it was already equal (its mtime is
        kept).

    Raises:
        OSError: as ``atomic_write_bytes``.
    """
    data = dumps_json(document)
    try:
        existing = path.read_bytes()
    except OSError:
        existing = None
    if existing is not None and hashlib.sha256(existing).digest() == hashlib.sha256(data).digest():
        return False
    atomic_write_bytes(path, data)
    return True


def set_aside_corrupt(path: Path, reason: str) -> Path | None:
    """Move an unreadable state file to ``<name>.corrupt-<time>`` and warn.

    Returns:
        The new path, or None when the file could not be moved.
    """
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    try:
        os.replace(path, target)
    except OSError as error:
        logger.warning(
            "State file %s is unreadable (%s) and cannot be moved: %s", path, reason, error
        )
        return None
    logger.warning(
        "State file %s was unreadable (%s); moved it to %s and rebuilding it.", path, reason, target
    )
    return target


def read_json_state(path: Path, schema_version: int) -> dict[str, Any] | None:
    """Read a JSON state file written by this tool.

    Returns:
        The document, or None when the file is absent. A file that is not valid JSON, not
        an object, or of another ``schema_version`` is set aside (``*.corrupt-<time>``) and
        None is returned, so the caller rebuilds it.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        logger.warning("State file %s cannot be read (%s); rebuilding it.", path, error)
        return None
    try:
        document = loads_json(data)
    except ValueError as error:
        set_aside_corrupt(path, f"not valid JSON: {error}")
        return None
    if not isinstance(document, dict):
        set_aside_corrupt(path, "not a JSON object")
        return None
    if document.get(SCHEMA_VERSION_KEY) != schema_version:
        set_aside_corrupt(
            path, f"schema_version {document.get(SCHEMA_VERSION_KEY)!r}, expected {schema_version}"
        )
        return None
    return document


def append_jsonl(path: Path, record: Any) -> None:
    """Append one JSON object as a line, flushed and fsynced.

    A torn last line left by an earlier crash is closed off first, so the new record is
    never glued onto it.

    Raises:
        OSError: the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    line = _dumps_line(record) + b"\n"
    with path.open("ab+") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                line = b"\n" + line
        handle.write(line)
        handle.flush()
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


class RunLock:
    """The lock that keeps two cycles (service and cron) from overlapping.

    Use as a context manager; entering raises ``LockHeldError`` at once when another
    process holds it. The lock is an OS file lock, so a crashed holder releases it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = FileLock(str(path), timeout=0)

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise LockHeldError(
                f"Another comfywatchman cycle is running (lock {self.path}); "
                "try again when it ends."
            ) from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    @property
    def is_held(self) -> bool:
        return self._lock.is_locked
