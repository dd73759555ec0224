"""Which files a workflow names in ComfyUI's input folder are not there.

ComfyUI checks each such value before it runs anything (``VALIDATE_INPUTS`` calls
``folder_paths.exists_annotated_filepath``): a ``LoadImage`` whose image is absent makes
the whole prompt fail with "Invalid image file". The check here asks the same question of
the same folder, ``os.path.exists`` of the name joined to it, so case and symbolic links
count as they do for ComfyUI, and reads no file.

What is not checked, and why:

* a value annotated ``[output]`` or ``[temp]``: those folders change with every render
  (and ``temp`` is emptied at each start), so an answer would be stale by the next one;
* a value that is an absolute path or climbs out with ``..``: it names a file outside the
  input folder, which this tool does not look at; the need says so and is ``outside``.

The needs cache (:mod:`watchman.stages.needs_cache`) keeps a workflow's needs while their
inputs are unchanged; :attr:`InputFolder.digest` (the stamps of the input folder and its
subfolders: adding, removing or renaming a file changes its folder's) is one of them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from watchman.comfy.input_files import MAX_INPUT_NAME_CHARS, InputFileReference
from watchman.environment import expand_user

logger = logging.getLogger(__name__)

MAX_INPUT_FOLDERS = 10_000
"""Subfolders of the input folder stamped at most (past it, needs naming input files are
assessed again every cycle)."""
MAX_INPUT_DEPTH = 16
"""Levels of subfolders below the input folder that are stamped (deeper: as above)."""
RACY_WINDOW_NS = 2_000_000_000
"""A folder changed this recently may change again within its timestamp's granularity
unseen (git's racy rule): a digest taken then matches no later one."""

InputState = Literal["missing", "outside"]

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class InputFileNeed:
    """A file a workflow names in ComfyUI's input folder that ComfyUI will not find.

    ``missing``: no such file (or folder) in the input folder. ``outside``: the value is
    an absolute path or climbs out of the folder; it is not looked at, a person decides.
    """

    reference: InputFileReference
    state: InputState


@dataclass
class InputFolder:
    """ComfyUI's input folder as one cycle sees it: where it is, the digest of its
    folders' stamps, and the answers given so far (one ``stat`` per distinct name)."""

    path: Path
    digest: str
    # Links to files in the folder: their targets can vanish while every folder stamp
    # holds, so the fingerprint stamps them one by one (following them).
    linked_files: tuple[str, ...] = ()
    _answers: dict[str, bool] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether ComfyUI would find ``name`` (relative, already checked to stay inside)
        in the folder. Never raises: a name the system refuses (a NUL byte, too long)
        names nothing."""
        known = self._answers.get(name)
        if known is None:
            known = self._answers[name] = _exists(os.path.join(self.path, name))
        return known


def _exists(path: str) -> bool:
    """``os.path.exists``, ComfyUI's own question; a path the system refuses (a NUL byte,
    a lone surrogate, too long) names nothing."""
    try:
        return os.path.exists(path)
    except (ValueError, OSError):
        return False


def input_folder_path(
    configured: Path | None,
    comfyui_root: Path,
    home_dir: Path,
    logged: str | None = None,
    launched: Path | None = None,
) -> Path:
    """The input folder ComfyUI reads: ``configured`` (``comfyui.input_folder``; ``~``
    expanded, a relative path taken from the root), else the one ComfyUI's last start
    printed (``logged``: ``--input-directory``, as the desktop app starts it; only when
    that folder exists here: a log written inside a container names its own paths), else
    the one its launcher starts it with (``launched``: ComfyUI Desktop 2.0's shared input
    folder), else ``input`` in the root."""
    if configured is not None:
        return comfyui_root / expand_user(configured, home_dir)
    if logged is not None and os.path.isdir(logged):
        return Path(logged)
    if launched is not None:
        return launched
    return comfyui_root / "input"


def observe_input_folder(path: Path, now_ns: int) -> InputFolder:
    """Return the input folder with the digest of its and its subfolders' stamps (device,
    inode, mtime, ctime; an absent folder has a digest too) and of its links to files
    (their targets' stamps: a target deleted changes no folder). Linked folders are
    followed, as ComfyUI follows them, each folder entered once (a link loop ends). At
    most ``MAX_INPUT_FOLDERS`` folders, ``MAX_INPUT_DEPTH`` levels deep; a folder changed
    within ``RACY_WINDOW_NS`` of ``now_ns`` (wall clock), or a walk those bounds cut
    short, makes the digest one of its own, so needs assessed now are not kept on its
    word. Never raises: a folder that cannot be read is stamped as unreadable."""
    digest = hashlib.sha256()
    pending: list[tuple[str, int]] = [("", 0)]
    entered: set[tuple[int, int]] = set()
    links: list[str] = []
    stamped = 0
    cut_short = False
    while pending:
        if stamped >= MAX_INPUT_FOLDERS:
            cut_short = True
            break
        relative, depth = pending.pop()
        folder = os.path.join(path, relative) if relative else str(path)
        stamped += 1
        try:
            info = os.stat(folder)
        except OSError as error:
            digest.update(f"{relative}\0{error.errno}\n".encode("utf-8", "surrogatepass"))
            continue
        stamp = (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
        digest.update(f"{relative}\0{stamp}\n".encode("utf-8", "surrogatepass"))
        if info.st_mtime_ns >= now_ns - RACY_WINDOW_NS:
            digest.update(f"racy at {now_ns}\n".encode())
        if (info.st_dev, info.st_ino) in entered:
            continue
        entered.add((info.st_dev, info.st_ino))
        try:
            with os.scandir(folder) as entries:
                listed = [(entry.name, _is_folder(entry), entry.is_symlink()) for entry in entries]
        except OSError as error:
            logger.info("The input folder %s cannot be listed (%s).", folder, error.strerror)
            continue
        names = sorted(name for name, is_folder, _ in listed if is_folder)
        if names and depth >= MAX_INPUT_DEPTH:
            cut_short = True
            continue
        for name in sorted(
            name for name, is_folder, is_link in listed if is_link and not is_folder
        ):
            link = os.path.join(folder, name)
            links.append(link)
            digest.update(
                f"{relative}/{name}\0{_target_stamp(link)}\n".encode("utf-8", "surrogatepass")
            )
        pending.extend((os.path.join(relative, name), depth + 1) for name in reversed(names))
    if cut_short:
        logger.info(
            "The input folder %s has more than %d subfolders or is deeper than %d levels; "
            "needs naming files in it are assessed again every cycle.",
            path,
            MAX_INPUT_FOLDERS,
            MAX_INPUT_DEPTH,
        )
        digest.update(f"cut short at {now_ns}\n".encode())
    return InputFolder(path, digest.hexdigest(), tuple(links))


def _target_stamp(link: str) -> tuple[int, ...] | int:
    try:
        info = os.stat(link)
    except OSError as error:
        return error.errno or -1
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # a link to a folder counts, as it does for ComfyUI
    except OSError:
        return False


def stays_inside(name: str) -> bool:
    """Whether ``name`` is a relative path that does not climb out of its folder (no
    absolute path, drive letter or ``..`` part, with either separator)."""
    if not name or name.startswith(("/", "\\")) or _DRIVE.match(name):
        return False
    return ".." not in re.split(r"[/\\]", name)


def find_input_needs(
    references: Iterable[InputFileReference], folder: InputFolder
) -> tuple[InputFileNeed, ...]:
    """Return the input files of active nodes that ComfyUI would not find in ``folder``.

    Takes the workflow's input-file references (those of bypassed or muted nodes and
    those annotated ``[output]`` or ``[temp]`` are not checked) and the input folder.
    """
    needs = []
    for reference in references:
        if reference.bypassed or reference.muted or reference.folder != "input":
            continue
        if not stays_inside(reference.value):
            needs.append(InputFileNeed(reference, "outside"))
        elif len(reference.value) >= MAX_INPUT_NAME_CHARS or not folder.has(reference.value):
            needs.append(InputFileNeed(reference, "missing"))
    return tuple(needs)


def files_beside(
    needs: Iterable[tuple[str, Iterable[InputFileNeed]]],
) -> Mapping[tuple[str, str], str]:
    """Return, for each (workflow path, missing input name), the file of that name in the
    workflow's own folder: the picture a shared workflow's author put beside it (a pack's
    example folder, an unzipped bundle). Takes each workflow's path with its input needs;
    the name as written (with its subfolders) is tried, then its last part. One ``stat``
    per distinct path; never raises."""
    found: dict[tuple[str, str], str] = {}
    answers: dict[str, bool] = {}
    for workflow, workflow_needs in needs:
        folder = os.path.dirname(workflow)
        for need in workflow_needs:
            value = need.reference.value
            if need.state != "missing" or not stays_inside(value):
                continue
            last = re.split(r"[/\\]", value)[-1]
            for candidate in dict.fromkeys((value, last)):
                path = os.path.join(folder, candidate)
                there = answers.get(path)
                if there is None:
                    there = answers[path] = _exists(path)
                if there:
                    found[(workflow, value)] = path
                    break
    return found
