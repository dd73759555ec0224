"""The settings model: its defaults, its rules, and the docs rendered from it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from watchman.config import Settings, iter_fields
from watchman.config_docs import env_variable, render_configuration_markdown, render_default_toml
from watchman.config_loading import load_settings
from watchman.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_match_the_issue(tmp_path: Path) -> None:
    settings = load_settings(environ={"HOME": str(tmp_path)})
    assert settings.schedule.interval_minutes == 120
    assert settings.schedule.require_gpu is False
    assert settings.search.backend_order == ["qwen", "civitai"]
    assert [(f.path.as_posix(), f.source) for f in settings.workflows.folders] == [
        ("user/default/workflows", "comfyui")
    ]


def test_a_watched_folder_may_be_a_bare_path_or_leave_its_label_out(tmp_path: Path) -> None:
    config = write(
        tmp_path / "c.toml",
        "[workflows]\n"
        'folders = ["~/Downloads/workflows/", { path = "/srv/shared" }, '
        '{ path = "/srv/team", source = "team" }]\n',
    )
    folders = load_settings(config, environ={}).workflows.folders
    assert [(f.path.as_posix(), f.source) for f in folders] == [
        ("~/Downloads/workflows", "workflows"),
        ("/srv/shared", "shared"),
        ("/srv/team", "team"),
    ]


def test_a_watched_folder_from_the_environment_takes_windows_paths_too() -> None:
    environ = {"COMFYWATCHMAN_WORKFLOWS__FOLDERS": '["D:\\\\ComfyUI\\\\my flows"]'}
    (folder,) = load_settings(environ=environ).workflows.folders
    assert folder.source == "my flows"


def test_an_empty_label_is_still_refused(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", '[workflows]\nfolders = [{ path = "/x", source = "" }]\n')
    with pytest.raises(ConfigError, match=r"workflows\.folders\.0\.source"):
        load_settings(config, environ={})


def test_an_unknown_backend_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", '[search]\nbackend_order = ["qwen", "bing"]\n')
    with pytest.raises(ConfigError, match=r"search\.backend_order"):
        load_settings(config, environ={})


def test_the_shipped_default_toml_is_the_rendering_of_the_model() -> None:
    shipped = (REPO / "config" / "default.toml").read_text(encoding="utf-8")
    assert shipped == render_default_toml(), (
        "run: comfywatchman config --default > config/default.toml"
    )


def test_the_shipped_default_toml_loads_to_the_defaults(tmp_path: Path) -> None:
    loaded = load_settings(REPO / "config" / "default.toml", environ={})
    assert loaded.model_dump() == load_settings(environ={}).model_dump()


def test_every_key_is_documented_in_default_toml_and_configuration_md() -> None:
    toml_text = (REPO / "config" / "default.toml").read_text(encoding="utf-8")
    docs = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert docs == render_configuration_markdown()
    parsed = tomllib.loads(toml_text)
    for path, info in iter_fields(Settings):
        assert info.description, f"{'.'.join(path)} has no description"
        assert env_variable(path[:-1], path[-1]) in toml_text
        assert f"`{path[-1]}`" in docs
        section = parsed
        for part in path[:-1]:
            section = section[part]
        # Unset keys are shown commented out; every other key is present with its value.
        assert path[-1] in section or f"# {path[-1]} =" in toml_text
