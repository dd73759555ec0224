"""Pinokio's ComfyUI apps: its home folder, named in ~/.pinokio/config.json."""

from __future__ import annotations

import json
from pathlib import Path

from watchman.comfy.install import detect_comfyui_installs, install_layout
from watchman.comfy.pinokio import scan_pinokio


def make_comfyui(folder: Path) -> Path:
    (folder / "comfy").mkdir(parents=True)
    (folder / "main.py").write_text("", encoding="utf-8")
    (folder / "nodes.py").write_text("", encoding="utf-8")
    return folder


def write_settings(home: Path, text: str) -> Path:
    settings = home / ".pinokio" / "config.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(text, encoding="utf-8")
    return settings


def test_comfyui_apps_are_found_in_the_home_its_settings_name_and_others_pass_silently(
    home: Path, cwd: Path
) -> None:
    pinokio_home = home / "pinokio"
    write_settings(home, json.dumps({"home": str(pinokio_home), "theme": "dark"}))
    apps = pinokio_home / "api"
    comfy = make_comfyui(apps / "comfy.git" / "app")
    (apps / "facefusion.git" / "app").mkdir(parents=True)  # another kind of app
    (apps / "notes.txt").write_text("", encoding="utf-8")
    detection = detect_comfyui_installs({}, home, cwd=cwd, platform="win32")
    assert detection.found == ((comfy, f"Pinokio's app 'comfy.git' in {apps}"),)
    assert detection.problems == ()
    # Its models are linked into app/models, read as ComfyUI reads them: nothing is added.
    assert install_layout(comfy, None, [], {}, home, "win32").extra_model_paths == ()


def test_the_pinokio_home_variable_counts_when_the_settings_name_no_home(
    home: Path, cwd: Path
) -> None:
    comfy = make_comfyui(home / "elsewhere" / "api" / "comfyui.git" / "app")
    environ = {"PINOKIO_HOME": str(home / "elsewhere")}
    (install,) = scan_pinokio(environ, home).installs
    assert install.root == comfy
    write_settings(home, json.dumps({"home": str(home / "other")}))
    assert scan_pinokio(environ, home).installs == ()


def test_a_broken_settings_file_or_a_relative_home_is_one_sentence(home: Path) -> None:
    settings = write_settings(home, "{")
    assert scan_pinokio({}, home).problems == (
        f"Pinokio's settings {settings} is not JSON; its entries are not read.",
    )
    write_settings(home, json.dumps({"home": "pinokio"}))
    assert scan_pinokio({}, home).problems == (
        f"Pinokio's home in {settings} is not an absolute folder.",
    )
    assert scan_pinokio({}, home / "nobody").problems == ()


def test_a_home_no_folder_can_have_is_refused_not_raised(home: Path) -> None:
    write_settings(home, json.dumps({"home": "/pinokio\u0000home"}))
    (problem,) = scan_pinokio({}, home).problems
    assert "is not an absolute folder" in problem
