"""Which entries of a ``custom_nodes`` folder are node packs, and which files of a pack the
static readers read: one rule for the node scan, which reads them, and the cycle
fingerprint, which stamps them so that a change to any file read makes the next cycle run
in full (issue 14: every cycle kind gives a cold cycle's report).

A ``custom_nodes`` folder holds pack folders and single-file packs
(:func:`is_single_file_pack`). A pack folder is walked depth first in name order, each
folder's files in name order, leaving out tests, environments, caches, hidden folders
(:func:`reads_folder`) and linked folders (a link inside a pack is not entered; a link
that is the pack itself is). Its
Python files (at most :data:`MAX_PYTHON_FILES`) and its scripts (``SCRIPT_SUFFIXES``, at
most ``MAX_SCRIPTS``, :mod:`watchman.comfy.frontend_nodes`) are kept in that order
(:func:`select_pack_files`), so a pack over a bound is read, and stamped, up to the same
file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from watchman.comfy.frontend_nodes import MAX_SCRIPTS, SCRIPT_SUFFIXES

MAX_PYTHON_FILES = 2000
"""Python files read per pack at most: a pack vendoring a whole library cannot stall the
cycle."""
SKIPPED_FOLDERS = frozenset(
    {"__pycache__", "tests", "test", "venv", ".venv", "env", "node_modules", "site-packages"}
)
"""Folders inside a pack that hold no node definitions ComfyUI loads: tests, environments,
caches, bundled JavaScript libraries."""
SKIPPED_FILES = frozenset({"example_node.py.example"})
"""Entries of ``custom_nodes`` that are not packs although they look like one."""
DISABLED_FOLDER = ".disabled"
"""The folder of ``custom_nodes`` ComfyUI-Manager moves disabled packs into."""
DISABLED_SUFFIX = ".disabled"
"""The ending ComfyUI-Manager gives a disabled pack's folder or file."""


def reads_folder(name: str) -> bool:
    """Whether a folder named ``name`` inside a pack is walked for the files it holds."""
    return name not in SKIPPED_FOLDERS and not name.startswith(".")


def is_pack_entry(name: str) -> bool:
    """Whether an entry named ``name`` of ``custom_nodes`` (or of its ``.disabled``
    folder) may be a pack: hidden entries (``.git``, ``.disabled`` itself, editor folders)
    and caches are not. Whether it is a folder or a ``.py`` file is the caller's to ask."""
    return name not in SKIPPED_FILES and name != "__pycache__" and not name.startswith(".")


def is_single_file_pack(name: str) -> bool:
    """Whether a file named ``name`` in ``custom_nodes`` (or its ``.disabled`` folder) is
    a single-file pack the node scan reads: ``foo.py``, or ``foo.py.disabled`` when
    disabled."""
    return is_pack_entry(name) and name.endswith((".py", ".py" + DISABLED_SUFFIX))


@dataclass(frozen=True)
class PackFiles:
    """The files of one pack folder its readers read, each in walk order.

    ``over_bound`` names the kinds of file (``"Python"``, ``"script"``) the pack holds
    more of than read.
    """

    python: tuple[str, ...]
    scripts: tuple[str, ...]
    over_bound: tuple[str, ...] = ()


def select_pack_files(folders: Iterable[tuple[str, Iterable[str]]]) -> PackFiles:
    """Return the Python files and scripts of a pack that its readers read.

    Takes the pack's folders in walk order (depth first in name order, only those
    :func:`reads_folder` lets in, no linked folder entered), each with the names of its
    files sorted. Hidden files count like any other. Returns their
    paths (folder joined with name) within :data:`MAX_PYTHON_FILES` and ``MAX_SCRIPTS``;
    never raises.
    """
    python: list[str] = []
    scripts: list[str] = []
    over: dict[str, None] = {}
    for folder, names in folders:
        for name in names:
            if name.endswith(".py"):
                kept, bound, kind = python, MAX_PYTHON_FILES, "Python"
            elif name.endswith(SCRIPT_SUFFIXES):
                kept, bound, kind = scripts, MAX_SCRIPTS, "script"
            else:
                continue
            if len(kept) < bound:
                kept.append(os.path.join(folder, name))
            else:
                over[kind] = None
    return PackFiles(tuple(python), tuple(scripts), tuple(over))
