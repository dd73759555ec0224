"""Watched folders: the configured folders made absolute, the one file discovery, and
reading one workflow file.

:func:`discover_workflow_files` is how both the cycle and the ``scan`` command find
workflow files in a folder, and :func:`read_workflow_bytes` how both read one (with the same
size limit), so by hand and in the cycle the same files are read the same way.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from watchman.comfy.media_metadata import MEDIA_SUFFIXES, media_payload, read_media_texts
from watchman.comfy.workflow import MAX_WORKFLOW_BYTES
from watchman.environment import expand_user
from watchman.errors import CycleInterrupted, WorkflowError
from watchman.printable import printable
from watchman.regular_files import open_regular

logger = logging.getLogger(__name__)

WORKFLOW_SUFFIXES = (".json",)
IMAGE_SUFFIXES = (".png", ".webp")


def workflow_suffixes(include_images: bool) -> tuple[str, ...]:
    """Return the file-name endings read for workflows: ``.json``, and with
    ``include_images`` the images, videos, audio files and 3D models that can embed one."""
    return WORKFLOW_SUFFIXES + (IMAGE_SUFFIXES + MEDIA_SUFFIXES if include_images else ())


@dataclass(frozen=True)
class FolderProblem:
    """A folder under a watched folder (or the watched folder itself) that could not be
    listed, and the sentence the report gives for it."""

    folder: Path
    sentence: str


@dataclass(frozen=True)
class WatchedFolder:
    """A folder of workflows to watch, absolute, with the source label it records."""

    path: Path
    source: str


def watched_folders(
    configured: Sequence[tuple[Path, str]], comfyui_root: Path, home_dir: Path
) -> tuple[WatchedFolder, ...]:
    """Return the configured ``(path, source)`` folders made absolute: ``~`` is
    ``home_dir``, and a relative path is taken from the ComfyUI root. A folder configured
    twice (``user/default/workflows`` and its absolute path) is watched once, under its
    first source label: listed twice, it would show twice in the report."""
    folders: dict[Path, WatchedFolder] = {}
    for configured_path, source in configured:
        path = expand_user(configured_path, home_dir)
        absolute = path if path.is_absolute() else comfyui_root / path
        if absolute in folders:
            logger.warning(
                "Watched folder %s is configured more than once; it is watched once, as %r.",
                absolute,
                folders[absolute].source,
            )
            continue
        folders[absolute] = WatchedFolder(absolute, source)
    return tuple(folders.values())


def discover_workflow_files(
    folder: Path,
    include_images: bool = True,
    problems: list[FolderProblem] | None = None,
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
    is logged and skipped, and a :class:`FolderProblem` saying so is appended to
    ``problems`` (when given) for the report. ``scandir`` lists one folder
    (``os.scandir``; a fake in tests).

    Raises:
        CycleInterrupted: ``stop_event`` was set (checked before each folder).
    """
    suffixes = workflow_suffixes(include_images)
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
                problems.append(_unreadable(current, error))
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
                problems.append(_unreadable(current, error))
    yield from sorted(found)


def _unreadable(folder: Path, error: OSError) -> FolderProblem:
    return FolderProblem(folder, f"{folder} cannot be read: {error.strerror or error}.")


def read_workflow_bytes(path: Path, size: int) -> bytes:
    """Return the bytes of the workflow file ``path``, whose stat gave ``size``.

    A video or audio file (``MEDIA_SUFFIXES``) is not read whole: the bytes returned are
    its embedded texts (``media_metadata.media_payload``), whatever its size.

    Raises:
        WorkflowError: the file is larger than a workflow can be (then it is not read), or
            grew past the limit while it was read; a media file is not one or is damaged.
        OSError: the file cannot be read.
    """
    name = printable(str(path))
    if path.name.lower().endswith(MEDIA_SUFFIXES):
        with open_regular(path) as handle:
            return media_payload(*read_media_texts(handle, size, name))
    if size > MAX_WORKFLOW_BYTES:
        raise WorkflowError(
            f"{name} is over a limit: {size} bytes, more than the {MAX_WORKFLOW_BYTES} a "
            "workflow file may have (MAX_WORKFLOW_BYTES); it was not read."
        )
    with open_regular(path) as handle:
        # Read no more than the limit even when the file grows after the stat.
        data = handle.read(MAX_WORKFLOW_BYTES + 1)
    if len(data) > MAX_WORKFLOW_BYTES:
        raise WorkflowError(
            f"{name} is over a limit: it grew past the {MAX_WORKFLOW_BYTES} bytes a workflow "
            "file may have while it was read (MAX_WORKFLOW_BYTES)."
        )
    return data
