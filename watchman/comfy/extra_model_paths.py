"""ComfyUI's ``extra_model_paths.yaml``: more directories to search for each folder type.

The format, as ComfyUI's ``utils/extra_config.py`` reads it::

    section_name:              # any name; a section whose value is empty is skipped
        base_path: ~/ai/models # optional; ``~`` and environment variables expanded, a
                               # relative base_path is taken from the YAML file's folder
        is_default: true       # optional; these paths go FIRST in the search order
        checkpoints: checkpoints/
        clip: clip/            # legacy names are mapped (clip -> text_encoders)
        loras: |               # several paths, one per line
            loras
            lycoris

Each path is joined to ``base_path``; without a base_path a relative path is taken from
the YAML file's folder. Keys that are not model folders (``custom_nodes``,
``download_model_base``) are kept as entries too; the model inventory skips them, and the
node inventory reads the ``custom_nodes`` ones (:meth:`InstallExtraPaths.custom_nodes`). A
cycle reads an install's files once (:func:`read_install_extra_paths`) for all three users.

Parsing is static (``yaml.safe_load``). Paths that do not exist are kept: the scanner skips
them, since a missing drive is not a configuration error.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from watchman.comfy.folders import canonical_folder
from watchman.environment import expand_user
from watchman.errors import ConfigError
from watchman.regular_files import read_regular

logger = logging.getLogger(__name__)

EXTRA_MODEL_PATHS_FILE_NAME = "extra_model_paths.yaml"
"""The file ComfyUI reads next to its ``main.py`` when present."""

MAX_FILE_BYTES = 4 * 1024 * 1024
"""The largest extra_model_paths file read: real ones are a few KiB, and a stray huge
file is refused rather than parsed whole."""

MAX_EXTRA_PATHS = 2_000
"""The most paths one set of extra_model_paths files may add (real ones add tens). Past it
the files are refused: YAML aliases let a few KiB name one multi-line value in thousands
of sections, which took minutes and gigabytes to expand (800 KB: 30 million paths)."""

_SPECIAL_KEYS = frozenset({"base_path", "is_default"})
_POSIX_VARIABLE = re.compile(r"\$(\w+)|\$\{([^}]*)\}")
_WINDOWS_VARIABLE = re.compile(r"%([^%]+)%")


@dataclass(frozen=True)
class ExtraPath:
    """One directory an extra_model_paths file adds to one folder type.

    ``folder`` is canonical (legacy names mapped, lower-case); ``path`` is absolute and
    normalised; ``source_file`` is the YAML file and ``section`` its top-level key.
    """

    folder: str
    path: Path
    is_default: bool
    source_file: Path
    section: str


@dataclass(frozen=True)
class ExtraModelPaths:
    """Every extra path of one or more files, in the order ComfyUI reads them."""

    entries: tuple[ExtraPath, ...] = ()

    def for_folder(self, folder: str) -> tuple[ExtraPath, ...]:
        """Return the entries for ``folder`` (any spelling; legacy names mapped), in order."""
        wanted = canonical_folder(folder)
        return tuple(entry for entry in self.entries if entry.folder == wanted)

    def by_folder(self) -> dict[str, tuple[ExtraPath, ...]]:
        """Return the entries of each folder they mention, in order: one pass, where
        :meth:`for_folder` per folder would pass over every entry for each."""
        grouped: dict[str, list[ExtraPath]] = {}
        for entry in self.entries:
            grouped.setdefault(entry.folder, []).append(entry)
        return {folder: tuple(entries) for folder, entries in grouped.items()}

    def folders(self) -> tuple[str, ...]:
        """Return every folder name the entries mention, first mention first."""
        return tuple(dict.fromkeys(entry.folder for entry in self.entries))

    def __add__(self, other: ExtraModelPaths) -> ExtraModelPaths:
        """Return the entries of ``self`` followed by those of ``other``."""
        return ExtraModelPaths(self.entries + other.entries)


def expand_path_text(
    text: str, environ: Mapping[str, str], home_dir: Path, windows: bool = os.name == "nt"
) -> str:
    """Expand ``~`` and environment variables in ``text`` the way ComfyUI does.

    ComfyUI calls ``os.path.expandvars(os.path.expanduser(base_path))``: a leading ``~``
    becomes ``home_dir``, then ``$NAME`` and ``${NAME}`` (and on Windows ``%NAME%``) are
    replaced from ``environ``. Undefined variables stay as written, as expandvars leaves
    them. Takes the variables and home explicitly so callers and tests control them.
    """
    if text == "~" or text.startswith(("~/", "~\\")):
        text = str(home_dir) + text[1:]
    elif text.startswith("~"):
        # "~otheruser/..." needs the password database; the standard library knows it.
        text = os.path.expanduser(text)

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group is not None)
        return environ.get(name, match.group(0))

    text = _POSIX_VARIABLE.sub(replace, text)
    if windows:
        text = _WINDOWS_VARIABLE.sub(replace, text)
    return text


def parse_extra_model_paths(
    text: str,
    source_file: Path,
    environ: Mapping[str, str],
    home_dir: Path,
) -> ExtraModelPaths:
    """Parse the text of an extra_model_paths file.

    Takes the YAML text, the file it came from (relative paths are taken from its folder),
    the environment for ``$VARIABLES`` and the home folder for ``~`` (both the process's,
    handed down from ``main()``). Returns the entries in file order.

    Raises:
        ConfigError: the text is not YAML, or its shape is not the one ComfyUI reads
            (the message names the file, the section and the key).
    """
    yaml_dir = Path(os.path.abspath(source_file)).parent
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{source_file} is not valid YAML{where}; fix it, since ComfyUI cannot read it either."
        ) from error
    except RecursionError:
        # PyYAML builds nested lists and mappings recursively: a file of a few KiB of
        # brackets exhausts the stack. ComfyUI's own reading of it fails the same way.
        raise ConfigError(
            f"{source_file} nests lists or mappings too deeply to be read; ComfyUI cannot "
            "read it either: fix it."
        ) from None
    if document is None:
        return ExtraModelPaths()
    if not isinstance(document, dict):
        raise ConfigError(
            f"{source_file} must hold named sections (section: {{base_path: ..., "
            f"checkpoints: ...}}), not a {type(document).__name__}."
        )
    entries: list[ExtraPath] = []
    # The text of the values read, counted before each is split: aliases may repeat a
    # value, but never make the paths longer than the file itself may be.
    budget = _Budget(source_file)
    for section_name, section in document.items():
        if section is None:
            continue
        for entry in _parse_section(
            str(section_name), section, source_file, yaml_dir, environ, home_dir, budget
        ):
            entries.append(entry)
            budget.count_path()
    return ExtraModelPaths(tuple(entries))


class _Budget:
    """What one file's values may cost to read: ``MAX_FILE_BYTES`` of text, and
    ``MAX_EXTRA_PATHS`` paths."""

    def __init__(self, source_file: Path) -> None:
        self.source_file = source_file
        self.characters = 0
        self.paths = 0

    def count_text(self, value: str) -> None:
        """Count one value's text; raise ConfigError past ``MAX_FILE_BYTES``."""
        self.characters += len(value)
        if self.characters > MAX_FILE_BYTES:
            raise ConfigError(
                f"{self.source_file} repeats its values (YAML aliases) to more than "
                f"{MAX_FILE_BYTES:,} characters of paths; no real configuration does: fix it."
            )

    def count_path(self) -> None:
        """Count one path; raise ConfigError past ``MAX_EXTRA_PATHS``."""
        self.paths += 1
        if self.paths > MAX_EXTRA_PATHS:
            raise ConfigError(
                f"{self.source_file} adds more than {MAX_EXTRA_PATHS:,} model paths "
                "(MAX_EXTRA_PATHS); real configurations add tens: fix it."
            )


def _parse_section(
    section_name: str,
    section: object,
    source_file: Path,
    yaml_dir: Path,
    environ: Mapping[str, str],
    home_dir: Path,
    budget: _Budget,
) -> Iterable[ExtraPath]:
    where = f"{source_file}, section '{section_name}'"
    if not isinstance(section, dict):
        raise ConfigError(
            f"{where} must map folder names to paths, not be a {type(section).__name__}."
        )
    base_path = _base_path(section.get("base_path"), where, yaml_dir, environ, home_dir)
    is_default = section.get("is_default", False)
    if not isinstance(is_default, bool):
        raise ConfigError(f"{where}: is_default must be true or false, not {is_default!r}.")
    for key, value in section.items():
        if key in _SPECIAL_KEYS:
            continue
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"{where}: the key {key!r} is not a folder name.")
        if not isinstance(value, str):
            raise ConfigError(
                f"{where}, key '{key}' must be a path or several paths on separate lines, "
                f"not a {type(value).__name__}."
            )
        budget.count_text(value)
        for line in value.split("\n"):
            # ComfyUI skips empty lines; surrounding blanks are never meant as part of a path.
            line = line.strip()
            if not line:
                continue
            if base_path is not None:
                full_path = os.path.join(base_path, line)
            else:
                full_path = os.path.join(yaml_dir, line)
            yield ExtraPath(
                folder=canonical_folder(key),
                path=Path(os.path.normpath(full_path)),
                is_default=is_default,
                source_file=source_file,
                section=section_name,
            )


def _base_path(
    value: object, where: str, yaml_dir: Path, environ: Mapping[str, str], home_dir: Path
) -> str | None:
    # An absent or empty base_path means "relative to the YAML file", as in ComfyUI.
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: base_path must be a folder path, not {value!r}.")
    expanded = expand_path_text(value.strip(), environ, home_dir)
    if not expanded:
        return None
    if not os.path.isabs(expanded):
        expanded = os.path.join(yaml_dir, expanded)
    return os.path.normpath(expanded)


def load_extra_model_paths(
    files: Sequence[Path],
    environ: Mapping[str, str],
    home_dir: Path,
) -> ExtraModelPaths:
    """Read and parse several extra_model_paths files, in the given order.

    Takes the files (ComfyUI's own ``extra_model_paths.yaml`` first, then configured ones),
    the environment and home folder for expansion. Returns all their entries in order.

    Raises:
        ConfigError: a file cannot be read or is malformed (the message names it).
    """
    combined = ExtraModelPaths()
    for file in files:
        try:
            text = read_regular(file, MAX_FILE_BYTES).decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(
                f"{file} cannot be read ({error.__class__.__name__}: {error}); fix the path "
                "in comfyui.extra_model_paths or the file itself."
            ) from error
        combined = combined + parse_extra_model_paths(text, file, environ, home_dir)
    return combined


def search_order(
    default_dirs: Sequence[Path], extra_paths: Iterable[ExtraPath]
) -> tuple[Path, ...]:
    """Return a folder type's directories in the order ComfyUI searches them.

    Replays ``folder_paths.add_model_folder_path`` over the default directories: each
    extra path is appended, or, when ``is_default``, put first (a later is_default path
    goes before an earlier one, as ComfyUI inserts at the front each time); a path already
    present stays once, moved to the front if it is a default one.
    """
    # Each path gets a rank: appended ones count up, ones put first count down, so the
    # order is the ranks sorted (list insertions and "in" made many paths quadratic).
    rank: dict[Path, int] = {}
    for path in default_dirs:
        rank.setdefault(path, len(rank))
    front, back = 0, len(rank)
    for extra in extra_paths:
        if extra.is_default:  # put first, or moved there (a no-op when first already)
            front -= 1
            rank[extra.path] = front
        elif extra.path not in rank:
            rank[extra.path] = back
            back += 1
    return tuple(sorted(rank, key=rank.__getitem__))


@dataclass(frozen=True)
class InstallExtraPaths:
    """An install's extra_model_paths files, read once per cycle for the three that use
    them: the fingerprint (which files to stamp, and the ``custom_nodes`` folders to walk),
    the model scan and the node scan.

    ``configured``: the files the settings name (``~`` expanded), stamped whether or not
    they exist; ``extra``: the entries of ComfyUI's own file (when present) and of those,
    in that order, or None when one could not be read, ``error`` then saying why (raised
    by the users that need the entries, as reading them would have); ``base``: the folder
    ComfyUI is started with ``--base-directory`` (None: ``comfyui_root``), where its own
    ``models`` and ``custom_nodes`` are.
    """

    comfyui_root: Path
    configured: tuple[Path, ...]
    extra: ExtraModelPaths | None
    error: ConfigError | None = None
    base: Path | None = None

    @property
    def data_root(self) -> Path:
        """Where ComfyUI's own ``models`` and ``custom_nodes`` are: the base directory,
        else the root."""
        return self.base if self.base is not None else self.comfyui_root

    def entries(self) -> ExtraModelPaths:
        """Every entry, in the order ComfyUI reads them.

        Raises:
            ConfigError: an extra_model_paths file is malformed or cannot be read.
        """
        if self.extra is None:
            assert self.error is not None
            raise self.error
        return self.extra

    def custom_nodes(self) -> tuple[Path, ...]:
        """The folders ComfyUI loads node packs from, in its order: its own
        ``custom_nodes`` and the files' ``custom_nodes`` paths, an ``is_default`` one first.

        Raises:
            ConfigError: an extra_model_paths file is malformed or cannot be read.
        """
        return search_order(
            [self.data_root / "custom_nodes"], self.entries().for_folder("custom_nodes")
        )


def read_install_extra_paths(
    comfyui_root: Path,
    configured: Sequence[Path],
    environ: Mapping[str, str],
    home_dir: Path,
    base: Path | None = None,
) -> InstallExtraPaths:
    """Read the extra_model_paths files of the install at ``comfyui_root``: the
    ``extra_model_paths.yaml`` next to ``main.py`` when present, then ``configured`` (a
    leading ``~`` is ``home_dir``); ``environ`` and ``home_dir`` expand their paths.
    ``base``: the install's base directory (None: the root). Never raises a
    ``ConfigError``: it is kept in the result (:class:`InstallExtraPaths`)."""
    files = tuple(expand_user(Path(path), home_dir) for path in configured)
    own_file = Path(os.path.abspath(comfyui_root)) / EXTRA_MODEL_PATHS_FILE_NAME
    read = ([own_file] if own_file.is_file() else []) + list(files)
    try:
        extra = load_extra_model_paths(read, environ, home_dir)
    except ConfigError as error:
        return InstallExtraPaths(comfyui_root, files, None, error, base)
    return InstallExtraPaths(comfyui_root, files, extra, None, base)


def custom_nodes_folders(
    comfyui_root: Path,
    extra_yaml_files: Sequence[Path],
    environ: Mapping[str, str],
    home_dir: Path,
) -> tuple[Path, ...]:
    """Return the folders ComfyUI loads node packs from, in its order
    (:meth:`InstallExtraPaths.custom_nodes`), reading the files
    (:func:`read_install_extra_paths`).

    Raises:
        ConfigError: an extra_model_paths file is malformed or cannot be read.
    """
    return read_install_extra_paths(
        comfyui_root, extra_yaml_files, environ, home_dir
    ).custom_nodes()
