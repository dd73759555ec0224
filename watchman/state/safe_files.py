"""Safe files: atomic writes, tolerant reads, append-only logs and the run lock.

Every file the tool writes goes through here, so that a crash or a full disk never leaves a
half-written state file, and a state file that cannot be parsed is set aside and rebuilt
rather than stopping the daemon.

A process killed mid-write can leave its temporary file behind. Temporary files carry the
writer's process id (``.<name>.<pid>-<random>.tmp``), and :func:`remove_stale_temp_files`
deletes, under the tool's home only, those whose writer is gone or that are older than
``STALE_TEMP_SECONDS``. Files that must agree with each other (the JSON and Markdown
reports) are replaced as one set with :func:`write_file_set`: a kill at any moment leaves
either the old set or, once the set is committed, the new one after recovery.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import psutil
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
    with _temporary_beside(path) as (handle, temporary):
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temporary, path)
    fsync_folder(path.parent)


@contextlib.contextmanager
def _temporary_beside(path: Path) -> Iterator[tuple[BinaryIO, str]]:
    """Open a temporary file in ``path``'s folder (named so stale ones are found and
    cleaned, with the mode any file of this process gets); yield it and its name. It is
    removed if the body raises, or if it is still there when the body ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}-", suffix=TEMP_SUFFIX, dir=path.parent
    )
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(descriptor, 0o666 & ~_UMASK)
        with os.fdopen(descriptor, "wb") as handle:
            yield handle, temporary
    finally:
        # Replaced into place: already gone. Raised, or not kept: removed (closed first,
        # Windows removes no open file).
        with contextlib.suppress(OSError):
            os.unlink(temporary)


TEMP_SUFFIX = ".tmp"
STALE_TEMP_SECONDS = 3600
"""A temporary file this old is stale whoever wrote it: no write takes an hour."""
# .<name>.<pid>-<mkstemp's 8 characters>.tmp, and the form before the pid was added.
_TEMP = re.compile(r"^\..+\.(?P<pid>\d+)-[a-z0-9_]{8}\.tmp$")
_OLD_TEMP = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}$")
_SET_PENDING = re.compile(r"^\..+\.set-(?P<tag>[A-Za-z0-9_-]+)\.tmp$")
_SET_MARKER = re.compile(r"^\.set-(?P<tag>[A-Za-z0-9_-]+)\.commit$")


def remove_stale_temp_files(home: Path, now: float) -> list[Path]:
    """Delete the temporary files killed writes left under ``home``; return them.

    Takes the tool's home folder (nothing outside it is looked at, links are not
    followed) and the current time (seconds since the epoch, from the process's clock).
    Only this module's own patterns are touched: a temporary file whose writer process is
    gone or that is older than ``STALE_TEMP_SECONDS`` (one of the form before the pid was
    added, ``.<name>.<random>``, only when older and beside ``<name>``), and a file set's
    leftovers (see :func:`recover_file_sets`). Never raises: what cannot be removed is
    logged.
    """
    removed: list[Path] = []
    for folder, _, names in os.walk(home):
        if any(_SET_MARKER.match(name) or _SET_PENDING.match(name) for name in names):
            removed.extend(recover_file_sets(Path(folder)))
            with contextlib.suppress(OSError):
                names = os.listdir(folder)
        for name in names:
            match = _TEMP.match(name)
            old = _OLD_TEMP.match(name) if match is None else None
            # The old form has no pid: only beside the file it was to replace.
            if match is None and (old is None or old["target"] not in names):
                continue
            path = Path(folder) / name
            try:
                age = now - path.lstat().st_mtime
            except OSError:
                continue
            writer_gone = match is not None and not _writer_alive(int(match["pid"]))
            if writer_gone or age > STALE_TEMP_SECONDS:
                try:
                    path.unlink()
                except OSError as error:
                    logger.warning("Cannot remove stale temporary file %s: %s", path, error)
                    continue
                removed.append(path)
    if removed:
        logger.info("Removed %d temporary file(s) left by interrupted writes.", len(removed))
    return removed


def _writer_alive(pid: int) -> bool:
    # Our own id is a writer that is alive (another thread may be writing right now).
    return pid == os.getpid() or psutil.pid_exists(pid)


def write_file_set(files: Sequence[tuple[Path, bytes]], tag: str) -> None:
    """Replace several files of one folder as a set: a reader of any of them after a crash
    and the next start never finds one from this set beside one from an earlier set.

    Takes ``(path, data)`` pairs (all paths in one folder) and the set's tag (letters,
    digits, ``-`` and ``_``; e.g. the cycle id). Each file is written and fsynced beside
    its target as ``.<name>.set-<tag>.tmp``; then a commit marker ``.set-<tag>.commit`` is
    written atomically; then each file is renamed into place and the marker removed. A
    kill before the marker leaves the old set (its leftovers are removed at the next
    start); a kill after it is completed by :func:`recover_file_sets`.

    Raises:
        OSError: the folder is not writable or the disk is full; the old set is intact
            unless the commit marker was written (then recovery completes the new one).
        ValueError: the paths are not all in one folder, or the tag has other characters.
    """
    folders = {path.parent for path, _ in files}
    if len(folders) != 1:
        raise ValueError("a file set is one folder's files, tagged with [A-Za-z0-9_-]")
    (folder,) = folders
    with PendingFileSet(folder, tag) as pending:
        for path, data in files:
            pending.open(path).write(data)
        pending.commit()


class PendingFileSet:
    """:func:`write_file_set` in steps, for files too large to hold in memory: the caller
    writes each file into the handle :meth:`open` gives, then commits the set (or drops
    it: a report found unchanged once written is never put in place).

    Use as a context manager: leaving it without :meth:`commit` (an exception, a kill
    signal turned into one) deletes the pending files and leaves the old set.

    Raises (constructor):
        ValueError: the tag has characters other than letters, digits, ``-`` and ``_``.
        OSError: the folder cannot be made.
    """

    def __init__(self, folder: Path, tag: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", tag):
            raise ValueError("a file set is one folder's files, tagged with [A-Za-z0-9_-]")
        self.folder = folder
        self.tag = tag
        self._files: list[tuple[Path, Path, BinaryIO]] = []
        self._committed = False
        folder.mkdir(parents=True, exist_ok=True)
        recover_file_sets(folder)

    def __enter__(self) -> PendingFileSet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._committed:
            self.discard()

    def open(self, path: Path) -> BinaryIO:
        """Return the handle the new ``path`` (in this set's folder) is written into; it
        stays open until the set is committed or dropped.

        Raises:
            ValueError: ``path`` is not in the set's folder, or already in the set.
            OSError: the pending file cannot be created.
        """
        if path.parent != self.folder or any(path == target for target, _, _ in self._files):
            raise ValueError(f"{path} is not a new file of the set in {self.folder}")
        temporary = self.folder / f".{path.name}.set-{self.tag}.tmp"
        handle = open(temporary, "wb")  # noqa: SIM115 (closed by commit or discard)
        self._files.append((path, temporary, handle))
        if hasattr(os, "fchmod"):
            os.fchmod(handle.fileno(), 0o666 & ~_UMASK)
        return handle

    def commit(self, order: Sequence[Path] = ()) -> None:
        """Put the set in place: each file fsynced, the commit marker written, each file
        renamed (those in ``order`` first, in that order, the rest as opened), the marker
        removed.

        Raises:
            OSError: as :func:`write_file_set`.
        """
        rank = {path: number for number, path in enumerate(order)}
        self._files.sort(key=lambda file: rank.get(file[0], len(rank)))
        try:
            for _, _, handle in self._files:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
            fsync_folder(self.folder)
            marker = self.folder / f".set-{self.tag}.commit"
            atomic_write_bytes(marker, "\n".join(path.name for path, _, _ in self._files).encode())
        except BaseException:
            self.discard()
            raise
        self._committed = True
        _complete_set(self.folder, marker, self.tag)

    def discard(self) -> None:
        """Drop the pending files: the old set stays. Never raises."""
        for _, temporary, handle in self._files:
            with contextlib.suppress(OSError):
                handle.close()
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        self._files = []


def _complete_set(folder: Path, marker: Path, tag: str) -> None:
    try:
        names = [name for name in marker.read_text("utf-8").splitlines() if name]
    except (OSError, UnicodeDecodeError):
        names = []
    for name in names:
        temporary = folder / f".{name}.set-{tag}.tmp"
        if temporary.exists():
            os.replace(temporary, folder / name)
    fsync_folder(folder)
    with contextlib.suppress(FileNotFoundError):
        marker.unlink()
    fsync_folder(folder)


def recover_file_sets(folder: Path) -> list[Path]:
    """Finish or drop the file sets an earlier process left half-done in ``folder``.

    A committed set (its marker exists) is completed: its files still pending are renamed
    into place. Pending files of a set without a marker never became current and are
    deleted. Returns the pending files deleted. Raises OSError when a rename fails.
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        match = _SET_MARKER.match(name)
        if match is not None:
            logger.info("Completing the file set %s left by an interrupted write.", name)
            _complete_set(folder, folder / name, match["tag"])
    removed = []
    for name in os.listdir(folder):
        if _SET_PENDING.match(name):
            with contextlib.suppress(OSError):
                os.unlink(folder / name)
                removed.append(folder / name)
    return removed


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; never raises."""
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
            default=json_default,
        )
    except orjson.JSONEncodeError as error:
        if "surrogates" not in str(error):
            raise
        text = json.dumps(document, indent=2, sort_keys=True, default=json_default)
        return (text + "\n").encode("ascii")


def _dumps_line(record: Any) -> bytes:
    try:
        return orjson.dumps(record, default=json_default)
    except orjson.JSONEncodeError as error:
        if "surrogates" not in str(error):
            raise
        return json.dumps(record, separators=(",", ":"), default=json_default).encode("ascii")


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
    if file_sha256(path) == hashlib.sha256(data).hexdigest():
        return False
    atomic_write_bytes(path, data)
    return True


def write_chunks_if_changed(path: Path, chunks: Iterable[bytes]) -> bool:
    """Write the bytes ``chunks`` make, one after another, to ``path`` atomically, only
    when they differ from what ``path`` holds; never holds them all in memory.

    The chunks go to a temporary file beside ``path`` while they are hashed; the file
    already there is hashed in blocks. Equal: the temporary file is removed and ``path``
    keeps its mtime. Else the temporary file is fsynced and replaces ``path``.

    Returns:
        True when the file was (re)written.

    Raises:
        OSError: the folder is not writable or the disk is full; ``path`` is untouched.
    """
    with _temporary_beside(path) as (handle, temporary):
        written = hashlib.sha256()
        for chunk in chunks:
            written.update(chunk)
            handle.write(chunk)
        if written.hexdigest() == file_sha256(path):
            return False
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temporary, path)
    fsync_folder(path.parent)
    return True


def file_sha256(path: Path) -> str | None:
    """The sha256 (hex) of the file at ``path``, read in blocks; None when it cannot be
    read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def set_aside_corrupt(path: Path, reason: str) -> Path | None:
    """Move an unreadable state file to ``<name>.corrupt-<time>`` and warn.

    Returns:
        The new path, or None when the file could not be moved.
    """
    return _set_aside(path, "corrupt", f"was unreadable ({reason})", logging.WARNING)


def _set_aside(path: Path, tag: str, why: str, level: int) -> Path | None:
    """Move ``path`` to ``<name>.<tag>-<time>`` (a free name), log ``why`` at ``level``,
    and return the new path (None when it could not be moved)."""
    # Named by when the file was last written (its own mtime, UTC), not by reading the
    # clock: that is the moment a person looking into it wants, and it needs no clock.
    try:
        written = os.stat(path).st_mtime
    except OSError:
        written = 0.0
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(written))
    target = path.with_name(f"{path.name}.{tag}-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{tag}-{stamp}-{counter}")
        counter += 1
    try:
        os.replace(path, target)
    except OSError as error:
        logger.warning("State file %s %s and cannot be moved: %s", path, why, error)
        return None
    logger.log(level, "State file %s %s; moved it to %s and rebuilding it.", path, why, target)
    return target


def read_json_state(path: Path, schema_version: int) -> dict[str, Any] | None:
    """Read a JSON state file written by this tool.

    Returns:
        The document, or None when the file is absent. A file that is not valid JSON, not
        an object, or without a readable ``schema_version`` is set aside
        (``*.corrupt-<time>``, a warning); one written by another version of the tool
        (another ``schema_version``) is kept as ``*.schema-<version>-<time>`` (an info
        line, since an upgrade is not damage). Either way None is returned, so the caller
        rebuilds it.
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
    found = document.get(SCHEMA_VERSION_KEY)
    if found != schema_version:
        if isinstance(found, int) and not isinstance(found, bool):
            # Not damage: an upgrade (or a downgrade) changed the file's layout. Kept under
            # a name that says so, in case the other version is wanted back.
            _set_aside(
                path,
                f"schema-{found}",
                f"was written by another version of comfywatchman (layout {found}; this "
                f"one reads {schema_version})",
                logging.INFO,
            )
        else:
            set_aside_corrupt(path, f"schema_version {found!r}, expected {schema_version}")
        return None
    return document


def append_jsonl(path: Path, record: Any) -> None:
    """Append one JSON object as a line, flushed and fsynced.

    A torn last line left by an earlier crash is closed off first, so the new record is
    never glued onto it.

    Raises:
        OSError: the file cannot be written.
    """
    append_jsonl_lines(path, [record])


def append_jsonl_lines(path: Path, records: Sequence[Any]) -> None:
    """Append JSON objects one a line with one write and one fsync for them all (a cycle
    that takes in 5,000 workflows syncs the log once, not 5,000 times). Nothing is
    written for no records. A crash mid-write leaves whole lines and at most one torn
    last line, which readers skip.

    Raises:
        OSError: the file cannot be written.
    """
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    line = b"".join(_dumps_line(record) + b"\n" for record in records)
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
