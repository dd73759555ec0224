"""One watched workflow's entry in the parse cache (``state/workflow_cache.jsonl``,
:mod:`watchman.stages.workflow_cache`): reused, re-hashed or parsed again.

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
``workflows.full_rehash_hours`` a full re-hash reads every file (``rehash``, decided by
:mod:`watchman.stages.workflows`), for file systems whose ctime does not help (Windows,
some network mounts). A re-hash that finds the same sha256 costs no parse.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from watchman.comfy.loader_lookup import LoaderTable, default_table
from watchman.comfy.workflow import parse_workflow_bytes, reader_failure
from watchman.comfy.workflow_model import ParsedWorkflow
from watchman.errors import ImageWithoutWorkflowError, StateError, WorkflowError
from watchman.printable import printable
from watchman.stages import workflow_cache
from watchman.stages.intake import WatchedWorkflow
from watchman.stages.watched_folders import read_workflow_bytes
from watchman.stages.workflow_cache import CacheEntry

logger = logging.getLogger(__name__)

RACY_WINDOW_NS = 2_000_000_000
"""The coarsest mtime granularity of a common file system (FAT: 2 s)."""
# Cached parses are redone when the reader changes: bump the number when its code learns
# something new; a change to the loader tables is noticed by itself through their digest.
# 5: embedding tokens are read as ComfyUI's tokenizer reads them (comfy/prompt_tokens.py).
# 6: Easy-Use's loaders and pipe editors read the <lora:...> tags of their prompts.
# 7: the inpaint folder (comfyui-inpaint-nodes) takes .patch files.
# 8: an embedding: token followed by no name is a reference (of empty value).
# 9: prompts whose parentheses do not pair up are read exactly at any length.
# 10: a model name with a part over 255 characters is a parse error (MAX_FILE_NAME_CHARS).
# 11: subgraph instances hand their values to inner loaders; reroute chains are looked
#     through. From 11 on, any change of the readers' code (watchman/comfy) is noticed by
#     itself as well (``reader_code``): a forgotten bump no longer keeps stale parses.
_READER = 11


@functools.cache
def reader_code() -> str:
    """The digest of the workflow readers' source, ``watchman/comfy`` (their data, the
    loader tables, has a digest of its own). Raises OSError when a file cannot be read."""
    return source_digest(Path(__file__).resolve().parents[1] / "comfy")[:12]


def source_digest(folder: Path, pattern: str = "*.py") -> str:
    """The sha256 of the files under ``folder`` matching ``pattern`` (bytecode caches
    left out), by relative path and content: the digest of a body of code, for caches
    whose entries the code made. Raises OSError when a file cannot be read."""
    digest = hashlib.sha256()
    files = (p for p in folder.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)
    for path in sorted(files):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8", "surrogatepass"))
        digest.update(b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def parser_version(table: LoaderTable | None) -> str:
    """The parse cache's version for a loader table (the install's learned loaders; None:
    the default table): the reader's number, its code's digest and the table's digest."""
    return f"{_READER}.{reader_code()}:{(table or default_table()).digest}"


class CachedParse:
    """The parse the workflow cache holds for one workflow of a scan: its outline
    (:func:`~watchman.stages.workflow_cache.unpack_outline`) unpacked at once, its nodes
    when first asked. A cycle after one change asks for the nodes of the workflows it
    assesses again, not of the thousands whose needs it keeps: unpacking them all was most
    of such a cycle's workflows stage.

    Takes the cache line (kept by the scan anyway, to write the cache back), its outline,
    the scan's shared records, and the file and loader table, for a node record found
    damaged: that costs the workflow a fresh read and parse of its file, as a damaged
    line does in the scan.
    """

    __slots__ = ("_line", "_path", "_records", "_table", "_whole", "outline")

    def __init__(
        self,
        line: bytes,
        outline: ParsedWorkflow,
        records: workflow_cache.Records | None,
        path: Path,
        table: LoaderTable | None,
    ) -> None:
        self.outline = outline
        self._line = line
        self._records = records
        self._path = path
        self._table = table
        self._whole: ParsedWorkflow | None = None

    @property
    def unpacked(self) -> bool:
        """Whether the whole parse was asked for (and is now kept)."""
        return self._whole is not None

    def whole(self) -> ParsedWorkflow:
        """Return the whole parse, unpacked on the first call (then kept).

        Raises:
            WorkflowError: a node record is damaged and the file cannot be parsed again.
        """
        if self._whole is None:
            try:
                packed = workflow_cache.decode_entry(self._line).parsed
                if packed is None:
                    raise ValueError("the cached parse is gone")
                self._whole = workflow_cache.unpack_parse(packed, self._records)
            except _DAMAGE as damage:
                logger.info(
                    "Cached parse of %s is unusable (%s); parsing it again.", self._path, damage
                )
                self._whole = self._parsed_again()
            self._line = b""  # the scan keeps its own reference to write the cache
        return self._whole

    def _parsed_again(self) -> ParsedWorkflow:
        name = printable(str(self._path))
        try:
            data = read_workflow_bytes(self._path, self._path.stat().st_size)
            return parse_workflow_bytes(data, name, self._table)
        except OSError as error:
            raise WorkflowError(
                f"{name} cannot be read again after its cached parse was found damaged: "
                f"{error.strerror or error}."
            ) from error


@dataclass(frozen=True)
class StoredWorkflow:
    """A watched workflow with its parse result, or the error that stopped the parse.

    ``fresh`` is a parse made in this scan; ``cached`` one the cache holds, unpacked as
    asked (:attr:`parsed`, :attr:`outline`). ``name`` is its path inside the watched
    folder holding it (posix), for people."""

    watched: WatchedWorkflow
    fresh: ParsedWorkflow | None
    error: str | None
    name: str = ""
    cached: CachedParse | None = None

    @property
    def has_parse(self) -> bool:
        """Whether the workflow was parsed (now or before), without unpacking anything."""
        return self.fresh is not None or self.cached is not None

    @property
    def parsed(self) -> ParsedWorkflow | None:
        """The whole parse, None when there is none; a cached one is unpacked on the first
        ask (:meth:`CachedParse.whole`).

        Raises:
            WorkflowError: its cached parse is damaged and the file cannot be read again.
        """
        if self.fresh is not None:
            return self.fresh
        return self.cached.whole() if self.cached is not None else None

    @property
    def outline(self) -> ParsedWorkflow | None:
        """The parse without its nodes and numbers (the whole one when fresh), None when
        there is none: never unpacks a cached parse's nodes."""
        if self.fresh is not None:
            return self.fresh
        return self.cached.outline if self.cached is not None else None


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


def entry_for(
    path: Path,
    source: str,
    cached_line: bytes | None,
    scan_started_ns: int = 0,
    rehash: bool = False,
    table: LoaderTable | None = None,
    records: workflow_cache.Records | None = None,
) -> tuple[StoredWorkflow, bytes, bool, CacheEntry | None]:
    """Return the stored workflow, its cache line, whether it was hashed, and its new
    cache entry when it was parsed this time (None: the parse was reused).

    Takes the file, its source label, its cache line, when this scan started (wall clock,
    ns; recorded as the entry's ``checked_ns`` when the file is hashed), whether to
    hash it even when the entry is trusted, the loader table, and the records the scan
    unpacked so far (shared between workflows, see
    :func:`~watchman.stages.workflow_cache.unpack_parse`).

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
        assert cached_line is not None
        try:
            stored = _from_cache(path, source, cached, cached_line, records, table)
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
        line = workflow_cache.encode_entry(key, entry)
        try:
            stored = _from_cache(path, source, entry, line, records, table)
        except _DAMAGE as damage:
            logger.info("Cached parse of %s is unusable (%s); parsing it again.", path, damage)
        else:
            return stored, line, True, None
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


def _from_cache(
    path: Path,
    source: str,
    entry: CacheEntry,
    line: bytes,
    records: workflow_cache.Records | None,
    table: LoaderTable | None,
) -> StoredWorkflow:
    """The stored workflow of a cache entry (``line`` its encoded form), its parse's nodes
    left packed until asked. Raises what a damaged outline raises (``_DAMAGE``)."""
    watched = WatchedWorkflow(path, source, entry.size, entry.mtime_ns, entry.sha256)
    if entry.parsed is None:
        return StoredWorkflow(watched, None, entry.error)
    outline = workflow_cache.unpack_outline(entry.parsed)
    cached = CachedParse(line, outline, records, path, table)
    return StoredWorkflow(watched, None, entry.error, cached=cached)
