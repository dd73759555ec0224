"""Incremental directory listings: a directory whose own stamp is unchanged keeps its list.

Adding, removing or renaming an entry changes its directory's mtime, so a walk that stats
each directory (one ``stat`` each) and lists again only the directories whose stamp
(device, inode, mtime, ctime) changed sees every such change at a fraction of the cost of
stating every file. Two things it cannot see, handled here as git handles its index:

* a change made in the same timestamp tick as the listing (the "racy" case): a directory
  whose mtime lies within :data:`RACY_NANOSECONDS` of the moment it was listed, or after it,
  is listed again next time, whatever its stamp says;
* a file rewritten in place (its size or mtime change, its directory's do not): a full
  re-stat (``restat=True``, run on a schedule by the caller) lists every directory again.

A :class:`TreeListing` holds the records of every directory walked; records are compact
(a directory's file names in one string, sizes and mtimes in ``array('q')``). It is saved
as one JSON document in the state folder; a listing read from that file or written to it
remembers which version of the file it matches (:class:`ListingFile`), so a cycle that
changed nothing writes nothing.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from watchman.clocks import RACY_NANOSECONDS
from watchman.errors import CycleInterrupted
from watchman.state.json_codec import loads_json
from watchman.state.json_state import set_aside_corrupt
from watchman.state.safe_files import atomic_write_bytes

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
MAX_DEPTH = 200
"""Deeper folders are not entered (warned once per walk): no real tree is that deep."""

Stamp = tuple[int, int, int, int]
"""A directory's (device, inode, mtime_ns, ctime_ns)."""


def seconds(nanoseconds: int) -> float:
    """Return a nanosecond timestamp as the float ``os.stat`` gives as ``st_mtime``."""
    whole, fraction = divmod(nanoseconds, 1_000_000_000)
    return whole + fraction * 1e-9


def _stamp_of(stat: os.stat_result) -> Stamp:
    return (stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclass(slots=True)
class DirectoryListing:
    """One directory's entries when it was last listed.

    ``subfolders`` are the names of entries that are folders (links followed); ``names``,
    ``sizes`` and ``mtimes_ns`` the files (links followed), in the same order. Entries that
    are neither (broken links, sockets) are left out. The names are kept as one string
    per directory (NUL, which no file name holds, between them): 16,000 strings rather
    than 136,000 at 100k models, a third of the resident listing's memory.
    """

    stamp: Stamp
    listed_at_ns: int
    joined_subfolders: str
    joined_names: str
    sizes: array[int]
    mtimes_ns: array[int]

    @classmethod
    def of(
        cls,
        stamp: Stamp,
        listed_at_ns: int,
        subfolders: Sequence[str],
        names: Sequence[str],
        sizes: array[int],
        mtimes_ns: array[int],
    ) -> DirectoryListing:
        """Build a record from its lists of subfolder and file names."""
        return cls(stamp, listed_at_ns, "\0".join(subfolders), "\0".join(names), sizes, mtimes_ns)

    @property
    def subfolders(self) -> tuple[str, ...]:
        """The subfolders' names, sorted."""
        return tuple(self.joined_subfolders.split("\0")) if self.joined_subfolders else ()

    @property
    def names(self) -> tuple[str, ...]:
        """The files' names, sorted, in the order of ``sizes`` and ``mtimes_ns``."""
        return tuple(self.joined_names.split("\0")) if self.joined_names else ()

    def is_racy(self) -> bool:
        """True when the directory changed too close to its listing to trust the list."""
        return self.stamp[2] >= self.listed_at_ns - RACY_NANOSECONDS

    def same_entries(self, other: DirectoryListing) -> bool:
        """True when both list the same folders and files with the same sizes and mtimes."""
        return (
            self.joined_subfolders == other.joined_subfolders
            and self.joined_names == other.joined_names
            and self.sizes == other.sizes
            and self.mtimes_ns == other.mtimes_ns
        )

    def to_json(self) -> list[Any]:
        # Few, large values: reading 16,000 directories back makes 16,000 strings, not a
        # list per directory and an object per name, size and mtime (a 150 MiB peak).
        return [
            list(self.stamp),
            self.listed_at_ns,
            self.joined_subfolders,
            self.joined_names,
            base64.b64encode(self.sizes.tobytes()).decode("ascii"),
            base64.b64encode(self.mtimes_ns.tobytes()).decode("ascii"),
        ]

    @classmethod
    def from_json(cls, item: Any) -> DirectoryListing:
        """Rebuild a record from :meth:`to_json` output.

        Raises:
            ValueError, TypeError, IndexError: the item has another shape.
        """
        stamp, listed_at, subfolders, names, sizes, mtimes = item
        if not isinstance(subfolders, str) or not isinstance(names, str):
            raise TypeError("names are not joined text")
        record = cls(
            (int(stamp[0]), int(stamp[1]), int(stamp[2]), int(stamp[3])),
            int(listed_at),
            subfolders,
            names,
            _int64_array(sizes),
            _int64_array(mtimes),
        )
        # Counted, not split: splitting every directory's names here made 136,000
        # short-lived strings at 100k models.
        count = names.count("\0") + 1 if names else 0
        if not (count == len(record.sizes) == len(record.mtimes_ns)):
            raise ValueError("names, sizes and mtimes differ in length")
        return record


def _int64_array(text: Any) -> array[int]:
    values = array("q")
    values.frombytes(base64.b64decode(str(text), validate=True))  # ValueError if damaged
    return values


def list_directory(path: str, stamp: Stamp, now_ns: int) -> DirectoryListing:
    """List one directory: its subfolders and its files with their sizes and mtimes.

    Takes the directory, its stamp (from the ``stat`` the caller made) and the current
    time in nanoseconds. An entry that cannot be inspected is logged and left out.

    Raises:
        OSError: the directory cannot be listed.
    """
    subfolders: list[str] = []
    names: list[str] = []
    sizes = array("q")
    mtimes = array("q")
    with os.scandir(path) as entries:
        for entry in entries:
            try:
                if entry.is_dir():
                    subfolders.append(entry.name)
                    continue
                if not entry.is_file():
                    continue  # broken link, socket, device
                stat = entry.stat()
            except OSError as error:
                logger.debug("Skipping %s: %s", entry.path, error)
                continue
            names.append(entry.name)
            sizes.append(stat.st_size)
            mtimes.append(stat.st_mtime_ns)
    subfolders.sort()
    order = sorted(range(len(names)), key=names.__getitem__)
    return DirectoryListing.of(
        stamp,
        now_ns,
        subfolders,
        [names[i] for i in order],
        array("q", (sizes[i] for i in order)),
        array("q", (mtimes[i] for i in order)),
    )


FileIdentity = tuple[int, int]
"""A file's (mtime_ns, size): equal identities mean it was not replaced or edited."""


@dataclass(frozen=True)
class ListingFile:
    """The version of a listing cache file a listing was read from or last written to: the
    file, its identity then, and the re-stat time and facts it held (the records it held
    are the listing's own ``previous`` ones)."""

    path: str
    identity: FileIdentity
    restat_at_ns: int
    meta: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, path: Path, identity: FileIdentity, listing: TreeListing) -> ListingFile:
        """Return the version of ``path`` (now of ``identity``) that holds ``listing``."""
        return cls(str(path), identity, listing.restat_at_ns, tuple(sorted(listing.meta.items())))

    def holds(self, path: Path, listing: TreeListing) -> bool:
        """True when ``path`` is still this version of the file and it holds what
        ``listing`` would write: nothing listed or changed this cycle, the same re-stat
        time and facts."""
        return (
            self.path == str(path)
            and listing.listed == 0
            and not listing.changed
            and listing.restat_at_ns == self.restat_at_ns
            and tuple(sorted(listing.meta.items())) == self.meta
            and _file_identity(path) == self.identity
        )


@dataclass
class TreeListing:
    """The listings of every directory walked, reused while their stamps hold.

    Build one per cycle with :meth:`for_cycle`, walk with :meth:`walk`, close with
    :meth:`finish`, then save it (:func:`save_listing`) or pass it to the next cycle's
    :meth:`for_cycle`, which reuses ``seen`` (the directories seen this cycle).
    ``changed`` turns True when a directory appeared, vanished or listed other entries
    than before; ``listed`` counts the directories listed (not reused) this cycle.
    """

    previous: dict[str, DirectoryListing] = field(default_factory=dict)
    now_ns: int = 0
    restat: bool = False
    restat_at_ns: int = 0
    seen: dict[str, DirectoryListing] = field(default_factory=dict)
    changed: bool = False
    listed: int = 0
    changed_paths: list[str] = field(default_factory=list)
    # Small facts the caller keeps with the listing (e.g. a digest of the model roots).
    meta: dict[str, str] = field(default_factory=dict)
    # Set by SIGINT/SIGTERM: the walk ends at the next folder (a huge tree's walk would
    # otherwise outlast the 2 s a stop may take).
    stop_event: threading.Event | None = None
    # The cache file version ``previous`` came from (None: not from a file, or unknown).
    source: ListingFile | None = None

    @classmethod
    def for_cycle(
        cls,
        previous: TreeListing | None,
        now_ns: int,
        restat_interval_ns: int,
        stop_event: threading.Event | None = None,
    ) -> TreeListing:
        """Return the listing for a new cycle at ``now_ns`` (nanoseconds since the epoch),
        whose walks end with ``CycleInterrupted`` at the next folder once ``stop_event``
        is set.

        A full re-stat is due when there is no previous listing, the interval passed since
        the last one, ``restat_interval_ns`` is 0 (never reuse), or the clock went back.
        """
        records = previous.seen if previous is not None else {}
        last = previous.restat_at_ns if previous is not None else 0
        due = (
            previous is None
            or restat_interval_ns <= 0
            or now_ns - last >= restat_interval_ns
            or now_ns < last
        )
        return cls(
            previous=records,
            now_ns=now_ns,
            restat=due,
            restat_at_ns=now_ns if due else last,
            meta=dict(previous.meta) if previous is not None else {},
            stop_event=stop_event,
            source=previous.source if previous is not None else None,
        )

    def directory(self, path: str, stat: os.stat_result) -> DirectoryListing:
        """Return the listing of ``path`` whose ``stat`` the caller just made: the previous
        one when its stamp is unchanged and it was not racy (and no re-stat is due), else a
        fresh one.

        Raises:
            OSError: the directory must be listed and cannot be.
        """
        known = self.seen.get(path)
        if known is not None:
            return known  # the same directory reached twice in one cycle
        stamp = _stamp_of(stat)
        before = self.previous.get(path)
        reusable = before is not None and not self.restat and before.stamp == stamp
        if reusable and before is not None and not before.is_racy():
            self.seen[path] = before
            return before
        record = list_directory(path, stamp, self.now_ns)
        self.listed += 1
        if before is None or not before.same_entries(record):
            self.changed = True
            self.changed_paths.append(path)
        self.seen[path] = record
        return record

    def walk(
        self, root: str, skip_folder: Callable[[str], bool] = lambda name: False
    ) -> Iterator[tuple[str, str, DirectoryListing]]:
        """Yield ``(directory, relative prefix, listing)`` for ``root`` and every folder
        below it, depth first in name order, following links but never a folder already on
        the current path (a link loop ends). ``skip_folder(name)`` keeps a subfolder out.

        The prefix is the directory's path relative to ``root`` with a trailing ``/``
        (empty for the root). A folder that cannot be read is logged and left out.

        Raises:
            CycleInterrupted: the stop event was set (checked before each folder).
        """
        try:
            root_stat = os.stat(root)
        except OSError as error:
            logger.debug("Skipping folder %s: %s", root, error)
            return
        yield from self._visit(root, "", root_stat, set(), 0, skip_folder)

    def _visit(
        self,
        path: str,
        prefix: str,
        stat: os.stat_result,
        on_path: set[tuple[int, int]],
        depth: int,
        skip_folder: Callable[[str], bool],
    ) -> Iterator[tuple[str, str, DirectoryListing]]:
        if self.stop_event is not None and self.stop_event.is_set():
            raise CycleInterrupted(f"stop requested while listing {path}")
        try:
            record = self.directory(path, stat)
        except OSError as error:
            logger.warning("Cannot read folder %s (skipped): %s", path, error)
            return
        yield path, prefix, record
        identity = (stat.st_dev, stat.st_ino)
        on_path.add(identity)
        try:
            if record.subfolders and depth >= MAX_DEPTH:
                logger.warning("Not descending below %s: deeper than %d folders", path, depth)
                return
            for name in record.subfolders:
                if skip_folder(name):
                    continue
                child = os.path.join(path, name)
                try:
                    # os.stat, not DirEntry.stat: the latter has no inode on Windows.
                    child_stat = os.stat(child)
                except OSError as error:
                    # Vanished since the listing, or a link that loops or leads nowhere.
                    logger.debug("Skipping %s: %s", child, error)
                    if record is self.previous.get(path):
                        # A reused list named it: a linked folder's target went away while
                        # the link stayed. List this directory again next cycle.
                        record.listed_at_ns = record.stamp[2]
                        self.changed = True
                    continue
                if (child_stat.st_dev, child_stat.st_ino) in on_path:
                    logger.debug("Not following %s: it loops back to a folder above it", child)
                    continue
                yield from self._visit(
                    child, prefix + name + "/", child_stat, on_path, depth + 1, skip_folder
                )
        finally:
            on_path.discard(identity)

    def finish(self) -> TreeListing:
        """Close the cycle's walk: a directory known before and not seen now vanished,
        which is a change. Returns self, to keep for the next cycle."""
        if not self.changed and any(path not in self.seen for path in self.previous):
            self.changed = True
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            # Sizes and mtimes are native 64-bit integers: another byte order reads nothing.
            "byteorder": sys.byteorder,
            "restat_at_ns": self.restat_at_ns,
            "meta": self.meta,
            "directories": {path: record.to_json() for path, record in self.seen.items()},
        }


def _file_identity(path: Path) -> FileIdentity | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def file_identity(path: Path) -> str:
    """Return a short text naming the file's current version (mtime and size), empty when
    it is absent: equal texts mean the file was not replaced or edited in between."""
    identity = _file_identity(path)
    return "" if identity is None else f"{identity[0]}:{identity[1]}"


def load_listing(path: Path) -> TreeListing | None:
    """Return the listing saved at ``path``, which remembers the version of the file it
    came from. None when absent, of another schema, or unreadable (then set aside, so the
    next cycle lists everything)."""
    identity = _file_identity(path)
    if identity is None:
        return None
    try:
        document = loads_json(path.read_bytes())
        if not isinstance(document, dict):
            raise TypeError("not a JSON object")
        if document.get("schema_version") != SCHEMA_VERSION:
            logger.info("The listing cache %s is of another version; listing everything.", path)
            return None
        if document.get("byteorder") != sys.byteorder:
            logger.info("The listing cache %s is of another machine; listing everything.", path)
            return None
        seen = {
            str(directory): DirectoryListing.from_json(item)
            for directory, item in document["directories"].items()
        }
        meta = {str(key): str(value) for key, value in document.get("meta", {}).items()}
        listing = TreeListing(seen=seen, restat_at_ns=int(document["restat_at_ns"]), meta=meta)
    except OSError as error:
        logger.warning("Cannot read the listing cache %s (%s); listing everything.", path, error)
        return None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        set_aside_corrupt(path, f"not a listing cache: {error}")
        return None
    listing.source = ListingFile.of(path, identity, listing)
    return listing


def save_listing(path: Path, listing: TreeListing) -> None:
    """Write ``listing`` to ``path`` unless the file already holds it: the version it was
    loaded from (or last saved to) is still there and this cycle listed and changed
    nothing (a cycle that listed nothing rewrites nothing). Afterwards ``listing``
    remembers the version of the file that holds it.

    Raises:
        OSError: the file cannot be written.
    """
    if listing.source is not None and listing.source.holds(path, listing):
        return
    atomic_write_bytes(path, _dumps_compact(listing.to_json()))
    identity = _file_identity(path)
    listing.source = None if identity is None else ListingFile.of(path, identity, listing)


def _dumps_compact(document: Any) -> bytes:
    # No indentation: the document is large and read by this module only.
    try:
        return orjson.dumps(document)
    except orjson.JSONEncodeError:
        # A file name that is not UTF-8 (lone surrogates): escaped, as loads_json reads.
        return json.dumps(document, separators=(",", ":")).encode("ascii")
