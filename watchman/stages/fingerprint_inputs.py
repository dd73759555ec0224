"""Which paths stand for a cycle's inputs: the input trees walked (through the cycle's
:class:`~watchman.stages.inventory.listing.TreeListing`) into the folders and files the
cycle fingerprint (:mod:`watchman.stages.fingerprint`) stamps.

Node packs are walked and their files chosen by the node scan's own rule
(:mod:`watchman.comfy.pack_files`), so every file the scan reads is stamped and an edit
in place makes the next cycle run in full (issue 14).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from watchman.comfy.pack_files import (
    DISABLED_FOLDER,
    SKIPPED_FOLDERS,
    is_pack_entry,
    is_single_file_pack,
    reads_folder,
    select_pack_files,
)
from watchman.stages.inventory.directory_listing import DirectoryListing
from watchman.stages.inventory.listing import TreeListing

# File names a pack's node inventory or the known sources read; its Python files and
# scripts are stamped as the node scan selects them (comfy/pack_files), hidden ones too.
PACK_FILE_SUFFIXES = (".py", ".toml", ".json")


@dataclass(frozen=True)
class InputTree:
    """A folder whose files stand for a cycle's inputs.

    ``suffixes``: the endings (case-blind) of the files stamped; ``skip_hidden``: hidden
    folders are not walked; ``skipped``: folder names never walked (virtual environments,
    tests, ``node_modules``: none of a cycle's inputs live there, except in the input
    folder, where any name is ComfyUI's to look up); ``hidden_files``: hidden files are
    stamped too (the node scan reads ``comfy_extras/.x.py``; the workflow walk skips
    hidden files). ``packs``: a ``custom_nodes`` folder, whose single-file packs are
    stamped and whose pack folders are walked as the node scan walks them, their Python
    files and scripts stamped as it selects them (``comfy/pack_files``); ``pack``: a
    folder read as one pack (``comfy_api_nodes``).
    """

    folder: str
    suffixes: tuple[str, ...]
    skip_hidden: bool = True
    packs: bool = False
    skipped: frozenset[str] = SKIPPED_FOLDERS
    pack: bool = False
    hidden_files: bool = False


def input_paths(
    tree: TreeListing, roots: Sequence[InputTree], files: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Walk the input trees through ``tree`` (reusing unchanged folders' listings) and
    return the folders walked and the files whose stamps stand for the inputs.

    Args:
        tree: the listing of the input trees for this cycle.
        roots: the trees to walk.
        files: single files to stamp (absent ones count: their appearance is a change).
    """
    folders: list[str] = []
    stamped: list[str] = list(files)
    for root in roots:
        folders.append(root.folder)  # its absence is stamped too
        if root.packs:
            _pack_paths(tree, root, folders, stamped)
            continue
        if root.pack:
            _one_pack(tree, root.folder, root.suffixes, folders, stamped)
            continue

        def skip(name: str, root: InputTree = root) -> bool:
            if name in root.skipped:
                return True
            skip_hidden = root.skip_hidden
            return skip_hidden and name.startswith(".") and name != DISABLED_FOLDER

        for directory, _, record in tree.walk(root.folder, skip):
            _add_folder(directory, record, root.suffixes, folders, stamped, root.hidden_files)
    # A file may be stamped twice (a pack's .py by suffix and as selected): once will do.
    return list(dict.fromkeys(folders)), list(dict.fromkeys(stamped))


def _pack_paths(tree: TreeListing, root: InputTree, folders: list[str], stamped: list[str]) -> None:
    """Add the paths of a ``custom_nodes`` folder: its single-file packs and those of its
    ``.disabled`` folder (``foo.py``, ``foo.py.disabled``), and each pack folder as
    :func:`_one_pack` stamps it."""
    for directory, _, record in tree.walk(root.folder, lambda name: name != DISABLED_FOLDER):
        _add_folder(directory, record, root.suffixes, folders, stamped)
        stamped += [os.path.join(directory, n) for n in record.names if is_single_file_pack(n)]
        for name in record.subfolders:
            if is_pack_entry(name):
                _one_pack(tree, os.path.join(directory, name), root.suffixes, folders, stamped)


def _one_pack(
    tree: TreeListing,
    pack: str,
    suffixes: Sequence[str],
    folders: list[str],
    stamped: list[str],
) -> None:
    """Add the paths of one pack folder, walked as the node scan walks it (no linked folder
    inside it entered): its folders, its files ending in ``suffixes``, its git HEAD, and
    the Python files and scripts the scan reads, chosen by the same rule (hidden files
    and the bounds per pack included)."""
    walked = list(tree.walk(pack, lambda name: not reads_folder(name), follow_links=False))
    for folder, _, listing in walked:
        _add_folder(folder, listing, suffixes, folders, stamped)
    selected = select_pack_files((path, listing.names) for path, _, listing in walked)
    stamped += [*selected.python, *selected.scripts]


def _add_folder(
    directory: str,
    record: DirectoryListing,
    suffixes: Sequence[str],
    folders: list[str],
    stamped: list[str],
    hidden_files: bool = False,
) -> None:
    """Add one walked folder and the files of it whose names end in ``suffixes`` (hidden
    ones only when ``hidden_files``)."""
    folders.append(directory)
    for name in record.names:
        if name.lower().endswith(tuple(suffixes)) and (hidden_files or not name.startswith(".")):
            stamped.append(os.path.join(directory, name))
    if ".git" in record.subfolders:
        # A pack's git facts: HEAD names the checked-out commit or branch.
        git = os.path.join(directory, ".git")
        folders.append(git)
        stamped.append(os.path.join(git, "HEAD"))
