"""Watched workflows: the one file discovery, and their parse cache
(``state/workflow_cache.jsonl``, :mod:`watchman.stages.workflow_cache`).

:func:`discover_workflow_files` is how both the cycle and the ``scan`` command find
workflow files in a folder, and :func:`read_workflow_bytes` how both read one (with the same
size limit), so by hand and in the cycle the same files are read the same way.

A cycle in which nothing changed must cost about one walk of the watched folders: a file
whose size and modification time are as recorded keeps its recorded sha256 and parse
result without being read. A changed file is hashed; it is parsed again only when its
hash changed too.

Size and mtime miss an edit that keeps both, so three rules close the gap. On POSIX the
entry also keeps the ctime, which every write sets and nothing can set back, so ``cp -p``
and ``rsync -t`` show. Each entry records when the scan that hashed it started
(``checked_ns``); an entry whose mtime is not at least ``RACY_WINDOW_NS`` older than that
may have been edited again within the same clock tick (git's "racy" rule), so it is
hashed again (once: the re-hash records a later ``checked_ns``). And every
``workflows.full_rehash_hours`` a full re-hash reads every file, for file systems whose
ctime does not help (Windows, some network mounts). A re-hash that finds the same sha256
costs no parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path

from watchman.comfy.loader_lookup import LoaderTable, default_table
from watchman.comfy.workflow import MAX_WORKFLOW_BYTES, parse_workflow_bytes, reader_failure
from watchman.comfy.workflow_model import ParsedWorkflow
from watchman.environment import expand_user
from watchman.errors import (
    CycleInterrupted,
    ImageWithoutWorkflowError,
    StateError,
    WorkflowError,
)
from watchman.printable import printable
from watchman.stages import workflow_cache
from watchman.stages.intake import WatchedWorkflow
from watchman.stages.workflow_cache import CacheEntry

logger = logging.getLogger(__name__)

RACY_WINDOW_NS = 2_000_000_000
"""The coarsest mtime granularity of a common file system (FAT: 2 s)."""
WORKFLOW_SUFFIXES = (".json",)
IMAGE_SUFFIXES = (".png", ".webp")
# Cached parses are redone when the reader changes: bump the number when its code learns
# something new; a change to the loader tables is noticed by itself through their digest.
PARSER_VERSION = f"4:{default_table().digest}"


def parser_version(table: LoaderTable | None) -> str:
    """The parse cache's version for a loader table (the install's learned loaders)."""
    return PARSER_VERSION if table is None else f"4:{table.digest}"


@dataclass(frozen=True)
class WatchedFolder:
    """A folder of workflows to watch, absolute, with the source label it records."""

    path: Path
    source: str


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
class StoredWorkflow:
    """A watched workflow with its parse result, or the error that stopped the parse.

    ``name`` is its path inside the watched folder holding it (posix), for people."""

    watched: WatchedWorkflow
    parsed: ParsedWorkflow | None
    error: str | None
    name: str = ""


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


def discover_workflow_files(
    folder: Path,
    include_images: bool = True,
    problems: list[str] | None = None,
    *,
    stop_event: threading.Event | None = None,
    scandir: Callable[[Path], AbstractContextManager[Iterator[os.DirEntry[str]]]] = os.scandir,
) -> Iterator[Path]:
    """Yield workflow files under ``folder`` recursively, sorted, skipping hidden entries.

    Hidden files and folders (a leading ``.``: ``.git``, editors' backups, ``.trash``) are
    never workflows the owner collected. Symlinked folders are followed, but a folder
    already entered (by device and inode) is not entered again, so a link loop cannot
    multiply the workflows. A link that loops on itself is yielded when it has a
    workflow's name (reading it then fails: one unreadable entry) and skipped with a
    warning otherwise; the entries after it are still listed. A folder that cannot be read
    is logged and skipped, and a sentence saying so is appended to ``problems`` (when
    given) for the report. ``scandir`` lists one folder (``os.scandir``; a fake in tests).

    Raises:
        CycleInterrupted: ``stop_event`` was set (checked before each folder).
    """
    suffixes = WORKFLOW_SUFFIXES + (IMAGE_SUFFIXES if include_images else ())
    stack = [folder]
    entered: set[tuple[int, int]] = set()
    found: list[Path] = []
    while stack:
        current = stack.pop()
        if stop_event is not None and stop_event.is_set():
            raise CycleInterrupted(f"stop requested while listing {printable(str(current))}")
        try:
            identity = os.stat(current)
        except OSError as error:
            logger.warning("Cannot read watched folder %s: %s", current, error)
            if problems is not None:
                problems.append(f"{current} cannot be read: {error.strerror or error}.")
            continue
        if (identity.st_dev, identity.st_ino) in entered:
            logger.debug("Not entering %s again: a link leads back to it", current)
            continue
        entered.add((identity.st_dev, identity.st_ino))
        try:
            with scandir(current) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    wanted = entry.name.lower().endswith(suffixes)
                    try:
                        is_dir = entry.is_dir()
                        is_file = not is_dir and entry.is_file()
                    except OSError as error:
                        # A link that loops or cannot be followed costs this one entry (an
                        # unreadable workflow when it has a workflow's name), never the
                        # rest of the folder's listing.
                        logger.warning("Cannot follow %s: %s", entry.path, error)
                        if wanted:
                            found.append(Path(entry.path))
                        continue
                    if is_dir:
                        stack.append(Path(entry.path))
                    elif is_file and wanted:
                        found.append(Path(entry.path))
        except OSError as error:
            logger.warning("Cannot read watched folder %s: %s", current, error)
            if problems is not None:
                problems.append(f"{current} cannot be read: {error.strerror or error}.")
    yield from sorted(found)


def read_workflow_bytes(path: Path, size: int) -> bytes:
    """Return the bytes of the workflow file ``path``, whose stat gave ``size``.

    Raises:
        WorkflowError: the file is larger than a workflow can be (then it is not read), or
            grew past the limit while it was read.
        OSError: the file cannot be read.
    """
    name = printable(str(path))
    if size > MAX_WORKFLOW_BYTES:
        raise WorkflowError(
            f"{name} is over a limit: {size} bytes, more than the {MAX_WORKFLOW_BYTES} a "
            "workflow file may have (MAX_WORKFLOW_BYTES); it was not read."
        )
    with path.open("rb") as handle:
        # Read no more than the limit even when the file grows after the stat.
        data = handle.read(MAX_WORKFLOW_BYTES + 1)
    if len(data) > MAX_WORKFLOW_BYTES:
        raise WorkflowError(
            f"{name} is over a limit: it grew past the {MAX_WORKFLOW_BYTES} bytes a workflow "
            "file may have while it was read (MAX_WORKFLOW_BYTES)."
        )
    return data


def load_workflow_cache(path: Path, table: LoaderTable | None = None) -> dict[str, bytes]:
    """Return the cached entries by path, undecoded (empty when absent, stale or
    unreadable); see :mod:`watchman.stages.workflow_cache`."""
    return workflow_cache.load_entries(path, parser_version(table))


def _trusted(cached: CacheEntry, stat: os.stat_result) -> bool:
    """Whether a cache entry may be reused unread: same size, mtime and (on POSIX) ctime,
    and the mtime safely older than the scan that hashed it (the module's racy rule)."""
    return (
        cached.size == stat.st_size
        and cached.mtime_ns == stat.st_mtime_ns
        and cached.ctime_ns == _ctime_ns(stat)
        and stat.st_mtime_ns < cached.checked_ns - RACY_WINDOW_NS
    )


def _ctime_ns(stat: os.stat_result) -> int | None:
    # On POSIX every write sets ctime to now and no call can set it back, so an edit that
    # restores size and mtime (cp -p, rsync -t) still shows. Windows' st_ctime is the
    # creation time: there only the racy rule and the periodic full re-hash help.
    return stat.st_ctime_ns if os.name == "posix" else None


_DAMAGE = (StateError, KeyError, ValueError, TypeError, IndexError, AttributeError)
"""What a damaged cache line raises when decoded or unpacked."""


def _entry_for(
    path: Path,
    source: str,
    cached_line: bytes | None,
    scan_started_ns: int = 0,
    rehash: bool = False,
    table: LoaderTable | None = None,
) -> tuple[StoredWorkflow, bytes, bool, CacheEntry | None]:
    """Return the stored workflow, its cache line, whether it was hashed, and its new
    cache entry when it was parsed this time (None: the parse was reused).

    Takes the file, its source label, its cache line, when this scan started (wall clock,
    ns; recorded as the entry's ``checked_ns`` when the file is hashed) and whether to
    hash it even when the entry is trusted.

    Raises:
        OSError: the file cannot be read.
    """
    stat = path.stat()
    key = str(path)
    cached: CacheEntry | None = None
    if cached_line is not None:
        try:
            cached = workflow_cache.decode_entry(cached_line)
        except _DAMAGE as damage:
            logger.info("Cache entry of %s is unusable (%s); reading it again.", path, damage)
    if cached is not None and not rehash and _trusted(cached, stat):
        try:
            stored = _from_cache(path, source, cached)
        except _DAMAGE as damage:
            # A damaged cache entry costs one re-read of the file, nothing more.
            logger.info("Cached parse of %s is unusable (%s); reading it again.", path, damage)
            cached = None
        else:
            assert cached_line is not None
            return stored, cached_line, False, None
    data: bytes | None = None
    refusal: str | None = None
    sha256 = ""
    try:
        data = read_workflow_bytes(path, stat.st_size)
        sha256 = hashlib.sha256(data).hexdigest()
    except WorkflowError as too_large:
        # Not read at all, not even to hash it: the work per file stays bounded. Its
        # size and mtime in the cache keep it from being looked at again.
        refusal = str(too_large)
    watched = WatchedWorkflow(path, source, stat.st_size, stat.st_mtime_ns, sha256)
    if cached is not None and cached.sha256 == sha256:
        # Touched but not changed: reuse the parse, remember the new mtime.
        entry = replace(
            cached,
            source=source,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            ctime_ns=_ctime_ns(stat),
            checked_ns=scan_started_ns,
        )
        try:
            stored = _from_cache(path, source, entry)
        except _DAMAGE as damage:
            logger.info("Cached parse of %s is unusable (%s); parsing it again.", path, damage)
        else:
            return stored, workflow_cache.encode_entry(key, entry), True, None
    parsed: ParsedWorkflow | None = None
    error: str | None = refusal
    failure_kind = None
    try:
        if data is not None:
            parsed = parse_workflow_bytes(data, printable(str(path)), table)
    except ImageWithoutWorkflowError:
        # An ordinary picture beside the workflows: remembered so it is not read again,
        # never reported.
        pass
    except WorkflowError as problem:
        error = str(problem)
    except Exception as surprise:
        # The last-resort boundary for one stranger's file: whatever the readers did not
        # foresee is this workflow's parse error, never the cycle's end.
        parsed, error = None, str(reader_failure(printable(str(path)), surprise))
        failure_kind = type(surprise).__name__
    new = CacheEntry(
        source=source,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        ctime_ns=_ctime_ns(stat),
        checked_ns=scan_started_ns,
        sha256=sha256,
        parsed=workflow_cache.pack_parse(parsed) if parsed is not None else None,
        error=error,
        failure=failure_kind,
    )
    return (
        StoredWorkflow(watched, parsed, error),
        workflow_cache.encode_entry(key, new),
        True,
        new,
    )


def _name_in(path: Path, folder: Path) -> str:
    """``path`` inside the watched ``folder`` (posix), or in full when outside it."""
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return str(path)


def _from_cache(path: Path, source: str, entry: CacheEntry) -> StoredWorkflow:
    watched = WatchedWorkflow(path, source, entry.size, entry.mtime_ns, entry.sha256)
    parsed = workflow_cache.unpack_parse(entry.parsed) if entry.parsed is not None else None
    return StoredWorkflow(watched, parsed, entry.error)


def watched_folders(
    configured: Sequence[tuple[Path, str]], comfyui_root: Path, home_dir: Path
) -> tuple[WatchedFolder, ...]:
    """Return the configured ``(path, source)`` folders made absolute: ``~`` is
    ``home_dir``, and a relative path is taken from the ComfyUI root."""
    folders = []
    for configured_path, source in configured:
        path = expand_user(configured_path, home_dir)
        folders.append(WatchedFolder(path if path.is_absolute() else comfyui_root / path, source))
    return tuple(folders)


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
) -> WorkflowScan:
    """The workflows stage: walk the watched folders with the parse cache at
    ``cache_path``, and rewrite that cache when it changed.

    Takes the wall-clock time of the scan's start (ns, from the process's clock), the
    reference of the racy rule, and ``workflows.full_rehash_hours``: when that long has
    passed since the last full re-hash (the mtime of ``REHASH_STAMP`` beside the cache),
    every file is hashed again and the stamp is set to ``now_ns``.

    Raises:
        OSError: the cache cannot be written.
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
    workflow_cache.save_entries(cache_path, parser_version(table), scan.entries, cached)
    del cached
    with contextlib.suppress(OSError):
        # Earlier versions kept the cache as one JSON document: nothing reads it now.
        cache_path.with_name("workflow_cache.json").unlink(missing_ok=True)
    if rehash_all:
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
        problems: list[str] = []
        files = list(
            discover_workflow_files(
                folder, include_images, problems, stop_event=stop_event, scandir=scandir
            )
        )
        listed = not (problems and problems[0].startswith(f"{folder} "))
        seen.append(FolderSeen(str(folder), source, len(files), listed, tuple(problems)))
        for path in files:
            if stop_event is not None and stop_event.is_set():
                raise CycleInterrupted(f"stop requested while reading {printable(str(path))}")
            key = str(path)
            if key in entries:  # the same folder watched twice
                continue
            try:
                workflow, line, was_hashed, new = _entry_for(
                    path, source, cached.get(key), started_ns, rehash_all, table
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
            if workflow.parsed is None and workflow.error is None:
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
