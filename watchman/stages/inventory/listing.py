"""Incremental directory listings: a directory whose own stamp is unchanged keeps its list.

Adding, removing or renaming an entry changes its directory's mtime, so a walk that stats
each directory (one ``stat`` each) and lists again only the directories whose stamp
(device, inode, mtime, ctime) changed sees every such change at a fraction of the cost of
stating every file. Two things it cannot see, handled here as git handles its index:

* a change made in the same timestamp tick as the listing (the "racy" case): a directory
  whose mtime lies within :data:`~watchman.clocks.RACY_NANOSECONDS` of the moment it was
  listed, or after it, is listed again next time, whatever its stamp says;
* a file rewritten in place (its size or mtime change, its directory's do not): a full
  re-stat (``restat=True``, run on a schedule by the caller) lists every directory again.

A :class:`TreeListing` holds the records of every directory walked
(:class:`~watchman.stages.inventory.directory_listing.DirectoryListing`). It is saved
between cycles by :mod:`watchman.stages.inventory.listing_file`.
"""

from __future__ import annotations

import logging
import os
import stat as stat_module
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watchman.comfy.model_key import fold_case
from watchman.errors import CycleInterrupted
from watchman.stages.inventory.directory_listing import (
    DirectoryListing,
    list_directory,
    stamp_of,
)

if TYPE_CHECKING:
    from watchman.stages.inventory.listing_file import ListingFile

logger = logging.getLogger(__name__)

MAX_DEPTH = 200
"""Deeper folders are not entered (warned once per walk): no real tree is that deep."""
MAX_ENTRIES_PER_FOLDER = 16
"""How many times one walk enters one folder (by device and inode) through different
links. ComfyUI lists a folder under every path that reaches it, and so does the walk, up
to this: links that fan out and join again (two links to the next level, 25 levels deep)
reach the last folder 2^25 times, which took hours; real trees reach a folder once or
twice."""


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
        stamp = stamp_of(stat)
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
        self,
        root: str,
        skip_folder: Callable[[str], bool] = lambda name: False,
        follow_links: bool = True,
    ) -> Iterator[tuple[str, str, DirectoryListing]]:
        """Yield ``(directory, relative prefix, listing)`` for ``root`` and every folder
        below it, depth first in name order, following links but never a folder already on
        the current path (a link loop ends). ``skip_folder(name)`` keeps a subfolder out;
        ``follow_links`` False keeps out every linked folder below ``root`` (as ``os.walk``
        does; ``root`` itself is entered even when it is a link).

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
        entered = {(root_stat.st_dev, root_stat.st_ino): 1}
        yield from self._visit(root, "", root_stat, set(), entered, 0, skip_folder, follow_links)

    def _visit(
        self,
        path: str,
        prefix: str,
        stat: os.stat_result,
        on_path: set[tuple[int, int]],
        entered: dict[tuple[int, int], int],
        depth: int,
        skip_folder: Callable[[str], bool],
        follow_links: bool,
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
                    child_stat = os.stat(child) if follow_links else os.lstat(child)
                except OSError as error:
                    # Vanished since the listing, or a link that loops or leads nowhere.
                    logger.debug("Skipping %s: %s", child, error)
                    if record is self.previous.get(path):
                        # A reused list named it: a linked folder's target went away while
                        # the link stayed. List this directory again next cycle.
                        record.listed_at_ns = record.stamp[2]
                        self.changed = True
                    continue
                if not follow_links and stat_module.S_ISLNK(child_stat.st_mode):
                    continue
                child_identity = (child_stat.st_dev, child_stat.st_ino)
                if child_identity in on_path:
                    logger.debug("Not following %s: it loops back to a folder above it", child)
                    continue
                times = entered.get(child_identity, 0)
                if times >= MAX_ENTRIES_PER_FOLDER:
                    if times == MAX_ENTRIES_PER_FOLDER:  # warned once per folder and walk
                        logger.warning(
                            "Not entering %s: links reach its folder more than %d times",
                            child,
                            MAX_ENTRIES_PER_FOLDER,
                        )
                        entered[child_identity] = times + 1
                    continue
                entered[child_identity] = times + 1
                yield from self._visit(
                    child,
                    prefix + name + "/",
                    child_stat,
                    on_path,
                    entered,
                    depth + 1,
                    skip_folder,
                    follow_links,
                )
        finally:
            on_path.discard(identity)

    def finish(self) -> TreeListing:
        """Close the cycle's walk: a directory known before and not seen now vanished,
        which is a change. Returns self, to keep for the next cycle."""
        if not self.changed and any(path not in self.seen for path in self.previous):
            self.changed = True
        return self

    def changed_file_names(self, limit: int = 10_000) -> frozenset[str] | None:
        """The case-folded names of the files added, removed or changed (size, mtime)
        since the previous listing, in the directories walked: every name of a directory
        that appeared or vanished, and the names a listed-again directory holds otherwise.
        A file elsewhere keeps its name out of it. None when there was no previous
        listing or more than ``limit`` names changed (a first walk names every file: a
        set of 100,000 names would outweigh its use). Call after :meth:`finish`."""
        if not self.previous:
            return None
        names: set[str] = set()
        for path, record in self.seen.items():
            before = self.previous.get(path)
            if before is record:
                continue  # reused as it was
            if before is None:
                names.update(record.names)
            elif not before.same_entries(record):
                now = set(zip(record.names, record.sizes, record.mtimes_ns, strict=True))
                then = set(zip(before.names, before.sizes, before.mtimes_ns, strict=True))
                names.update(entry[0] for entry in now ^ then)
            if len(names) > limit:
                return None
        for path, before in self.previous.items():
            if path not in self.seen:
                names.update(before.names)
                if len(names) > limit:
                    return None
        return frozenset(fold_case(name) for name in names)
