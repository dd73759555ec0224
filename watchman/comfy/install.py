"""Finding the ComfyUI install: an explicit root, comfy-cli's workspace, common folders,
the desktop app, and the installs launchers list.

The caller merges ``--comfyui-root``, ``COMFYUI_ROOT`` and ``comfyui.root`` into one
explicit path. Without one, detection tries comfy-cli's ``config.ini`` (the
``default_workspace``, then the ``recent_workspace`` key of its ``[DEFAULT]`` section),
then the folders people usually install ComfyUI in, then the desktop app's code folder,
then the installs ComfyUI Desktop 2.0, Stability Matrix and Pinokio list
(:mod:`watchman.comfy.comfy_launcher`, :mod:`watchman.comfy.stability_matrix`,
:mod:`watchman.comfy.pinokio`). The first
install found is used; the others found are named beside it, so the choice can be seen
and changed. comfy-cli keeps that file in
``~/.config/comfy-cli`` on Linux, ``~/Library/Application Support/comfy-cli`` on macOS and
``~/AppData/Local/comfy-cli`` on Windows (``comfy_cli/constants.py``, ``DEFAULT_CONFIG``);
``$XDG_CONFIG_HOME/comfy-cli`` and ``%LOCALAPPDATA%\\comfy-cli`` are checked as well, since
that is where a user who moved those folders would look.
"""

from __future__ import annotations

import configparser
import io
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from watchman.comfy.comfy_launcher import listed_install, scan_comfy_launcher
from watchman.comfy.desktop import (
    app_code_folders,
    app_data_folder,
    is_app_code_folder,
    read_desktop_install,
)
from watchman.comfy.launcher_files import LauncherScan
from watchman.comfy.pinokio import scan_pinokio
from watchman.comfy.stability_matrix import scan_stability_matrix
from watchman.environment import expand_user
from watchman.errors import ComfyUINotFoundError
from watchman.regular_files import open_regular

logger = logging.getLogger(__name__)

HOW_TO_SET_ROOT = (
    "pass --comfyui-root, set COMFYUI_ROOT, or set comfyui.root in the config file to the "
    "folder that holds ComfyUI's main.py"
)
_WORKSPACE_KEYS = ("default_workspace", "recent_workspace")


def _missing_parts(path: Path) -> list[str]:
    missing = [name for name in ("main.py", "nodes.py") if not (path / name).is_file()]
    if not (path / "comfy").is_dir():
        missing.append("comfy/")
    return missing


def is_comfyui_root(path: Path) -> bool:
    """Return whether ``path`` is a ComfyUI install: it holds ``main.py``, ``nodes.py`` and
    the ``comfy/`` package. Unreadable or absent paths are simply not roots."""
    try:
        return path.is_dir() and not _missing_parts(path)
    except OSError:
        return False


def comfy_cli_config_files(
    environ: Mapping[str, str], home_dir: Path, platform: str = sys.platform
) -> tuple[Path, ...]:
    """Return where comfy-cli's ``config.ini`` may be on ``platform``, most likely first.

    Takes the environment (for ``XDG_CONFIG_HOME`` / ``LOCALAPPDATA``), the home folder and
    a ``sys.platform`` value. The files need not exist.
    """
    folders: list[Path] = []
    if platform.startswith("win"):
        if environ.get("LOCALAPPDATA"):
            folders.append(Path(environ["LOCALAPPDATA"]) / "comfy-cli")
        folders.append(home_dir / "AppData" / "Local" / "comfy-cli")
    elif platform == "darwin":
        folders.append(home_dir / "Library" / "Application Support" / "comfy-cli")
    else:
        folders.append(home_dir / ".config" / "comfy-cli")
        if environ.get("XDG_CONFIG_HOME"):
            folders.append(Path(environ["XDG_CONFIG_HOME"]) / "comfy-cli")
    return tuple(dict.fromkeys(folder / "config.ini" for folder in folders))


def comfy_cli_workspaces(config_file: Path, home_dir: Path | None = None) -> tuple[Path, ...]:
    """Return the workspaces named in one comfy-cli ``config.ini``: default, then recent.

    An absent, unreadable or malformed file yields nothing (logged at DEBUG/WARNING): it
    is comfy-cli's file, and its state must not stop detection.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open_regular(config_file) as handle:
            parser.read_file(io.TextIOWrapper(handle, encoding="utf-8"))
    except FileNotFoundError:
        return ()
    except (OSError, UnicodeDecodeError, configparser.Error) as error:
        logger.warning("Ignoring comfy-cli config %s: %s", config_file, error)
        return ()
    workspaces = []
    for key in _WORKSPACE_KEYS:
        value = parser.defaults().get(key, "").strip()
        if value:
            # "~" is the given home (None: left as written).
            workspaces.append(expand_user(Path(value), home_dir) if home_dir else Path(value))
    return tuple(workspaces)


def common_locations(home_dir: Path, cwd: Path) -> tuple[Path, ...]:
    """Return the folders ComfyUI is usually installed in, in the order they are tried:
    the current folder and its ``ComfyUI/`` child, the home-folder installs (including
    comfy-cli's default workspaces) and the Windows portable layout."""
    return (
        cwd,
        cwd / "ComfyUI",
        home_dir / "ComfyUI",
        home_dir / "comfy" / "ComfyUI",
        home_dir / "Documents" / "ComfyUI",
        home_dir / "Documents" / "comfy" / "ComfyUI",
        cwd / "ComfyUI_windows_portable" / "ComfyUI",
        home_dir / "ComfyUI_windows_portable" / "ComfyUI",
    )


def _candidates(
    environ: Mapping[str, str], home_dir: Path, cwd: Path, platform: str
) -> Iterator[tuple[Path, str]]:
    for config_file in comfy_cli_config_files(environ, home_dir, platform):
        for workspace in comfy_cli_workspaces(config_file, home_dir):
            yield workspace, f"comfy-cli config {config_file}"
            # comfy-cli workspaces may be the folder above the ComfyUI checkout.
            yield workspace / "ComfyUI", f"comfy-cli config {config_file}"
    for location in common_locations(home_dir, cwd):
        yield location, "common location"
    for location in app_code_folders(environ, home_dir, platform):
        yield location, "the ComfyUI desktop app"


def locate_comfyui_root(
    explicit: Path | None,
    environ: Mapping[str, str],
    home_dir: Path,
    *,
    cwd: Path,
    platform: str = sys.platform,
) -> tuple[Path, str]:
    """Return the ComfyUI install folder (absolute) and how it was chosen, one phrase:
    ``set`` for an explicit root, else ``detected: <rule>``, naming the other installs
    detection found (the first found is used).

    Takes the explicit root (flag, ``COMFYUI_ROOT`` and config already merged by the
    caller; None when unset), the environment, the home folder (for ``~``), the folder
    the command started in (a relative root is taken from it, and detection looks there
    first) and a ``sys.platform`` value.

    Raises:
        ComfyUINotFoundError: the explicit folder is not a ComfyUI install (the message
            says what it lacks), or nothing was found; the message says how to set it
            and what detection could not read.
    """
    if explicit is not None:
        root = Path(os.path.abspath(cwd / expand_user(Path(explicit), home_dir)))
        if not root.is_dir():
            raise ComfyUINotFoundError(
                f"The ComfyUI folder {root} does not exist; {HOW_TO_SET_ROOT}."
            )
        missing = _missing_parts(root)
        if missing:
            raise ComfyUINotFoundError(
                f"{root} is not a ComfyUI install (it has no {', '.join(missing)}); "
                f"{HOW_TO_SET_ROOT}."
            )
        return root, "set"
    detection = detect_comfyui_installs(environ, home_dir, cwd=cwd, platform=platform)
    for problem in detection.problems:
        logger.info("%s", problem)
    if not detection.found:
        raise ComfyUINotFoundError(
            " ".join((f"No ComfyUI install was found; {HOW_TO_SET_ROOT}.", *detection.problems))
        )
    root, origin = detection.found[0]
    logger.info("Found ComfyUI at %s (%s)", root, origin)
    found_by = f"detected: {origin}"
    if len(detection.found) > 1:
        others = "; ".join(f"{path} ({rule})" for path, rule in detection.found[1:])
        logger.info(
            "%s is used as the first install detection finds; also found: %s. Set "
            "comfyui.root to use another.",
            root,
            others,
        )
        found_by += f", the first of the installs found; also found: {others}"
    return root, found_by


def base_directory(configured: Path | None, comfyui_root: Path, home_dir: Path) -> Path:
    """Return the folder ComfyUI keeps models/, custom_nodes/, input/ and user/ in: the
    one it is started with ``--base-directory`` (``configured``: relative to
    ``comfyui_root``, ``~`` is ``home_dir``), else ``comfyui_root`` itself (absolute).

    Raises:
        ComfyUINotFoundError: the configured folder does not exist.
    """
    if configured is None:
        return comfyui_root
    base = Path(os.path.abspath(comfyui_root / expand_user(Path(configured), home_dir)))
    if not base.is_dir():
        raise ComfyUINotFoundError(
            f"The base directory {base} does not exist; set comfyui.base_directory to the "
            "folder ComfyUI is started with --base-directory, or leave it unset."
        )
    return base


@dataclass(frozen=True)
class InstallLayout:
    """Where an install keeps what the code folder does not: ``base``, the folder of its
    input/ and user/ (the workflows, ComfyUI-Manager's log); ``extra_model_paths``, the
    extra model paths files to read besides the one next to ``main.py`` (the settings'
    first); ``desktop``: the desktop app's data folder when the layout is the app's, else
    None; ``models_base``: the folder whose models/ and custom_nodes/ ComfyUI searches
    first of its own (``--base-directory`` moves them; the desktop app leaves them in the
    code folder and adds the person's through its extra model paths file). None: ``base``.
    ``launcher_model_paths``: the files among ``extra_model_paths`` that a launcher
    listing the install starts it with (ComfyUI Desktop 2.0's shared model folders, and
    those of the install's own launch arguments); ``launcher``: that launcher's entry for
    the install (its origin phrase), when it is one (None: not listed);
    ``input_directory``: the ``--input-directory`` that launcher starts it with (None:
    none, or not known).
    """

    base: Path
    extra_model_paths: tuple[Path, ...]
    desktop: Path | None = None
    models_base: Path | None = None
    launcher_model_paths: tuple[Path, ...] = ()
    launcher: str | None = None
    input_directory: Path | None = None

    @property
    def models_root(self) -> Path:
        """The folder of ComfyUI's own models/ and custom_nodes/ (see ``models_base``)."""
        return self.models_base if self.models_base is not None else self.base


def install_layout(
    comfyui_root: Path,
    configured_base: Path | None,
    configured_extra: Sequence[Path],
    environ: Mapping[str, str],
    home_dir: Path,
    platform: str = sys.platform,
) -> InstallLayout:
    """Return the :class:`InstallLayout` of the install at ``comfyui_root``.

    ``configured_base`` (``comfyui.base_directory``) wins; else, for ComfyUI's code inside
    the desktop app, the folder the app keeps its files in, and the extra model paths
    file it starts ComfyUI with, added after ``configured_extra``
    (:mod:`watchman.comfy.desktop`); else, for an install ComfyUI Desktop 2.0 lists, the
    ``--base-directory`` it is started with when that folder exists; else the root. For
    such an install, the extra model paths files it is started with (its own arguments',
    then the launcher's shared one) are added after ``configured_extra``
    (:mod:`watchman.comfy.comfy_launcher`).

    Raises:
        ComfyUINotFoundError: the configured base directory does not exist.
    """
    extra = tuple(configured_extra)
    configured = {Path(os.path.abspath(expand_user(path, home_dir))) for path in extra}
    listed = listed_install(comfyui_root, environ, home_dir, platform)
    launcher = (
        ()
        if listed is None
        else tuple(path for path in listed.extra_model_paths if path not in configured)
    )
    origin = listed.origin if listed is not None else None
    given_input = listed.input_directory if listed is not None else None
    if configured_base is not None:
        base = base_directory(configured_base, comfyui_root, home_dir)
        return InstallLayout(
            base,
            extra + launcher,
            launcher_model_paths=launcher,
            launcher=origin,
            input_directory=given_input,
        )
    if is_app_code_folder(comfyui_root):
        data_folder = app_data_folder(environ, home_dir, platform)
        desktop = read_desktop_install(data_folder, environ, home_dir)
        if desktop is not None:
            if desktop.model_config not in configured:
                extra += (desktop.model_config,)
            return InstallLayout(desktop.base, extra, data_folder, comfyui_root)
    base = comfyui_root
    if listed is not None and listed.base_directory is not None:
        if listed.base_directory.is_dir():
            base = listed.base_directory
        else:
            logger.info(
                "%s is started with --base-directory %s, which does not exist; its files "
                "are looked for in %s.",
                listed.origin,
                listed.base_directory,
                comfyui_root,
            )
    return InstallLayout(
        base,
        extra + launcher,
        launcher_model_paths=launcher,
        launcher=origin,
        input_directory=given_input,
    )


@dataclass(frozen=True)
class Detection:
    """What detection finds: ``found``, every ComfyUI install (absolute) with the rule
    that found it, in detection order (the first is used); ``problems``, one sentence for
    each launcher file that could not be read and each listed install that is not there."""

    found: tuple[tuple[Path, str], ...]
    problems: tuple[str, ...] = ()


def launcher_installs(
    environ: Mapping[str, str], home_dir: Path, platform: str, cwd: Path
) -> LauncherScan:
    """Return the installs launchers list: ComfyUI Desktop 2.0's, then Stability
    Matrix's, then Pinokio's apps (:class:`LauncherScan`). Never raises."""
    return (
        scan_comfy_launcher(environ, home_dir, platform)
        + scan_stability_matrix(environ, home_dir, platform, cwd)
        + scan_pinokio(environ, home_dir)
    )


def detect_comfyui_installs(
    environ: Mapping[str, str], home_dir: Path, *, cwd: Path, platform: str = sys.platform
) -> Detection:
    """Return every ComfyUI install detection finds (:class:`Detection`), in the order
    its rules are tried: comfy-cli's workspaces, common folders, the desktop app, then
    the installs launchers list. Takes what :func:`locate_comfyui_root` takes, less the
    explicit root. Never raises."""
    found: dict[Path, str] = {}
    for candidate, origin in _candidates(environ, home_dir, cwd, platform):
        if is_comfyui_root(candidate):
            found.setdefault(Path(os.path.abspath(candidate)), origin)
    scan = launcher_installs(environ, home_dir, platform, cwd)
    problems = list(scan.problems)
    for install in scan.installs:
        if is_comfyui_root(install.root):
            found.setdefault(Path(os.path.abspath(install.root)), install.origin)
        elif install.is_listed_as_comfyui:
            where = _not_an_install(install.root)
            problems.append(f"{install.origin} is at {install.root}, {where}.")
    return Detection(tuple(found.items()), tuple(problems))


def _not_an_install(folder: Path) -> str:
    try:
        if not folder.is_dir():
            return "which no longer exists"
        return f"which is not a ComfyUI install (it has no {', '.join(_missing_parts(folder))})"
    except OSError as error:
        return f"which cannot be read ({error.strerror or error.__class__.__name__})"


def detect_comfyui_root(
    environ: Mapping[str, str], home_dir: Path, *, cwd: Path, platform: str = sys.platform
) -> tuple[Path, str] | None:
    """Return the first ComfyUI install detection finds (absolute) and the rule that
    found it (``comfy-cli config <file>``, ``common location``, ``the ComfyUI desktop
    app`` or a launcher's entry), or None: none found. Takes what
    :func:`locate_comfyui_root` takes, less the explicit root."""
    found = detect_comfyui_installs(environ, home_dir, cwd=cwd, platform=platform).found
    return found[0] if found else None
