"""Files that must agree with each other (the JSON and Markdown reports) replaced as one
set: a kill at any moment leaves either the old set or, once the set is committed, the
new one after recovery (:func:`recover_file_sets`)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from watchman.state.safe_files import atomic_write_bytes, file_mode, fsync_folder

logger = logging.getLogger(__name__)

# A set's pending file (.<name>.set-<tag>.tmp) and its commit marker (.set-<tag>.commit).
SET_PENDING = re.compile(r"^\..+\.set-(?P<tag>[A-Za-z0-9_-]+)\.tmp$")
SET_MARKER = re.compile(r"^\.set-(?P<tag>[A-Za-z0-9_-]+)\.commit$")


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
            os.fchmod(handle.fileno(), file_mode())
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
        match = SET_MARKER.match(name)
        if match is not None:
            logger.info("Completing the file set %s left by an interrupted write.", name)
            _complete_set(folder, folder / name, match["tag"])
    removed = []
    for name in os.listdir(folder):
        if SET_PENDING.match(name):
            with contextlib.suppress(OSError):
                os.unlink(folder / name)
                removed.append(folder / name)
    return removed
