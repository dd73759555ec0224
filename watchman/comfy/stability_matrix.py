"""Stability Matrix (LykosAI/StabilityMatrix): the ComfyUI packages its library holds.

Read from its source (``Core/Services/SettingsManager.cs``, ``Core/Helper/Compat.cs``,
``Core/Models/Settings/Settings.cs``, ``Core/Models/InstalledPackage.cs``,
``Core/Models/Packages/ComfyUI.cs``) and its data-directory documentation:

- Its library (data directory) is ``Data`` beside the executable when that folder holds
  the ``.sm-portable`` marker (portable mode, checked first); else the ``LibraryPath`` of
  ``library.json`` in its application data folder: ``%APPDATA%\\StabilityMatrix`` on
  Windows, ``$XDG_CONFIG_HOME/StabilityMatrix`` (``~/.config/StabilityMatrix``) on Linux
  and macOS (.NET's ``ApplicationData``).
- The library's ``settings.json`` lists the packages (``InstalledPackages``: ``Id``,
  ``DisplayName``, ``PackageName``, ``LibraryPath`` relative to the library, such as
  ``Packages/ComfyUI``; older versions wrote an absolute ``Path``) and names the one
  selected (``ActiveInstalledPackage``).
- The shared model library (``Models`` in the library, or ``ModelDirectoryOverride``) is
  wired into ComfyUI either by the package's own ``extra_model_paths.yaml`` next to
  ``main.py`` (section ``stability_matrix``, absolute paths; the default) or by symbolic
  links in its ``models`` folder. ComfyUI reads both without any option, and so does
  comfywatchman once the install is found: nothing more is read here.

The executable's folder cannot be known from here, so a portable library is found only
when comfywatchman runs in the folder that holds it (``Data/.sm-portable``); elsewhere, set
``comfyui.root`` to the package's folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from watchman.comfy.launcher_files import (
    MAX_LISTED_INSTALLS,
    LauncherInstall,
    LauncherScan,
    absolute_folder,
    can_name_a_file,
    read_json_file,
    shown_name,
    string_field,
)
from watchman.errors import LauncherFileError

LAUNCHER = "Stability Matrix"
APP_NAME = "StabilityMatrix"
LIBRARY_NAME = "library.json"
SETTINGS_NAME = "settings.json"
PORTABLE_FOLDER = "Data"
PORTABLE_MARKER = ".sm-portable"


def library_json_file(environ: Mapping[str, str], home_dir: Path, platform: str) -> Path:
    """Return where Stability Matrix records its library folder (``library.json``) on
    ``platform``; it need not exist."""
    if platform.startswith("win"):
        roaming = environ.get("APPDATA")
        app_data = Path(roaming) if roaming else home_dir / "AppData" / "Roaming"
    else:
        value = environ.get("XDG_CONFIG_HOME", "")
        app_data = Path(value) if value and os.path.isabs(value) else home_dir / ".config"
    return app_data / APP_NAME / LIBRARY_NAME


def scan_stability_matrix(
    environ: Mapping[str, str], home_dir: Path, platform: str, cwd: Path
) -> LauncherScan:
    """Return the packages of Stability Matrix's libraries (:class:`LauncherScan`): the
    portable one in ``cwd`` first, then the one ``library.json`` names; in each, the
    selected package first, then the listed order. Packages of another kind (a
    ``PackageName`` not starting with ``ComfyUI``, as ``ComfyUI-Zluda`` does) are left
    out; whether a folder holds ComfyUI is the caller's test. Never raises."""
    scan = LauncherScan()
    portable = cwd / PORTABLE_FOLDER
    if (portable / PORTABLE_MARKER).is_file():
        scan = scan + _scan_library(Path(os.path.abspath(portable)), "portable library")
    library_file = library_json_file(environ, home_dir, platform)
    try:
        library = _library_folder(library_file, home_dir)
    except LauncherFileError as error:
        return scan + LauncherScan(problems=(str(error),))
    if library is not None:
        scan = scan + _scan_library(library, "library")
    return scan


def _library_folder(library_file: Path, home_dir: Path) -> Path | None:
    document = read_json_file(library_file, f"{LAUNCHER}'s {LIBRARY_NAME}")
    if document is None:
        return None
    written = string_field(document, "LibraryPath") if isinstance(document, dict) else None
    library = absolute_folder(written, home_dir) if written is not None else None
    if library is None:
        raise LauncherFileError(
            f"{LAUNCHER}'s {library_file} names no absolute LibraryPath, so its library is "
            "not read."
        )
    return library if library.is_dir() else None


def _scan_library(library: Path, kind: str) -> LauncherScan:
    settings = library / SETTINGS_NAME
    try:
        document = read_json_file(settings, f"{LAUNCHER}'s {kind} settings")
    except LauncherFileError as error:
        return LauncherScan(problems=(str(error),))
    if document is None:
        return LauncherScan()
    packages = document.get("InstalledPackages") if isinstance(document, dict) else None
    if not isinstance(packages, list):
        return LauncherScan(problems=(f"{LAUNCHER}'s {settings} has no InstalledPackages list.",))
    assert isinstance(document, dict)
    active = string_field(document, "ActiveInstalledPackage")
    entries = [entry for entry in packages[:MAX_LISTED_INSTALLS] if isinstance(entry, dict)]
    # The selected package first; the rest keep the list's order.
    entries.sort(key=lambda entry: not _is_active(entry, active))
    installs, problems = [], []
    for entry in entries:
        package = string_field(entry, "PackageName")
        if package is not None and not package.lower().startswith("comfyui"):
            continue
        name = shown_name(string_field(entry, "DisplayName") or string_field(entry, "PackageName"))
        folder = _package_folder(entry, library)
        if folder is None:
            problems.append(f"{LAUNCHER}'s package {name} in {settings} names no folder.")
            continue
        selected = "selected package" if _is_active(entry, active) else "package"
        installs.append(LauncherInstall(folder, f"{LAUNCHER}'s {selected} {name} in {settings}"))
    return LauncherScan(tuple(installs), tuple(problems))


def _package_folder(entry: Mapping[str, object], library: Path) -> Path | None:
    relative = string_field(entry, "LibraryPath")
    if relative is not None:
        # Written on Windows with backslashes; a path leaving the library is not one.
        parts = [part for part in relative.replace("\\", "/").split("/") if part not in ("", ".")]
        if not parts or ".." in parts or os.path.isabs(relative) or not can_name_a_file(relative):
            return None
        return library.joinpath(*parts)
    # Versions before LibraryPath wrote the package's absolute folder as Path.
    absolute = string_field(entry, "Path")
    if absolute is None or not os.path.isabs(absolute):
        return None
    return Path(os.path.normpath(absolute))


def _is_active(entry: Mapping[str, object], active: str | None) -> bool:
    identifier = string_field(entry, "Id")
    return active is not None and identifier is not None and identifier.lower() == active.lower()
