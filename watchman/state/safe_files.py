"""Safe files: every file the tool writes is written atomically.

A write goes to a temporary file beside its target, is fsynced and renamed over it, so a
crash or a full disk never leaves a half-written state file. A process killed mid-write
can leave its temporary file behind; it carries the writer's process id
(``.<name>.<pid>-<random>.tmp``, ``TEMP_NAME``) so that
:func:`~watchman.state.stale_temp_files.remove_stale_temp_files` can tell whose it is.
Several files that must agree are replaced as one set by
:mod:`watchman.state.file_sets`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from watchman.state.json_codec import dumps_json

# mkstemp creates files readable by the owner only; written files should get the mode any
# other file of this process gets (node_exporter must read the metrics textfile). The
# umask can only be read by setting it, so read it once, at import, before any thread.
_UMASK = os.umask(0o022)
os.umask(_UMASK)

TEMP_SUFFIX = ".tmp"
# .<name>.<pid>-<mkstemp's 8 characters>.tmp: what temporary_beside names a file.
TEMP_NAME = re.compile(r"^\..+\.(?P<pid>\d+)-[a-z0-9_]{8}\.tmp$")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, replace.

    Raises:
        OSError: the folder is not writable or the disk is full; ``path`` is untouched.
    """
    atomic_write_chunks(path, (data,))


def atomic_write_chunks(path: Path, chunks: Iterable[bytes]) -> None:
    """Write the bytes ``chunks`` make, one after another, to ``path`` atomically (as
    :func:`atomic_write_bytes`), never joined in memory: a cache of many lines would
    otherwise be held twice as it is written (21 MB more at a full re-hash of 5,000
    workflows).

    Raises:
        OSError: the folder is not writable or the disk is full; ``path`` is untouched.
    """
    with temporary_beside(path) as (handle, temporary):
        for chunk in chunks:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temporary, path)
    fsync_folder(path.parent)


@contextlib.contextmanager
def temporary_beside(path: Path) -> Iterator[tuple[BinaryIO, str]]:
    """Open a temporary file in ``path``'s folder (named so stale ones are found and
    cleaned, with the mode any file of this process gets); yield it and its name. It is
    removed if the body raises, or if it is still there when the body ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}-", suffix=TEMP_SUFFIX, dir=path.parent
    )
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(descriptor, file_mode())
        with os.fdopen(descriptor, "wb") as handle:
            yield handle, temporary
    finally:
        # Replaced into place: already gone. Raised, or not kept: removed (closed first,
        # Windows removes no open file).
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def file_mode() -> int:
    """The mode any file this process creates gets (``0o666`` less the umask)."""
    return 0o666 & ~_UMASK


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
    with temporary_beside(path) as (handle, temporary):
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
