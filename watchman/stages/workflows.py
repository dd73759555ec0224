"""The workflows stage: every watched folder walked with the parse cache
(``state/workflow_cache.jsonl``, :mod:`watchman.stages.workflow_cache`), and what the walk
found in each folder.

The files are found and read as ``scan`` finds and reads them
(:mod:`watchman.stages.watched_folders`); each file's cache entry is reused, re-hashed or
parsed again by the rules of :mod:`watchman.stages.workflow_entries`. Every
``workflows.full_rehash_hours`` a full re-hash reads every file, whatever its stamps
(``REHASH_STAMP`` beside the cache records when the last one started).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from watchman.comfy.loader_lookup import LoaderTable
from watchman.comfy.workflow import reader_failure
from watchman.errors import CycleInterrupted
from watchman.printable import printable
from watchman.stages import workflow_cache
from watchman.stages.cache_failures import CacheFailures, write_cache
from watchman.stages.watched_folders import (
    FolderProblem,
    WatchedFolder,
    discover_workflow_files,
)
from watchman.stages.workflow_entries import (
    StoredWorkflow,
    entry_for,
    load_workflow_cache,
    parser_version,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FolderSeen:
    """A watched folder as a cycle found it: its workflow files, whether it could be
    listed at all, and each problem (missing, not a folder, a subfolder that cannot be
    read) as a sentence for the top of the report."""

    path: str
    source: str
    files: int
    listed: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnreadableWorkflow:
    """A workflow file that exists but could not be read this cycle (permissions, I/O)."""

    path: Path
    source: str
    error: str
    name: str = ""


@dataclass(frozen=True)
class ReaderFailure:
    """A file a reader failed on unexpectedly (each is also that workflow's error): its
    printable path and the exception's type, for the structured log."""

    path: str
    exception: str


@dataclass(frozen=True)
class WorkflowScan:
    """The outcome of walking every watched folder."""

    workflows: tuple[StoredWorkflow, ...]
    # The cache lines by path (watchman.stages.workflow_cache); empty once written.
    entries: Mapping[str, bytes]
    files_hashed: int
    files_parsed: int
    unreadable: tuple[UnreadableWorkflow, ...]  # files that could not be read this cycle
    # Files the readers failed on unexpectedly this cycle: path and exception type, for
    # the structured log (each is also that workflow's error).
    failures: tuple[ReaderFailure, ...] = ()
    full_rehash: bool = False  # every file was hashed, whatever its stamps
    folders: tuple[FolderSeen, ...] = ()  # each watched folder: files, problems
    next_full_rehash_ns: int | None = None  # when the next full re-hash falls due


def _name_in(path: Path, folder: Path) -> str:
    """``path`` inside the watched ``folder`` (posix), or in full when outside it."""
    # The discovery joins names onto the folder, so the folder's text is the path's
    # beginning: cut it, rather than ask pathlib (a third of the stage's time for 5,000
    # files whose parse is reused).
    text, base = str(path), str(folder)
    prefix = base if base.endswith(os.sep) else base + os.sep
    if len(text) > len(prefix) and text.startswith(prefix):
        return text[len(prefix) :].replace(os.sep, "/")
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return str(path)


REHASH_STAMP = "workflow_rehash.stamp"
"""Beside the cache; its mtime is when the last full re-hash started."""


def full_rehash_due(stamp: Path, hours: float, now_ns: int) -> tuple[bool, int | None]:
    """Return whether a full re-hash is due now, and when the next one falls due (None:
    never). Takes the stamp file, ``workflows.full_rehash_hours`` (0: never) and the wall
    clock in ns. A stamp from the future counts as due (the clock went back)."""
    interval_ns = int(hours * 3600e9)
    if interval_ns <= 0:
        return False, None
    try:
        last = stamp.stat().st_mtime_ns
    except OSError:
        return True, now_ns + interval_ns
    if now_ns - last >= interval_ns or last > now_ns:
        return True, now_ns + interval_ns
    return False, last + interval_ns


def read_watched_workflows(
    cache_path: Path,
    folders: Sequence[WatchedFolder],
    include_images: bool,
    *,
    now_ns: int,
    full_rehash_hours: float = 0,
    table: LoaderTable | None = None,
    stop_event: threading.Event | None = None,
    failures: CacheFailures | None = None,
) -> WorkflowScan:
    """The workflows stage: walk the watched folders with the parse cache at
    ``cache_path``, and rewrite that cache when it changed.

    Takes the wall-clock time of the scan's start (ns, from the process's clock), the
    reference of the racy rule, and ``workflows.full_rehash_hours``: when that long has
    passed since the last full re-hash (the mtime of ``REHASH_STAMP`` beside the cache),
    every file is hashed again and the stamp is set to ``now_ns`` (only once the cache
    is written: a re-hash not saved is not done). ``failures``: where a cache that cannot
    be written is said (``stages/cache_failures``).

    Raises:
        OSError: the cache cannot be written and ``failures`` is None.
        CycleInterrupted: ``stop_event`` was set during the walk (nothing written).
    """
    stamp = cache_path.with_name(REHASH_STAMP)
    rehash_all, next_rehash_ns = full_rehash_due(stamp, full_rehash_hours, now_ns)
    cached = load_workflow_cache(cache_path, table)
    scan = scan_watched_folders(
        [(folder.path, folder.source) for folder in folders],
        cached,
        include_images,
        scan_started_ns=now_ns,
        rehash_all=rehash_all,
        table=table,
        stop_event=stop_event,
    )
    save = partial(workflow_cache.save_entries, cache_path, parser_version(table), scan.entries)
    saved = write_cache(failures, "workflow parse cache", cache_path, partial(save, cached), None)
    del cached, save
    # Earlier versions kept the cache as one JSON document (43 MB at 5,000 workflows):
    # nothing reads it now. Said once, when it goes, so the space coming back is explained.
    old_cache = cache_path.with_name("workflow_cache.json")
    with contextlib.suppress(OSError):
        if old_cache.is_file():
            old_cache.unlink()
            logger.info("Removed %s, the parse cache of an earlier version.", old_cache)
    if rehash_all and saved is not None:
        try:
            stamp.touch()
            os.utime(stamp, ns=(now_ns, now_ns))
        except OSError as error:
            logger.warning("Cannot record the full workflow re-hash in %s: %s", stamp, error)
    # The lines are written: the rest of the cycle needs the parses, not 10 MB of lines.
    return replace(scan, entries={}, full_rehash=rehash_all, next_full_rehash_ns=next_rehash_ns)


def scan_watched_folders(
    folders: Sequence[tuple[Path, str]],
    cached: Mapping[str, bytes],
    include_images: bool = True,
    *,
    scan_started_ns: int,
    rehash_all: bool = False,
    table: LoaderTable | None = None,
    stop_event: threading.Event | None = None,
    scandir: Callable[[Path], AbstractContextManager[Iterator[os.DirEntry[str]]]] = os.scandir,
) -> WorkflowScan:
    """Walk every watched folder, reusing cached hashes and parses where nothing changed.

    Args:
        folders: ``(folder, source label)`` pairs; a missing folder is logged and skipped.
        cached: the cache lines from ``load_workflow_cache`` (or a previous scan's
            ``entries``).
        include_images: also read ``.png`` / ``.webp`` files.
        scan_started_ns: the wall-clock time this scan starts (ns since the epoch), the
            reference of the racy rule (from the process's clock).
        rehash_all: hash every file even when size and mtime are unchanged (the periodic
            full re-hash).
        stop_event: once set, the walk ends before the next folder or file.
        scandir: lists one folder (``os.scandir``; a fake in tests).

    Raises:
        CycleInterrupted: ``stop_event`` was set.
    """
    started_ns = scan_started_ns
    stored: list[StoredWorkflow] = []
    entries: dict[str, bytes] = {}
    hashed = parsed = 0
    unreadable: list[UnreadableWorkflow] = []
    failures: list[ReaderFailure] = []
    seen: list[FolderSeen] = []
    records: workflow_cache.Records = {}  # equal nodes and references unpacked once
    for folder, source in folders:
        if folder.is_file():
            logger.warning(
                "Watched folder %s is a file, not a folder; watch the folder holding it.", folder
            )
            problem = f"Watched folder {folder} is a file, not a folder."
            seen.append(FolderSeen(str(folder), source, 0, False, (problem,)))
            continue
        if not folder.is_dir():
            logger.warning("Watched folder %s does not exist; nothing in it is watched.", folder)
            problem = f"Watched folder {folder} does not exist."
            seen.append(FolderSeen(str(folder), source, 0, False, (problem,)))
            continue
        problems: list[FolderProblem] = []
        files = list(
            discover_workflow_files(
                folder, include_images, problems, stop_event=stop_event, scandir=scandir
            )
        )
        listed = all(problem.folder != folder for problem in problems)
        sentences = tuple(problem.sentence for problem in problems)
        seen.append(FolderSeen(str(folder), source, len(files), listed, sentences))
        for path in files:
            if stop_event is not None and stop_event.is_set():
                raise CycleInterrupted(f"stop requested while reading {printable(str(path))}")
            key = str(path)
            if key in entries:  # the same folder watched twice
                continue
            try:
                workflow, line, was_hashed, new = entry_for(
                    path, source, cached.get(key), started_ns, rehash_all, table, records
                )
            except OSError as error:
                logger.warning("Cannot read workflow %s: %s", printable(key), error)
                reason = error.strerror or str(error)
                unreadable.append(
                    UnreadableWorkflow(
                        path,
                        source,
                        f"{printable(key)} cannot be read: {reason}.",
                        _name_in(path, folder),
                    )
                )
                if key in cached:
                    entries[key] = cached[key]  # keep what was known; nothing recorded is lost
                continue
            except Exception as surprise:
                # Last-resort boundary around everything else done for this one file.
                failure = reader_failure(printable(key), surprise)
                failures.append(ReaderFailure(printable(key), type(surprise).__name__))
                unreadable.append(
                    UnreadableWorkflow(path, source, str(failure), _name_in(path, folder))
                )
                continue
            if new is not None and new.failure is not None:
                failures.append(ReaderFailure(printable(key), new.failure))
            hashed += was_hashed
            parsed += new is not None
            entries[key] = line
            if not workflow.has_parse and workflow.error is None:
                continue  # a picture with no workflow in it
            stored.append(replace(workflow, name=_name_in(path, folder)))
    return WorkflowScan(
        tuple(stored),
        entries,
        hashed,
        parsed,
        tuple(unreadable),
        tuple(failures),
        folders=tuple(seen),
    )
