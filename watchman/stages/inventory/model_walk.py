"""One model root walked through the cycle's directory listings: its wanted files as
parallel sequences, its model folders and its subfolders (for
:func:`watchman.stages.inventory.model_scan.scan_models`).

A root of 100,000 files is walked once per cycle from listings that are mostly reused
(:mod:`watchman.stages.inventory.listing`); the files are kept as parallel sequences, not
100,000 tuples. (Taking each directory's names a list at a time, in comprehensions, was
tried: no faster than this loop on Python 3.11.)
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass, field

from watchman.comfy.folders import file_extension
from watchman.comfy.model_key import fold_case
from watchman.stages.inventory.directory_listing import seconds
from watchman.stages.inventory.listing import TreeListing

EXCLUDED_FOLDER_NAMES = frozenset({".git"})
"""Folders ComfyUI's ``recursive_search`` never enters."""


@dataclass
class RootListing:
    """What one walk of one root found: the wanted files in path order (relative paths,
    sizes, mtimes in ns and extensions, as parallel sequences), the model folders by how
    they are found (the marker file they hold, ``""`` for every first-level sub-folder;
    see ``FolderType.entry_folders``) as relative path -> (total size, mtime), and the
    subfolders (lower-cased relative paths)."""

    paths: list[str] = field(default_factory=list)
    sizes: array[int] = field(default_factory=lambda: array("q"))
    mtimes_ns: array[int] = field(default_factory=lambda: array("q"))
    extensions: list[str] = field(default_factory=list)
    model_folders: dict[str, dict[str, tuple[int, float]]] = field(default_factory=dict)
    subfolders: set[str] = field(default_factory=set)

    def in_path_order(self) -> RootListing:
        """The same listing with its files sorted by relative path."""
        order = sorted(range(len(self.paths)), key=self.paths.__getitem__)
        return RootListing(
            list(map(self.paths.__getitem__, order)),
            array("q", map(self.sizes.__getitem__, order)),
            array("q", map(self.mtimes_ns.__getitem__, order)),
            list(map(self.extensions.__getitem__, order)),
            self.model_folders,
            self.subfolders,
        )

    def positions(self, extensions: frozenset[str]) -> range | list[int]:
        """The positions of the files whose extension is one of ``extensions`` (empty:
        every file), ascending."""
        if not extensions:
            return range(len(self.paths))
        return [at for at, extension in enumerate(self.extensions) if extension in extensions]


def walk_root(
    root: str, extensions: frozenset[str] | None, folder_ways: frozenset[str], tree: TreeListing
) -> RootListing:
    """Walk ``root`` recursively through ``tree`` (which reuses unchanged directories'
    listings, follows links and ends link loops), and return what it holds.

    Keeps the files whose extension (``file_extension``) is in ``extensions`` (None: every
    file), sorted by relative path. For each way of ``folder_ways`` (a marker file name, or ``""``
    for every first-level sub-folder) it also finds the model folders and totals the sizes
    of the files below each (one pass over the directories' own totals: no file is looked
    at twice).

    Raises:
        CycleInterrupted: the walk's stop event was set.
    """
    listing = RootListing()
    paths, sizes, mtimes, kept_extensions = (
        listing.paths,
        listing.sizes,
        listing.mtimes_ns,
        listing.extensions,
    )
    direct_sizes: dict[str, int] = {}
    found: dict[str, dict[str, float]] = {way: {} for way in folder_ways}
    markers = [way for way in folder_ways if way]
    intern = sys.intern
    for _, prefix, record in tree.walk(root, EXCLUDED_FOLDER_NAMES.__contains__):
        if prefix:
            listing.subfolders.add(fold_case(prefix[:-1]))
        names = record.names
        for name, size, mtime_ns in zip(names, record.sizes, record.mtimes_ns, strict=True):
            extension = file_extension(name)
            if extensions is None or extension in extensions:
                paths.append(prefix + name)
                sizes.append(size)
                mtimes.append(mtime_ns)
                kept_extensions.append(intern(extension))
        if not folder_ways:
            continue
        direct_sizes[prefix] = sum(record.sizes)
        if not prefix:
            continue
        if "" in found and prefix.count("/") == 1:
            found[""][prefix] = seconds(record.stamp[2])
        if markers:
            for marker in markers:
                if marker in names:
                    found[marker][prefix] = seconds(record.stamp[2])
    wanted = {prefix for folders in found.values() for prefix in folders}
    if wanted:
        totals = dict.fromkeys(wanted, 0)
        for prefix, size in direct_sizes.items():
            # Add each folder's own files to every wanted folder above it (or itself).
            parts = prefix.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                above = "/".join(parts[:depth]) + "/"
                if above in totals:
                    totals[above] += size
        for way, folders in found.items():
            listing.model_folders[way] = {
                prefix[:-1]: (totals[prefix], mtime) for prefix, mtime in folders.items()
            }
    return listing.in_path_order()
