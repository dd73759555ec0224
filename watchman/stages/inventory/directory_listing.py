"""One directory's listing: its subfolders, and its files with their sizes and mtimes.

A :class:`DirectoryListing` is made by :func:`list_directory` (one ``scandir``) and kept
compact, since 16,000 of them stay resident at 100k models: a directory's file names in
one string, sizes and mtimes in ``array('q')``, and the same few values in its JSON form.
It knows whether it can be trusted (:meth:`DirectoryListing.is_racy`: listed in the same
timestamp tick as the directory's last change). The walk that reuses these listings is
:mod:`watchman.stages.inventory.listing`.
"""

from __future__ import annotations

import base64
import logging
import os
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from watchman.clocks import RACY_NANOSECONDS

logger = logging.getLogger(__name__)

Stamp = tuple[int, int, int, int]
"""A directory's (device, inode, mtime_ns, ctime_ns)."""


def seconds(nanoseconds: int) -> float:
    """Return a nanosecond timestamp as the float ``os.stat`` gives as ``st_mtime``."""
    whole, fraction = divmod(nanoseconds, 1_000_000_000)
    return whole + fraction * 1e-9


def stamp_of(stat: os.stat_result) -> Stamp:
    """Return the stamp of a directory from its ``os.stat`` result."""
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
