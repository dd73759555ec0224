"""A download's part file: ``<name>.cwpart`` beside the target with ``<name>.cwpart.json``
saying what it is a part of, and the writer thread that hashes and writes its chunks in
order while the socket is read. This module only keeps the part; others decide what
becomes of it: an earlier run's part is picked up (its description checked, its bytes
hashed again) by :mod:`watchman.remote.download_resume`; whether an answer continues it
or it must start from zero is judged by :mod:`watchman.remote.download_answer`; the
downloader (:mod:`watchman.remote.downloader`) resumes it after a cut, resets it for a
restart or discards it; and it is checked and renamed into place by
:mod:`watchman.remote.download_verify`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from watchman.state.safe_files import atomic_write_bytes

PARTIAL_SUFFIX = ".cwpart"
META_SUFFIX = ".cwpart.json"
META_SCHEMA_VERSION = 1


@dataclass
class PartFile:
    """The part on disk and what it is a part of."""

    path: Path
    meta_path: Path
    url: str
    offset: int = 0
    etag: str | None = None
    last_modified: str | None = None
    total: int | None = None
    fetched: int = 0  # bytes received in this run
    resumed_from: int = 0  # where this run's bytes started
    hasher: Any = field(default_factory=hashlib.sha256)

    def save_meta(self) -> None:
        document = {
            "schema_version": META_SCHEMA_VERSION,
            "url": self.url,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "total": self.total,
        }
        atomic_write_bytes(self.meta_path, orjson.dumps(document))

    def reset(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.offset, self.etag, self.last_modified, self.total = 0, None, None, None
        self.resumed_from = 0
        self.hasher = hashlib.sha256()

    def discard(self) -> None:
        for path in (self.path, self.meta_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


_WRITEBACK_BYTES = 8 << 20
"""How often the writer asks the kernel to write the part out (see ``PartWriter``): every
8 MiB measured faster than every 32 MiB on ext4 (less kernel CPU per byte) and no slower
in memory (``docs/benchmarks.md``)."""


class PartWriter:
    """Hashes and writes a part's bytes in a thread of its own, in order.

    ``put`` copies the bytes it is handed into the current buffer (``buffer_bytes``); a
    full buffer goes to the writer thread, which writes it to the part, hashes it and
    gives it back. ``buffers`` buffers are reused for the whole download, so memory stays at
    ``buffers * buffer_bytes`` and no large object is allocated per chunk, and the two
    threads meet once per buffer, not once per socket read: each meeting costs the reading
    thread a GIL hand-off, the largest cost of a writer thread after the work itself
    (``docs/downloads.md``). ``put`` waits when every buffer is in use (the disk is slower
    than the network) and raises the writer's ``OSError`` (a full disk) as soon as it
    happened; ``close`` hands over what is left, waits until every byte is written and
    hashed, then raises that error if any.

    Every ``_WRITEBACK_BYTES`` the part written so far is handed to the disk with
    ``posix_fadvise(DONTNEED)`` (where the OS has it): the kernel starts writing it out while
    the download goes on, instead of the final fsync writing the whole file at once, and a
    model of several GB does not push everything else out of the page cache.
    """

    def __init__(
        self, part: PartFile, handle: BinaryIO, buffer_bytes: int = 2 << 20, buffers: int = 3
    ) -> None:
        self.part = part
        self.handle = handle
        self.error: OSError | None = None
        self.advised = part.offset  # bytes of the part already handed to the disk
        self._size = max(buffer_bytes, 1)
        # SimpleQueue: a C queue, cheaper per hand-off than queue.Queue's Python locks.
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._full: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        for _ in range(max(buffers, 2) - 1):
            self._free.put(bytearray(self._size))
        self._buffer = bytearray(self._size)
        self._view = memoryview(self._buffer)
        self._filled = 0
        self._handed = part.offset  # where the part ends once the writer has caught up
        self.thread = threading.Thread(target=self._run, name="download-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self._full.get()
            if item is None:
                return
            buffer, count = item
            try:
                if self.error is None:  # after a failure, only give the buffers back
                    self._write(buffer, count)
            finally:
                self._free.put(buffer)

    def _write(self, buffer: bytearray, count: int) -> None:
        with memoryview(buffer)[:count] as data:
            try:
                self.handle.write(data)
            except OSError as error:
                self.error = error
                return
            self.part.hasher.update(data)
        self.part.offset += count
        if self.part.offset - self.advised >= _WRITEBACK_BYTES:
            self._write_back()

    def _write_back(self) -> None:
        """Start writing out what was written since the last call (advice: never fails)."""
        advise = getattr(os, "posix_fadvise", None)
        if advise is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.handle.flush()
            start, self.advised = self.advised, self.part.offset
            advise(self.handle.fileno(), start, self.advised - start, os.POSIX_FADV_DONTNEED)

    def put(self, data: bytes) -> None:
        """Take ``data`` (copied: the caller may reuse it); raise the writer's error if any."""
        if self.error is not None:
            raise self.error
        count = len(data)
        filled = self._filled
        if filled + count < self._size:  # the usual case: a socket read fits
            self._view[filled : filled + count] = data
            self._filled = filled + count
            return
        rest = memoryview(data)
        while rest:
            take = min(self._size - self._filled, len(rest))
            self._view[self._filled : self._filled + take] = rest[:take]
            self._filled += take
            rest = rest[take:]
            if self._filled == self._size:
                self._hand_over()

    def _hand_over(self) -> None:
        self._full.put((self._buffer, self._filled))
        self._handed += self._filled
        self._buffer = self._next_buffer()
        self._view = memoryview(self._buffer)
        self._filled = 0

    def _next_buffer(self) -> bytearray:
        while True:
            try:
                return self._free.get(timeout=_WAIT_SECONDS)
            except queue.Empty:
                if not self.thread.is_alive():  # it died of something else than OSError
                    raise OSError("the download's writer thread stopped") from None

    def close(self) -> None:
        """Write what is left; raise the writer's error, or ``OSError`` if it stopped short."""
        if self._filled:
            self._full.put((self._buffer, self._filled))
            self._handed += self._filled
            self._filled = 0
        self._full.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        if self.part.offset != self._handed:  # the thread died of something else
            raise OSError("the download's writer thread stopped before the end")


_WAIT_SECONDS = 1.0
"""How often a ``put`` waiting for a free buffer checks that the writer thread still runs."""


@contextlib.contextmanager
def open_part_at(path: Path, offset: int) -> Iterator[BinaryIO]:
    """Open the part for appending at ``offset`` (what was hashed is what is kept)."""
    handle = path.open("r+b" if path.exists() else "wb")
    try:
        handle.truncate(offset)
        handle.seek(offset)
        yield handle
    finally:
        handle.close()
