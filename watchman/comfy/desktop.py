"""The ComfyUI desktop app's layout: its code inside the app, its files in a folder of the
person's choosing.

The desktop app (Comfy-Org/desktop, released for Windows and macOS) ships ComfyUI's code inside the
application (``resources/ComfyUI``) and keeps models, custom nodes, inputs, outputs and
workflows in the folder the person picked at installation (``basePath``). It starts
ComfyUI with ``--user-directory``, ``--input-directory`` and ``--output-directory`` in that
folder and ``--extra-model-paths-config`` naming ``extra_models_config.yaml`` in the
app's own data folder, whose ``base_path`` entry (``is_default: true``) points the model
folders and ``custom_nodes`` there. The app's ``config.json`` beside it records
``basePath`` too.

Read here, never run: where the app puts its code, its data folder, and from those two
files the base folder and the extra model paths file, so an install found there is read
as the app starts it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from watchman.environment import expand_user
from watchman.regular_files import read_regular

logger = logging.getLogger(__name__)

MODEL_CONFIG_NAME = "extra_models_config.yaml"
APP_CONFIG_NAME = "config.json"
MAX_CONFIG_BYTES = 1024 * 1024
"""The app's files are a few hundred bytes; a larger one is not the app's."""

_BASE_PATH_LINE = re.compile(r"^\s+base_path:\s*(.+?)\s*$", re.M)


@dataclass(frozen=True)
class DesktopInstall:
    """What the desktop app's data folder says: ``model_config``, the extra model paths
    file it starts ComfyUI with, and ``base``, the folder holding models, custom nodes,
    inputs and the user folder."""

    model_config: Path
    base: Path


def app_data_folder(environ: Mapping[str, str], home_dir: Path, platform: str) -> Path:
    """Return the desktop app's own data folder (Electron's ``userData``):
    ``%APPDATA%\\ComfyUI`` on Windows, ``~/Library/Application Support/ComfyUI`` on
    macOS, ``$XDG_CONFIG_HOME/ComfyUI`` (``~/.config/ComfyUI``) elsewhere. It need not
    exist."""
    if platform.startswith("win"):
        roaming = environ.get("APPDATA")
        base = Path(roaming) if roaming else home_dir / "AppData" / "Roaming"
        return base / "ComfyUI"
    if platform == "darwin":
        return home_dir / "Library" / "Application Support" / "ComfyUI"
    # Electron's appData on Linux: $XDG_CONFIG_HOME when set (and absolute), else ~/.config.
    config_home = environ.get("XDG_CONFIG_HOME", "")
    if config_home and os.path.isabs(config_home):
        return Path(config_home) / "ComfyUI"
    return home_dir / ".config" / "ComfyUI"


def app_code_folders(environ: Mapping[str, str], home_dir: Path, platform: str) -> tuple[Path, ...]:
    """Return where the desktop app keeps ComfyUI's code (``main.py``), most likely
    first: its per-user installation on Windows, the application bundle on macOS."""
    if platform.startswith("win"):
        local = environ.get("LOCALAPPDATA")
        programs = (Path(local) if local else home_dir / "AppData" / "Local") / "Programs"
        return tuple(
            programs / name / "resources" / "ComfyUI"
            for name in ("@comfyorgcomfyui-electron", "comfyui-electron", "ComfyUI")
        )
    if platform == "darwin":
        return tuple(
            folder / "ComfyUI.app" / "Contents" / "Resources" / "ComfyUI"
            for folder in (Path("/Applications"), home_dir / "Applications")
        )
    return ()


def is_app_code_folder(root: Path) -> bool:
    """Return whether ``root`` is ComfyUI's code inside the desktop app: a ``ComfyUI``
    folder in an Electron app's ``resources`` (``Resources`` in a macOS bundle)."""
    parts = [part.lower() for part in Path(os.path.abspath(root)).parts]
    return len(parts) >= 3 and parts[-1] == "comfyui" and parts[-2] == "resources"


def read_desktop_install(
    data_folder: Path, environ: Mapping[str, str], home_dir: Path
) -> DesktopInstall | None:
    """Return what the app's data folder says (:class:`DesktopInstall`), or None when it
    holds no ``extra_models_config.yaml`` or neither file names an existing base folder.
    ``basePath`` of ``config.json`` first, else the model config's ``base_path``
    (``~`` is ``home_dir``; ``%VAR%`` and ``$VAR`` from ``environ``). Never raises: an
    unreadable file is logged and counts as absent."""
    model_config = data_folder / MODEL_CONFIG_NAME
    if not model_config.is_file():
        return None
    for written in (_app_base(data_folder / APP_CONFIG_NAME), _model_config_base(model_config)):
        if not written:
            continue
        base = expand_user(Path(_expanded(written, environ)), home_dir)
        if base.is_absolute() and base.is_dir():
            return DesktopInstall(model_config, Path(os.path.abspath(base)))
    logger.info("The desktop app's %s names no existing base folder.", data_folder)
    return None


def _app_base(config: Path) -> str | None:
    text = _read_text(config)
    if text is None:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        logger.info("The desktop app's %s is not JSON; its basePath is not read.", config)
        return None
    value = document.get("basePath") if isinstance(document, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def _model_config_base(config: Path) -> str | None:
    # The first base_path the app wrote; the file's full reading, entries and all, is
    # extra_model_paths' (it is one of the install's extra model paths files).
    text = _read_text(config)
    found = _BASE_PATH_LINE.search(text) if text is not None else None
    return found.group(1).strip("'\"") if found else None


def _read_text(path: Path) -> str | None:
    try:
        return read_regular(path, MAX_CONFIG_BYTES).decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        logger.info("The desktop app's %s cannot be read (%s).", path, error)
        return None


def _expanded(text: str, environ: Mapping[str, str]) -> str:
    # The app writes %USERPROFILE% in its Windows template; a person may write $HOME.
    text = re.sub(r"%([^%]+)%", lambda m: environ.get(m.group(1), m.group(0)), text)
    return re.sub(
        r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: environ.get(m.group(1), m.group(0)), text
    )
