"""ComfyUI Desktop 2.0 (Comfy-Org/ComfyUI-Launcher): the installs it lists, and the shared
model folders it starts them with.

Read from its source (``src/main/installations.ts``, ``lib/paths.ts``, ``lib/models.ts``,
``settings.ts``, ``sources/*.ts``, ``ipc/sessionActions/launch.ts``):

- It keeps its list of installs in ``installations.json``, a JSON array of records with
  ``id``, ``name``, ``installPath``, ``sourceId`` and optionally ``useSharedPaths``; a
  new install goes first, and the person may reorder them. When that file is missing or
  empty it reads ``installations.json.bak``.
- ``settings.json`` names the primary install (``primaryInstallId``).
- Where: on Linux ``installations.json`` is in ``$XDG_DATA_HOME/comfyui-desktop-2``
  (``~/.local/share/comfyui-desktop-2``) and ``settings.json`` in
  ``$XDG_CONFIG_HOME/comfyui-desktop-2``; older versions kept both in Electron's
  ``userData`` (``~/.config/<app name>``), moved on first start of a newer one. On Windows
  and macOS both are in ``userData``: ``%APPDATA%\\<app name>``,
  ``~/Library/Application Support/<app name>``. The app name is ``ComfyUI Desktop 2.0``
  for released builds and ``comfyui-desktop-2`` for development ones.
- ComfyUI's code is ``<installPath>/ComfyUI`` for ``standalone`` installs,
  ``<installPath>`` or ``<installPath>/ComfyUI`` for ``git`` ones, and ``ComfyUI`` in the
  folder holding ``python_embeded`` (``installPath`` or one of its sub-folders) for
  ``portable`` ones. ``desktop`` entries are the older desktop app (found by its own rules),
  ``cloud`` and ``remote`` ones are servers elsewhere: none is a local install.
- An install is started with its own arguments (``launchArgs``; their
  ``--extra-model-paths-config`` and ``--base-directory`` are read,
  :mod:`watchman.comfy.launch_arguments`, relative to the folder it is started in: the
  install's for ``standalone``, the portable root, the code folder for ``git``) and,
  unless it says ``useSharedPaths: false``, then with
  ``--extra-model-paths-config <data folder>/shared_model_paths.yaml``, a file the launcher
  rewrites at each start from its ``modelsDirs`` setting (``~/ComfyUI-Shared/models`` by
  default, the first one ``is_default``), and with ``--input-directory`` and
  ``--output-directory`` in its shared folder (``settings.json``'s ``inputDir``, by default
  ``~/ComfyUI-Shared/input``). That file, as it was last written, is read the way ComfyUI
  reads it, and that input folder is where input files are looked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from watchman.comfy.launch_arguments import FolderOptions, folder_options, split_launch_arguments
from watchman.comfy.launcher_files import (
    MAX_LISTED_INSTALLS,
    LauncherInstall,
    LauncherScan,
    absolute_folder,
    can_name_a_file,
    read_json_file,
    same_folder,
    shown_name,
    string_field,
)
from watchman.errors import LauncherFileError

LAUNCHER = "ComfyUI Desktop 2.0"
APP_NAMES = ("ComfyUI Desktop 2.0", "comfyui-desktop-2")
"""Electron's app name for released builds (``productName``), then development ones."""
XDG_NAME = "comfyui-desktop-2"
INSTALLATIONS_NAME = "installations.json"
SETTINGS_NAME = "settings.json"
SHARED_MODEL_PATHS_NAME = "shared_model_paths.yaml"
SHARED_FOLDER_NAME = "ComfyUI-Shared"
"""The launcher's shared folder in the home folder: models/, input/ and output/ by default."""
_LOCAL_SOURCES = frozenset({"standalone", "git", "portable"})
_MAX_PORTABLE_CHILDREN = 1_000


@dataclass(frozen=True)
class LauncherFolder:
    """One place the launcher may keep its files: ``data`` holds ``installations.json``
    and ``shared_model_paths.yaml``, ``settings`` is its ``settings.json``."""

    data: Path
    settings: Path


@dataclass(frozen=True)
class SharedFolders:
    """What the launcher starts every install that uses its shared folders with:
    ``model_paths``, its ``shared_model_paths.yaml`` (read only when it exists), and
    ``input_directory``, its input folder (None: not known)."""

    model_paths: Path
    input_directory: Path | None


def launcher_folders(
    environ: Mapping[str, str], home_dir: Path, platform: str
) -> tuple[LauncherFolder, ...]:
    """Return where ComfyUI Desktop 2.0 may keep its files on ``platform`` (a
    ``sys.platform`` value), the current layout first. Takes the environment (``APPDATA``,
    ``XDG_DATA_HOME``, ``XDG_CONFIG_HOME``) and the home folder; the folders need not
    exist."""
    if platform.startswith("win"):
        roaming = environ.get("APPDATA")
        app_data = Path(roaming) if roaming else home_dir / "AppData" / "Roaming"
        return tuple(_app_folder(app_data / name) for name in APP_NAMES)
    if platform == "darwin":
        app_data = home_dir / "Library" / "Application Support"
        return tuple(_app_folder(app_data / name) for name in APP_NAMES)
    data_home = _xdg(environ, "XDG_DATA_HOME", home_dir / ".local" / "share")
    config_home = _xdg(environ, "XDG_CONFIG_HOME", home_dir / ".config")
    current = LauncherFolder(data_home / XDG_NAME, config_home / XDG_NAME / SETTINGS_NAME)
    # Before the XDG layout, both files were in Electron's userData.
    return (current, *(_app_folder(config_home / name) for name in APP_NAMES))


def scan_comfy_launcher(environ: Mapping[str, str], home_dir: Path, platform: str) -> LauncherScan:
    """Return the local installs ComfyUI Desktop 2.0 lists (:class:`LauncherScan`): the
    primary one first, then in the list's order; each with the shared model paths file it
    is started with, when that file exists. Never raises: a file that cannot be used is
    one of the scan's problems."""
    scan = LauncherScan()
    for folder in launcher_folders(environ, home_dir, platform):
        scan = scan + _scan_folder(folder, home_dir)
    return scan


def _scan_folder(folder: LauncherFolder, home_dir: Path) -> LauncherScan:
    listing = folder.data / INSTALLATIONS_NAME
    what = f"{LAUNCHER}'s installation list"
    try:
        document = read_json_file(listing, what)
        if document is None:
            listing = listing.with_name(INSTALLATIONS_NAME + ".bak")
            document = read_json_file(listing, what)
    except LauncherFileError as error:
        return LauncherScan(problems=(str(error),))
    if document is None:
        return LauncherScan()
    if not isinstance(document, list):
        return LauncherScan(problems=(f"{what} {listing} is not a JSON list of installations.",))
    problems: list[str] = []
    settings = _read_settings(folder.settings, problems)
    primary = string_field(settings, "primaryInstallId")
    records = [entry for entry in document[:MAX_LISTED_INSTALLS] if isinstance(entry, dict)]
    # The primary install first; the rest keep the list's order.
    records.sort(key=lambda entry: primary is None or entry.get("id") != primary)
    shared = SharedFolders(folder.data / SHARED_MODEL_PATHS_NAME, _input_dir(settings, home_dir))
    installs = []
    for entry in records:
        install = _install(entry, listing, shared, home_dir, entry.get("id") == primary, problems)
        if install is not None:
            installs.append(install)
    return LauncherScan(tuple(installs), tuple(problems))


def _install(
    entry: Mapping[str, object],
    listing: Path,
    shared: SharedFolders,
    home_dir: Path,
    is_primary: bool,
    problems: list[str],
) -> LauncherInstall | None:
    source = string_field(entry, "sourceId")
    if source not in _LOCAL_SOURCES:
        return None
    name = shown_name(string_field(entry, "name"))
    written = string_field(entry, "installPath")
    install_path = absolute_folder(written, home_dir) if written is not None else None
    if install_path is None:
        problems.append(
            f"{LAUNCHER}'s installation {name} in {listing} names no absolute installPath."
        )
        return None
    kind = "primary installation" if is_primary else "installation"
    origin = f"{LAUNCHER}'s {kind} {name} in {listing}"
    code = _code_folder(source, install_path)
    # The folder ComfyUI is started in, from which relative paths in its arguments count.
    started_in = {"standalone": install_path, "portable": code.parent}.get(source, code)
    options = _folder_options(entry.get("launchArgs"))
    extra = []
    for written_file in options.extra_model_paths:
        config = Path(os.path.normpath(os.path.join(started_in, written_file)))
        if config.is_file():
            extra.append(config)
        else:
            problems.append(
                f"{origin} is started with --extra-model-paths-config {config}, which is not "
                "a file (ComfyUI started so stops at it); it is not read."
            )
    uses_shared = entry.get("useSharedPaths") is not False
    if uses_shared and shared.model_paths.is_file():
        extra.append(shared.model_paths)  # passed after the install's own arguments
    base = _started_path(started_in, options.base_directory)
    # The launcher's --input-directory comes last, so it wins over the install's own.
    given_input = _started_path(started_in, options.input_directory)
    input_directory = shared.input_directory if uses_shared else given_input
    return LauncherInstall(code, origin, tuple(extra), base, input_directory)


def _started_path(started_in: Path, written: str | None) -> Path | None:
    if written is None or not can_name_a_file(written):
        return None
    return Path(os.path.normpath(os.path.join(started_in, written)))


def _folder_options(arguments: object) -> FolderOptions:
    # An install without launchArgs gets its source's defaults, which name no folder.
    if not isinstance(arguments, str):
        return FolderOptions()
    return folder_options(split_launch_arguments(arguments))


def _code_folder(source: str, install_path: Path) -> Path:
    if source == "standalone":
        return install_path / "ComfyUI"
    if source == "git":
        direct = install_path / "main.py"
        return install_path if direct.is_file() else install_path / "ComfyUI"
    return _portable_root(install_path) / "ComfyUI"


def _portable_root(install_path: Path) -> Path:
    # The folder holding python_embeded: the install's own, else its first sub-folder
    # (by name) that has one, as the launcher looks for it.
    if (install_path / "python_embeded").is_dir():
        return install_path
    for child in _sorted_children(install_path):
        if (child / "python_embeded").is_dir():
            return child
    return install_path


def _sorted_children(folder: Path) -> Iterator[Path]:
    try:
        with os.scandir(folder) as entries:
            names = []
            for count, entry in enumerate(entries):
                if count >= _MAX_PORTABLE_CHILDREN:
                    break
                names.append(entry.name)
    except OSError:
        return
    for name in sorted(names):
        yield folder / name


def _read_settings(settings: Path, problems: list[str]) -> Mapping[str, object]:
    try:
        document = read_json_file(settings, f"{LAUNCHER}'s settings")
    except LauncherFileError as error:
        problems.append(
            f"{error} Its installations are taken in their listed order, with its default "
            "shared input folder."
        )
        return {}
    return document if isinstance(document, dict) else {}


def _input_dir(settings: Mapping[str, object], home_dir: Path) -> Path | None:
    # The launcher's inputDir, else its default; one written relative names a folder
    # relative to wherever the launcher ran, which cannot be known.
    written = string_field(settings, "inputDir")
    if written is None:
        return home_dir / SHARED_FOLDER_NAME / "input"
    return absolute_folder(written, home_dir)


def _app_folder(folder: Path) -> LauncherFolder:
    return LauncherFolder(folder, folder / SETTINGS_NAME)


def _xdg(environ: Mapping[str, str], name: str, default: Path) -> Path:
    # The XDG specification ignores a relative value.
    value = environ.get(name, "")
    return Path(value) if value and os.path.isabs(value) else default


def listed_install(
    root: Path, environ: Mapping[str, str], home_dir: Path, platform: str
) -> LauncherInstall | None:
    """Return ComfyUI Desktop 2.0's entry for the install whose code folder is ``root``
    (:class:`LauncherInstall`: the extra model paths files and base directory it is
    started with), or None when the launcher does not list it. Never raises."""
    for install in scan_comfy_launcher(environ, home_dir, platform).installs:
        if same_folder(install.root, root):
            return install
    return None
