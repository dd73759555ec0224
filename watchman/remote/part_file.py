"""A download's part file: ``<name>.cwpart`` beside the target with ``<name>.cwpart.json``
saying what it is a part of, and the writer thread that hashes and writes its chunks in
order while the socket is read. The downloader (:mod:`watchman.remote.downloader`) decides
when a part is resumed, restarted or renamed into place.
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


_WRITEBACK_BYTES = 32 << 20
"""How often the writer asks the kernel to write the part out (see ``PartWriter``)."""


class PartWriter:
    """Hashes and writes a part's chunks in a thread of its own, in order.

    ``put`` hands over a chunk (waiting when a few are queued already) and raises the
    writer's ``OSError`` (a full disk) as soon as it happened; ``close`` waits until every
    chunk is written and hashed, then raises that error if any.

    Every ``_WRITEBACK_BYTES`` the part written so far is handed to the disk with
    ``posix_fadvise(DONTNEED)`` (where the OS has it): the kernel starts writing it out while
    the download goes on, instead of the final fsync writing the whole file at once, and a
    model of several GB does not push everything else out of the page cache.
    """

    _DONE = b""

    def __init__(self, part: PartFile, handle: BinaryIO, depth: int = 8) -> None:
        self.part = part
        self.handle = handle
        self.queue: queue.Queue[bytes] = queue.Queue(maxsize=depth)
        self.error: OSError | None = None
        self.advised = part.offset  # bytes of the part already handed to the disk
        self.thread = threading.Thread(target=self._run, name="download-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is self._DONE:
                return
            if self.error is not None:
                continue  # drain without writing after a failure
            try:
                self.handle.write(chunk)
            except OSError as error:
                self.error = error
                continue
            self.part.hasher.update(chunk)
            self.part.offset += len(chunk)
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

    def put(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        if chunk:
            self.queue.put(chunk)

    def close(self) -> None:
        self.queue.put(self._DONE)
        self.thread.join()
        if self.error is not None:
            raise self.error


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
