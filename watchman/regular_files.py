"""Opening files that strangers put on the disk: regular files only, never blocking.

Workflows, custom node packs, their git metadata, ``extra_model_paths.yaml`` and model
files are written by others. A named pipe (FIFO) that bears such a name blocks a plain
``open()`` until some process writes to it, forever if none does: one ``mkfifo
custom_nodes/pack/__init__.py`` would hang every cycle. A device file can stream without
end, and opening some devices has side effects. So these files are checked before they are
opened (``stat``: only a regular file, symbolic links followed, is opened), opened with
``O_NONBLOCK`` (a pipe swapped in after the check still cannot block the open or a
read) and checked again on the open descriptor (``fstat``), and read with a bound.

Every refusal is an ``OSError`` whose ``strerror`` says what the file is ("a named pipe,
not a regular file"), so each caller's existing per-item ``except OSError`` turns it into
that one item's warning or error and the cycle goes on.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from watchman.errors import FileTooLargeError

# O_NONBLOCK does not exist on Windows, where a pipe cannot bear a file's name anyway;
# O_NOCTTY keeps a terminal device from becoming the process's controlling terminal.
READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
)
"""``os.open`` flags for reading a stranger's file: binary, and never blocking on a pipe."""

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for binary reading if, and only if, it is a regular file.

    Args:
        path: the file (a symbolic link is followed to what it names).

    Returns:
        A binary file object; the caller closes it.

    Raises:
        OSError: the file is missing or unreadable, or it is not a regular file (a
            folder, pipe, device or socket; ``strerror`` names which). Never blocks.
    """
    _refuse_unless_regular(os.stat(path).st_mode, path)
    descriptor = os.open(path, READ_FLAGS)
    try:
        # Checked again on what was opened: the name may have been swapped meanwhile.
        _refuse_unless_regular(os.fstat(descriptor).st_mode, path)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """Read the whole regular file ``path``, if it holds at most ``limit`` bytes.

    Args:
        path: the file (a symbolic link is followed).
        limit: the most bytes the caller accepts; no more than ``limit + 1`` are read,
            even from a file whose size grows or is misreported (``/proc`` files say 0).

    Returns:
        The file's bytes.

    Raises:
        FileTooLargeError: the file is larger than ``limit`` (by its size, or by what
            could be read); its ``size`` is what was seen.
        OSError: the file cannot be read or is not a regular file.
    """
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise FileTooLargeError(path, size, limit)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(path, len(data), limit)
    return data


def _refuse_unless_regular(mode: int, path: str | os.PathLike[str]) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "an unusual kind of file")
    raise OSError(errno.EINVAL, f"it is {kind}, not a regular file", os.fspath(path))
