"""Pinokio (pinokiocomputer/pinokiod): the ComfyUI apps in its home folder.

Read from its source and the ComfyUI script it installs (``kernel/store.js``,
``kernel/index.js``; cocktailpeanut/comfy.pinokio's ``install.js`` and ``start.js``):

- Pinokio keeps its settings in ``~/.pinokio/config.json`` (the home folder of the
  person, on every system); its ``home`` key names the Pinokio home folder, else the
  ``PINOKIO_HOME`` variable does.
- Each app is a folder of ``<Pinokio home>/api``; the ComfyUI script clones ComfyUI into
  the app's ``app`` folder and starts ``python main.py --enable-manager`` there, with no
  folder option.
- It shares model folders by linking its drive into ``app/models/<folder>``
  (``fs.link``): whatever those folders hold, through links or not, is what ComfyUI reads
  and what the model scan reads; nothing more is read here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from watchman.comfy.launcher_files import (
    LauncherInstall,
    LauncherScan,
    absolute_folder,
    read_json_file,
    shown_name,
    string_field,
)
from watchman.errors import LauncherFileError

LAUNCHER = "Pinokio"
SETTINGS_FOLDER = ".pinokio"
SETTINGS_NAME = "config.json"
HOME_VARIABLE = "PINOKIO_HOME"
APPS_FOLDER = "api"
CODE_FOLDER = "app"
MAX_APPS = 1_000
"""The most app folders looked at: real homes hold tens."""


def scan_pinokio(environ: Mapping[str, str], home_dir: Path) -> LauncherScan:
    """Return the ``app`` folder of every app in Pinokio's home (:class:`LauncherScan`),
    by app folder name; whether one holds ComfyUI is the caller's test. Never raises."""
    settings = home_dir / SETTINGS_FOLDER / SETTINGS_NAME
    try:
        document = read_json_file(settings, f"{LAUNCHER}'s settings")
    except LauncherFileError as error:
        return LauncherScan(problems=(str(error),))
    written = string_field(document, "home") if isinstance(document, dict) else None
    origin_file = str(settings)
    if written is None and environ.get(HOME_VARIABLE, "").strip():
        written, origin_file = environ[HOME_VARIABLE], HOME_VARIABLE
    if written is None:
        return LauncherScan()
    pinokio_home = absolute_folder(written, home_dir)
    if pinokio_home is None:
        return LauncherScan(
            problems=(f"{LAUNCHER}'s home in {origin_file} is not an absolute folder.",)
        )
    apps = pinokio_home / APPS_FOLDER
    installs = tuple(
        LauncherInstall(
            apps / name / CODE_FOLDER,
            f"{LAUNCHER}'s app {shown_name(name)} in {apps}",
            is_listed_as_comfyui=False,
        )
        for name in _app_names(apps)
    )
    return LauncherScan(installs)


def _app_names(apps: Path) -> list[str]:
    names = []
    try:
        with os.scandir(apps) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_APPS:
                    break
                names.append(entry.name)
    except OSError:
        return []
    return sorted(names)
