"""The listing kept between cycles: one JSON document in the state folder.

:func:`save_listing` writes a :class:`~watchman.stages.inventory.listing.TreeListing` and
:func:`load_listing` reads it back; a listing read from that file or written to it
remembers which version of the file it matches (:class:`ListingFile`), so a cycle that
changed nothing writes nothing. A file that does not read back is set aside and the next
cycle lists everything.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from watchman.stages.inventory.directory_listing import DirectoryListing
from watchman.stages.inventory.listing import TreeListing
from watchman.state.json_codec import loads_json
from watchman.state.json_state import set_aside_corrupt
from watchman.state.safe_files import atomic_write_bytes

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2

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


def _document(listing: TreeListing) -> dict[str, Any]:
    """The JSON document that holds ``listing`` (what :func:`load_listing` reads)."""
    return {
        "schema_version": SCHEMA_VERSION,
        # Sizes and mtimes are native 64-bit integers: another byte order reads nothing.
        "byteorder": sys.byteorder,
        "restat_at_ns": listing.restat_at_ns,
        "meta": listing.meta,
        "directories": {path: record.to_json() for path, record in listing.seen.items()},
    }


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
    atomic_write_bytes(path, _dumps_compact(_document(listing)))
    identity = _file_identity(path)
    listing.source = None if identity is None else ListingFile.of(path, identity, listing)


def _dumps_compact(document: Any) -> bytes:
    # No indentation: the document is large and read by this module only.
    try:
        return orjson.dumps(document)
    except orjson.JSONEncodeError:
        # A file name that is not UTF-8 (lone surrogates): escaped, as loads_json reads.
        return json.dumps(document, separators=(",", ":")).encode("ascii")
