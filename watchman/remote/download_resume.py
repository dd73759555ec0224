"""Picking up the part an earlier run left: its description read back and checked
against the task, and the bytes already on disk hashed once, so the download continues
where it stopped with the same sha256 it would have had in one go."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

import orjson

from watchman.remote.download_task import DownloadTask, Stopped
from watchman.remote.part_file import META_SCHEMA_VERSION, META_SUFFIX, PARTIAL_SUFFIX, PartFile

logger = logging.getLogger(__name__)

_REHASH_BYTES = 1 << 20
"""The buffer a resumed part is hashed through (see ``rehash``)."""


def open_part(task: DownloadTask, target: Path, stop_event: threading.Event) -> PartFile:
    """Return the part of ``task`` beside ``target``: the one on disk, hashed, when its
    description names the same URL and a validator (ETag or Last-Modified) to resume
    with; else an empty one (what was there is removed).

    Raises:
        Stopped: ``stop_event`` was set while the part was hashed (the part is kept).
        OSError: the part cannot be read.
    """
    part = PartFile(
        path=target.with_name(target.name + PARTIAL_SUFFIX),
        meta_path=target.with_name(target.name + META_SUFFIX),
        url=task.url,
    )
    meta: Any = None
    with contextlib.suppress(OSError, orjson.JSONDecodeError):
        meta = orjson.loads(part.meta_path.read_bytes())
    usable = (
        isinstance(meta, dict)
        and meta.get("schema_version") == META_SCHEMA_VERSION
        and meta.get("url") == task.url
        and part.path.is_file()
        and (meta.get("etag") or meta.get("last_modified"))
    )
    if not usable:
        part.discard()
        return part
    part.etag = meta.get("etag")
    part.last_modified = meta.get("last_modified")
    total = meta.get("total")
    part.total = total if isinstance(total, int) else None
    rehash(part, stop_event)
    if part.total is not None and part.offset > part.total:
        part.reset()
    part.resumed_from = part.offset
    logger.info("Resuming %s at byte %d", target.name, part.offset)
    return part


def rehash(part: PartFile, stop_event: threading.Event) -> None:
    """Hash the part an earlier run left, once, front to back, into ``part``.

    hashlib cannot save a sha256 state to disk, so across runs this is the one second
    read of any byte (within a run the state lives on across resumes). Memory stays
    bounded: one reused buffer, no copies. A stop ends it at the next buffer; the part
    is untouched and the next run starts the hash again.

    Raises:
        Stopped: a stop came. OSError: the part cannot be read.
    """
    buffer = bytearray(_REHASH_BYTES)
    view = memoryview(buffer)
    with part.path.open("rb", buffering=0) as handle:
        advise = getattr(os, "posix_fadvise", None)
        if advise is not None:
            with contextlib.suppress(OSError):
                advise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while count := handle.readinto(buffer):
            if stop_event.is_set():
                raise Stopped("interrupted", "interrupted")
            part.hasher.update(view[:count])
            part.offset += count
