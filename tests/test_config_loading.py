"""Loading the settings: the layers, the files and variables read, and the error sentences."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from watchman.config_loading import config_source, load_settings
from watchman.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_overrides_defaults_and_the_environment_overrides_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[schedule]\ninterval_minutes = 30\nmin_vram_gb = 2\n")
    environ = {"COMFYWATCHMAN_SCHEDULE__MIN_VRAM_GB": "6"}
    settings = load_settings(config, environ=environ)
    assert settings.schedule.interval_minutes == 30
    assert settings.schedule.min_vram_gb == 6


def test_command_line_flags_are_the_strongest_layer(tmp_path: Path) -> None:
    environ = {"COMFYWATCHMAN_SEARCH__BACKEND_ORDER": '["civitai"]'}
    settings = load_settings(
        overrides={"search": {"backend_order": ["huggingface"]}}, environ=environ
    )
    assert settings.search.backend_order == ["huggingface"]


def test_the_config_file_can_be_named_by_variable(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[schedule]\ninterval_minutes = 15\n")
    settings = load_settings(environ={"COMFYWATCHMAN_CONFIG": str(config)})
    assert settings.schedule.interval_minutes == 15


def test_the_user_config_file_is_read_when_nothing_else_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "xdg" / "comfywatchman"
    folder.mkdir(parents=True)
    write(folder / "config.toml", "[schedule]\ninterval_minutes = 45\n")
    settings = load_settings(environ={}, config_dir=folder)
    assert settings.schedule.interval_minutes == 45
    assert config_source(settings) == folder / "config.toml"


def test_no_user_config_file_is_read_unless_its_folder_is_given(tmp_path: Path) -> None:
    # The process's home holds a config (the autouse fixture made HOME a temporary folder).
    own = Path(os.environ["HOME"]) / ".config" / "comfywatchman"
    own.mkdir(parents=True)
    write(own / "config.toml", "[schedule]\ninterval_minutes = 45\n")
    settings = load_settings(environ={"HOME": os.environ["HOME"]})
    assert settings.schedule.interval_minutes == 120
    assert config_source(settings) is None


def test_variables_are_read_from_the_mapping_given_never_from_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMFYWATCHMAN_SCHEDULE__INTERVAL_MINUTES", "7")
    assert load_settings(environ={}).schedule.interval_minutes == 120
    given = {"COMFYWATCHMAN_SCHEDULE__INTERVAL_MINUTES": "9"}
    assert load_settings(environ=given).schedule.interval_minutes == 9


class _WatchedEnviron(dict):  # type: ignore[type-arg]
    """Stands in for os.environ and remembers any change made to it."""

    changed = False

    def __setitem__(self, key: str, value: str) -> None:
        self.changed = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.changed = True
        super().__delitem__(key)

    def clear(self) -> None:
        self.changed = True
        super().clear()

    def update(self, *args: object, **kwargs: object) -> None:
        self.changed = True
        super().update(*args, **kwargs)  # type: ignore[arg-type]


def test_loading_settings_never_changes_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another thread reading os.environ mid-load must never see it emptied or replaced.
    watched = _WatchedEnviron(os.environ)
    monkeypatch.setattr(os, "environ", watched)
    load_settings(environ={"COMFYWATCHMAN_SCHEDULE__INTERVAL_MINUTES": "9"})
    assert not watched.changed


def test_comfyui_root_and_tokens_are_read_from_their_well_known_variables() -> None:
    settings = load_settings(
        environ={"COMFYUI_ROOT": "/opt/ComfyUI", "CIVITAI_API_TOKEN": "t1", "HF_TOKEN": "t2"}
    )
    assert settings.comfyui.root == Path("/opt/ComfyUI")
    assert settings.civitai.api_token is not None
    assert settings.civitai.api_token.get_secret_value() == "t1"
    assert "t1" not in repr(settings)


def test_the_prefixed_variable_wins_over_the_well_known_one() -> None:
    settings = load_settings(environ={"COMFYUI_ROOT": "/a", "COMFYWATCHMAN_COMFYUI__ROOT": "/b"})
    assert settings.comfyui.root == Path("/b")


def test_a_wrong_value_in_a_file_names_the_key_and_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", '[schedule]\nmin_vram_gb = "lots"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    message = str(caught.value)
    assert "schedule.min_vram_gb" in message
    assert str(config) in message
    assert "\n" not in message


def test_a_wrong_value_in_a_variable_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"COMFYWATCHMAN_SCHEDULE__INTERVAL_MINUTES": "-5"})
    assert "COMFYWATCHMAN_SCHEDULE__INTERVAL_MINUTES" in str(caught.value)
    assert "greater than 0" in str(caught.value)


def test_an_unknown_key_is_an_error_not_silence(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[schedule]\nintervall_minutes = 5\n")
    with pytest.raises(ConfigError, match=r"Unknown config key schedule\.intervall_minutes"):
        load_settings(config, environ={})


def test_a_file_that_is_not_toml_gets_one_sentence(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[schedule\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(config, environ={})


def test_a_file_nesting_too_deeply_for_the_toml_reader_gets_one_sentence(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "c.toml", "x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError, match="nests arrays or tables too deeply"):
        load_settings(config, environ={})


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_a_list_variable_that_is_not_json_names_the_variable_and_the_form() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"COMFYWATCHMAN_SEARCH__BACKEND_ORDER": "qwen,civitai"})
    message = str(caught.value)
    assert "COMFYWATCHMAN_SEARCH__BACKEND_ORDER" in message and "JSON" in message


def test_a_list_variable_written_as_json_is_read() -> None:
    settings = load_settings(environ={"COMFYWATCHMAN_SEARCH__BACKEND_ORDER": '["civitai"]'})
    assert settings.search.backend_order == ["civitai"]


def test_an_unknown_key_in_a_section_variable_names_the_variable(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[schedule]\ninterval_minutes = 5\n")
    with pytest.raises(ConfigError, match="variable COMFYWATCHMAN_SCHEDULE"):
        load_settings(config, environ={"COMFYWATCHMAN_SCHEDULE": '{"x": 1}'})


def test_an_unknown_backend_is_refused_by_one_rule_whether_flag_or_variable() -> None:
    with pytest.raises(ConfigError) as from_flag:
        load_settings(overrides={"search": {"backend_order": ["qwen", "bing"]}}, environ={})
    assert "--backends" in str(from_flag.value) and "'civitai'" in str(from_flag.value)
    with pytest.raises(ConfigError) as from_variable:
        load_settings(environ={"COMFYWATCHMAN_SEARCH__BACKEND_ORDER": '["bing"]'})
    assert "COMFYWATCHMAN_SEARCH__BACKEND_ORDER" in str(from_variable.value)
    assert "'civitai'" in str(from_variable.value)
