"""The ComfyUI desktop app's layout: code inside the app, files in the person's folder."""

from __future__ import annotations

import json
from pathlib import Path

from watchman.comfy.desktop import (
    app_code_folders,
    app_data_folder,
    is_app_code_folder,
    read_desktop_install,
)
from watchman.comfy.install import detect_comfyui_root, install_layout

TEMPLATE = """# ComfyUI extra_model_paths.yaml for {platform}
comfyui:
  base_path: {base}
  is_default: true
  checkpoints: models/checkpoints/
  custom_nodes: custom_nodes/
"""


def app_files(data_folder: Path, yaml_base: str, json_base: str | None = None) -> None:
    data_folder.mkdir(parents=True, exist_ok=True)
    (data_folder / "extra_models_config.yaml").write_text(
        TEMPLATE.format(platform="win32", base=yaml_base), encoding="utf-8"
    )
    if json_base is not None:
        (data_folder / "config.json").write_text(
            json.dumps({"installState": "installed", "basePath": json_base}), encoding="utf-8"
        )


def code_folder(parent: Path) -> Path:
    root = parent / "resources" / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("", encoding="utf-8")
    (root / "nodes.py").write_text("", encoding="utf-8")
    return root


def test_the_apps_folders_on_each_platform(tmp_path: Path) -> None:
    environ = {
        "APPDATA": "C:/Users/me/AppData/Roaming",
        "LOCALAPPDATA": "C:/Users/me/AppData/Local",
    }
    assert app_data_folder(environ, tmp_path, "win32") == Path(
        "C:/Users/me/AppData/Roaming/ComfyUI"
    )
    assert (
        app_data_folder({}, tmp_path, "darwin") == tmp_path / "Library/Application Support/ComfyUI"
    )
    assert app_data_folder({}, tmp_path, "linux") == tmp_path / ".config/ComfyUI"
    assert app_data_folder({"XDG_CONFIG_HOME": "/conf"}, tmp_path, "linux") == Path("/conf/ComfyUI")
    windows = app_code_folders(environ, tmp_path, "win32")
    assert windows[0] == Path(
        "C:/Users/me/AppData/Local/Programs/@comfyorgcomfyui-electron/resources/ComfyUI"
    )
    assert Path("/Applications/ComfyUI.app/Contents/Resources/ComfyUI") in app_code_folders(
        {}, tmp_path, "darwin"
    )
    assert app_code_folders({}, tmp_path, "linux") == ()


def test_comfyuis_code_inside_an_app_is_told_from_a_plain_install() -> None:
    assert is_app_code_folder(Path("/x/Programs/comfyui-electron/resources/ComfyUI"))
    assert is_app_code_folder(Path("/Applications/ComfyUI.app/Contents/Resources/ComfyUI"))
    assert not is_app_code_folder(Path("/home/me/ComfyUI"))
    assert not is_app_code_folder(Path("/home/me/resources/other"))


def test_the_base_folder_comes_from_config_json_else_the_model_config(tmp_path: Path) -> None:
    first, second = tmp_path / "chosen", tmp_path / "written"
    first.mkdir()
    second.mkdir()
    data = tmp_path / "data"
    app_files(data, str(second), str(first))
    install = read_desktop_install(data, {}, tmp_path)
    assert install is not None and install.base == first
    assert install.model_config == data / "extra_models_config.yaml"
    (data / "config.json").write_text("{not json", encoding="utf-8")
    install = read_desktop_install(data, {}, tmp_path)
    assert install is not None and install.base == second


def test_the_windows_templates_variables_and_a_home_are_expanded(tmp_path: Path) -> None:
    (tmp_path / "profile" / "comfyui-electron").mkdir(parents=True)
    data = tmp_path / "data"
    app_files(data, "%USERPROFILE%/comfyui-electron")
    install = read_desktop_install(data, {"USERPROFILE": str(tmp_path / "profile")}, tmp_path)
    assert install is not None and install.base == tmp_path / "profile" / "comfyui-electron"
    app_files(data, "~/profile/comfyui-electron")
    install = read_desktop_install(data, {}, tmp_path)
    assert install is not None and install.base == tmp_path / "profile" / "comfyui-electron"


def test_no_model_config_or_no_existing_base_folder_is_no_desktop_install(tmp_path: Path) -> None:
    assert read_desktop_install(tmp_path / "nothing", {}, tmp_path) is None
    data = tmp_path / "data"
    app_files(data, str(tmp_path / "gone"), str(tmp_path / "gone too"))
    assert read_desktop_install(data, {}, tmp_path) is None
    app_files(data, "relative/path")
    assert read_desktop_install(data, {}, tmp_path) is None


def test_an_install_inside_the_app_is_laid_out_as_the_app_starts_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    base = tmp_path / "Documents" / "ComfyUI"
    base.mkdir(parents=True)
    data = home / ".config" / "ComfyUI"
    app_files(data, str(base))
    root = code_folder(tmp_path / "app")
    mine = tmp_path / "mine.yaml"
    layout = install_layout(root, None, [mine], {}, home, "linux")
    assert layout.base == base
    assert layout.extra_model_paths == (mine, data / "extra_models_config.yaml")
    assert layout.desktop == data
    # The app does not move ComfyUI's own models/ and custom_nodes/ (no --base-directory).
    assert layout.models_root == root
    # Named in the settings already: read once.
    named = install_layout(root, None, [data / "extra_models_config.yaml"], {}, home, "linux")
    assert named.extra_model_paths == (data / "extra_models_config.yaml",)
    # A base directory set by hand wins; a plain install keeps its own folder.
    (tmp_path / "elsewhere").mkdir()
    by_hand = install_layout(root, tmp_path / "elsewhere", [], {}, home, "linux")
    assert by_hand.base == by_hand.models_root == tmp_path / "elsewhere"
    plain = tmp_path / "ComfyUI"
    assert install_layout(plain, None, [], {}, home, "linux") == install_layout(
        plain, None, [], {}, tmp_path / "nobody", "linux"
    )
    assert install_layout(plain, None, [], {}, home, "linux").base == plain


def test_the_apps_code_folder_is_detected_last(tmp_path: Path) -> None:
    local = tmp_path / "Local"
    root = code_folder(local / "Programs" / "@comfyorgcomfyui-electron")
    found = detect_comfyui_root(
        {"LOCALAPPDATA": str(local)}, tmp_path / "home", cwd=tmp_path / "cwd", platform="win32"
    )
    assert found == (root, "the ComfyUI desktop app")
