"""A tree walked as a cycle walks it, for the listing tests."""

from __future__ import annotations

import os
from pathlib import Path

from watchman.stages.inventory.listing import TreeListing

DAY_NS = 86_400 * 1_000_000_000
LATER = 60 * 1_000_000_000


def write_file(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def newest_mtime(root: Path) -> int:
    return max(os.stat(folder).st_mtime_ns for folder, _, _ in os.walk(root))


def walk_cycle(root: Path, previous: TreeListing | None, now_ns: int) -> TreeListing:
    """One cycle's walk at ``now_ns``, long enough after every change to be trusted."""
    tree = TreeListing.for_cycle(previous, now_ns, DAY_NS)
    for _ in tree.walk(str(root)):
        pass
    return tree.finish()


def files_seen(tree: TreeListing, root: Path) -> dict[str, int]:
    found = {}
    for _, prefix, record in tree.walk(str(root)):
        for name, size in zip(record.names, record.sizes, strict=True):
            found[prefix + name] = size
    return found
