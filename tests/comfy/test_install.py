"""Finding ComfyUI: an explicit root must be one; otherwise comfy-cli, then usual folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.named_pipes import finishes, needs_fifo
from watchman.comfy.install import (
    base_directory,
    comfy_cli_config_files,
    comfy_cli_workspaces,
    is_comfyui_root,
    locate_comfyui_root,
)
from watchman.errors import ComfyUINotFoundError


def _make_comfyui(folder: Path) -> Path:
    (folder / "comfy").mkdir(parents=True)
    (folder / "main.py").write_text("", encoding="utf-8")
    (folder / "nodes.py").write_text("", encoding="utf-8")
    return folder


def _write_comfy_cli_config(config_file: Path, **keys: str) -> None:
    config_file.parent.mkdir(parents=True, exist_ok=True)
    lines = ["[DEFAULT]"] + [f"{key} = {value}" for key, value in keys.items()]
    config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_root_needs_main_py_nodes_py_and_the_comfy_package(tmp_path):
    root = _make_comfyui(tmp_path / "ComfyUI")
    assert is_comfyui_root(root)
    (root / "nodes.py").unlink()
    assert not is_comfyui_root(root)
    assert not is_comfyui_root(tmp_path / "absent")


def test_an_explicit_root_is_used_when_it_is_comfyui(tmp_path, home, cwd):
    root = _make_comfyui(tmp_path / "mine")
    _make_comfyui(home / "ComfyUI")
    assert root_of(root, {}, home, cwd=cwd) == root


def test_an_explicit_folder_that_is_not_comfyui_says_what_it_lacks_and_how_to_set_it(
    tmp_path, home, cwd
):
    not_comfy = tmp_path / "not_comfy"
    (not_comfy / "comfy").mkdir(parents=True)
    _make_comfyui(home / "ComfyUI")  # detection must not paper over a wrong explicit root
    with pytest.raises(ComfyUINotFoundError) as raised:
        root_of(not_comfy, {}, home, cwd=cwd)
    message = str(raised.value)
    assert "main.py, nodes.py" in message
    assert "--comfyui-root" in message and "COMFYUI_ROOT" in message
    assert "comfyui.root" in message


def test_an_explicit_folder_that_does_not_exist_is_an_error(tmp_path, home, cwd):
    with pytest.raises(ComfyUINotFoundError, match="does not exist"):
        root_of(tmp_path / "nowhere", {}, home, cwd=cwd)


def test_comfy_cli_default_workspace_is_found_on_linux(tmp_path, home, cwd):
    workspace = _make_comfyui(tmp_path / "ws" / "ComfyUI")
    _make_comfyui(home / "ComfyUI")
    _write_comfy_cli_config(
        home / ".config" / "comfy-cli" / "config.ini", default_workspace=str(workspace)
    )
    assert root_of(None, {}, home, cwd=cwd, platform="linux") == workspace


def test_a_comfy_cli_workspace_may_be_the_folder_above_comfyui(tmp_path, home, cwd):
    workspace = tmp_path / "ws"
    _make_comfyui(workspace / "ComfyUI")
    _write_comfy_cli_config(
        home / "Library" / "Application Support" / "comfy-cli" / "config.ini",
        recent_workspace=str(workspace),
    )
    found = root_of(None, {}, home, cwd=cwd, platform="darwin")
    assert found == workspace / "ComfyUI"


def test_comfy_cli_config_lives_in_localappdata_on_windows(tmp_path, home):
    local = tmp_path / "Local"
    files = comfy_cli_config_files({"LOCALAPPDATA": str(local)}, home, platform="win32")
    assert files[0] == local / "comfy-cli" / "config.ini"
    assert home / "AppData" / "Local" / "comfy-cli" / "config.ini" in files


def test_xdg_config_home_is_also_searched_on_linux(tmp_path, home):
    files = comfy_cli_config_files({"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, home, "linux")
    assert files == (
        home / ".config" / "comfy-cli" / "config.ini",
        tmp_path / "xdg" / "comfy-cli" / "config.ini",
    )


def test_a_broken_comfy_cli_config_is_ignored(tmp_path, home, cwd):
    config_file = home / ".config" / "comfy-cli" / "config.ini"
    config_file.parent.mkdir(parents=True)
    config_file.write_text("default_workspace = no section header\n", encoding="utf-8")
    assert comfy_cli_workspaces(config_file) == ()
    root = _make_comfyui(home / "ComfyUI")
    assert root_of(None, {}, home, cwd=cwd, platform="linux") == root


@needs_fifo
def test_a_pipe_in_place_of_the_comfy_cli_config_is_ignored_at_once(tmp_path):
    pipe = tmp_path / "config.ini"
    os.mkfifo(pipe)
    assert finishes(lambda: comfy_cli_workspaces(pipe), [pipe]) == ()


@pytest.mark.parametrize(
    "relative",
    ["ComfyUI", "comfy/ComfyUI", "Documents/ComfyUI", "ComfyUI_windows_portable/ComfyUI"],
)
def test_common_home_folders_are_detected(home, cwd, relative):
    root = _make_comfyui(home / relative)
    assert root_of(None, {}, home, cwd=cwd, platform="linux") == root


def test_the_current_folder_and_its_comfyui_child_come_first(home, cwd):
    _make_comfyui(home / "ComfyUI")
    child = _make_comfyui(cwd / "ComfyUI")
    assert root_of(None, {}, home, cwd=cwd, platform="linux") == child
    _make_comfyui(cwd)
    assert root_of(None, {}, home, cwd=cwd, platform="linux") == cwd


def test_nothing_found_says_how_to_set_the_root(home, cwd):
    with pytest.raises(ComfyUINotFoundError) as raised:
        root_of(None, {}, home, cwd=cwd, platform="linux")
    assert "No ComfyUI install was found" in str(raised.value)
    assert "--comfyui-root" in str(raised.value)


def test_the_base_directory_is_the_root_unless_one_is_set(tmp_path: Path) -> None:
    root = tmp_path / "ComfyUI"
    (root / "data").mkdir(parents=True)
    (tmp_path / "home" / "comfy-data").mkdir(parents=True)
    assert base_directory(None, root, tmp_path / "home") == root
    assert base_directory(Path("data"), root, tmp_path / "home") == root / "data"
    assert base_directory(Path("../ComfyUI/data"), root, tmp_path) == root / "data"
    home_base = base_directory(Path("~/comfy-data"), root, tmp_path / "home")
    assert home_base == tmp_path / "home" / "comfy-data"


def test_a_base_directory_that_does_not_exist_says_so_and_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ComfyUINotFoundError) as raised:
        base_directory(Path("nowhere"), tmp_path, tmp_path)
    assert "comfyui.base_directory" in str(raised.value)
    assert str(tmp_path / "nowhere") in str(raised.value)


def root_of(*arguments: Any, **options: Any) -> Path:
    """The root :func:`locate_comfyui_root` chooses (how it chose is tested apart)."""
    return locate_comfyui_root(*arguments, **options)[0]
