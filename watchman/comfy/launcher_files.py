"""What a launcher's own files say about the ComfyUI installs it keeps.

Launchers such as ComfyUI Desktop 2.0 (:mod:`watchman.comfy.comfy_launcher`) and
Stability Matrix (:mod:`watchman.comfy.stability_matrix`) keep a list of the installs they
made in a JSON file of theirs. Those files are read here as a stranger's: a bounded size,
regular files only, and whatever is wrong with one (absent parts aside) becomes one
sentence in :attr:`LauncherScan.problems`, never an exception: a launcher's broken file
must not stop detection of any other install.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from watchman.errors import LauncherFileError
from watchman.printable import visible
from watchman.regular_files import read_regular

MAX_LAUNCHER_FILE_BYTES = 2 * 1024 * 1024
"""The largest launcher file read: real lists and settings are a few KiB."""

MAX_LISTED_INSTALLS = 500
"""The most entries of one launcher's list that are looked at; real lists hold a few."""

_MAX_NAME_CHARACTERS = 80


@dataclass(frozen=True)
class LauncherInstall:
    """One ComfyUI install a launcher lists.

    ``root``: the folder holding ComfyUI's ``main.py`` (absolute; not checked to be one);
    ``origin``: why it is a candidate, as one phrase naming the launcher, the entry and
    its file; ``extra_model_paths``: the extra model paths files the launcher starts it
    with (``--extra-model-paths-config``), besides the one next to ``main.py``;
    ``base_directory`` and ``input_directory``: the folders it is started with
    ``--base-directory`` and ``--input-directory`` (None: none, or not known);
    ``is_listed_as_comfyui``: the launcher's entry says it is ComfyUI (False: a folder
    only looked in, which is not worth a word when it holds something else).
    """

    root: Path
    origin: str
    extra_model_paths: tuple[Path, ...] = ()
    base_directory: Path | None = None
    input_directory: Path | None = None
    is_listed_as_comfyui: bool = True


@dataclass(frozen=True)
class LauncherScan:
    """The installs launchers list, in the order detection tries them, and one sentence
    for each launcher file that could not be read or made no sense."""

    installs: tuple[LauncherInstall, ...] = ()
    problems: tuple[str, ...] = ()

    def __add__(self, other: LauncherScan) -> LauncherScan:
        """Return the installs and problems of ``self``, then those of ``other``."""
        return LauncherScan(self.installs + other.installs, self.problems + other.problems)


def read_json_file(path: Path, what: str) -> object | None:
    """Return the JSON document in the launcher file ``path``, or None when it does not
    exist (or is empty, as a launcher leaves a file it is about to write).

    ``what`` names the file in messages ("ComfyUI Desktop 2.0's installation list").

    Raises:
        LauncherFileError: the file is too large, not a regular file, unreadable, not
            UTF-8 or not JSON.
    """
    try:
        data = read_regular(path, MAX_LAUNCHER_FILE_BYTES)
    except FileNotFoundError:
        return None
    except OSError as error:
        reason = error.strerror or error.__class__.__name__
        raise LauncherFileError(f"{what} {path} cannot be read ({reason}).") from error
    if not data.strip():
        return None
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise LauncherFileError(f"{what} {path} is not JSON; its entries are not read.") from error


def string_field(entry: Mapping[str, object], key: str) -> str | None:
    """Return ``entry[key]`` when it is a non-blank string, else None."""
    value = entry.get(key)
    return value if isinstance(value, str) and value.strip() else None


def shown_name(name: str | None) -> str:
    """Return a launcher entry's name as it may be shown on one line: quoted, control
    characters escaped, at most a few dozen characters; ``unnamed`` for none."""
    if name is None:
        return "unnamed"
    if len(name) > _MAX_NAME_CHARACTERS:
        name = name[:_MAX_NAME_CHARACTERS] + "…"
    return repr(visible(name))


def absolute_folder(text: str, home_dir: Path) -> Path | None:
    """Return the folder a launcher file names, absolute, or None when the text is not
    an absolute path (a relative one would depend on the folder the launcher ran in) or
    cannot name a file (a NUL character, a lone surrogate: the system would refuse it).
    A leading ``~`` is ``home_dir``."""
    if text == "~" or text.startswith(("~/", "~\\")):
        text = str(home_dir) + text[1:]
    if not can_name_a_file(text) or not os.path.isabs(text):
        return None
    return Path(os.path.normpath(text))


def can_name_a_file(text: str) -> bool:
    """Return whether the system could take ``text`` as a path: no NUL character, and
    encodable as file names are (no lone surrogate)."""
    if "\0" in text:
        return False
    try:
        os.fsencode(text)
    except UnicodeError:
        return False
    return True


def same_folder(first: Path, second: Path) -> bool:
    """Return whether two folders are the same: equal written absolutely, or equal once
    symbolic links are followed. Never raises."""
    if Path(os.path.abspath(first)) == Path(os.path.abspath(second)):
        return True
    try:
        return Path(os.path.realpath(first)) == Path(os.path.realpath(second))
    except (OSError, ValueError, RuntimeError):
        return False
