"""The settings memo: validated settings kept for a cron cycle's quick start, read back as a
view that answers as the settings model does, for exactly the sources they came from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from watchman.config import Settings, iter_fields
from watchman.config_loading import load_settings
from watchman.environment import Environment
from watchman.home import Home
from watchman.state import settings_memo
from watchman.state.settings_memo import (
    SettingsNeeded,
    SettingsView,
    read_memo,
    read_sources,
    settings_identity,
    write_memo,
)

TOKEN = "civitai-token-that-must-never-be-written"


def _environment(tmp_path: Path, **variables: str) -> Environment:
    return Environment(environ=variables, home_dir=tmp_path / "user", cwd=tmp_path)


def _config(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "\n".join(
            [
                "[paths]",
                f'home = "{(tmp_path / "home").as_posix()}"',
                "[comfyui]",
                'root = "/comfy"',
                'extra_model_paths = ["/a.yaml", "/b.yaml"]',
                "[[workflows.folders]]",
                'path = "/flows"',
                "[search]",
                'backend_order = ["civitai", "qwen"]',
                "[schedule]",
                "min_vram_gb = 3.5",
                *lines,
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


def _load(config: Path, environment: Environment) -> Settings:
    return load_settings(config, {}, environment.environ, config_dir=environment.user_config_dir)


def _kept(
    tmp_path: Path, *lines: str, **variables: str
) -> tuple[Settings, SettingsView, settings_memo.Sources]:
    environment = _environment(tmp_path, **variables)
    config = _config(tmp_path, *lines)
    settings = _load(config, environment)
    sources = read_sources(config, {}, environment)
    assert sources is not None
    write_memo(sources.home, sources, settings)
    view = read_memo(sources)
    assert view is not None
    return settings, view, sources


def _value(settings: Any, key: tuple[str, ...]) -> Any:
    for part in key:
        settings = getattr(settings, part)
    return settings


def _same(model_value: Any, view_value: Any) -> bool:
    if hasattr(type(model_value), "model_fields"):
        return all(
            _same(getattr(model_value, name), getattr(view_value, name))
            for name in type(model_value).model_fields
        )
    if isinstance(model_value, list):
        return len(model_value) == len(view_value) and all(
            _same(a, b) for a, b in zip(model_value, view_value, strict=True)
        )
    return type(model_value) is type(view_value) and model_value == view_value


def test_the_view_answers_every_setting_as_the_model_does(tmp_path: Path) -> None:
    settings, view, _ = _kept(tmp_path)
    for key, _info in iter_fields(Settings):
        if hasattr(_value(settings, key), "get_secret_value"):
            continue  # a secret: the next test
        assert _same(_value(settings, key), _value(view, key)), key
    assert view.identity == settings_identity(settings)
    assert view._config_source == settings._config_source


def test_a_secret_is_withheld_and_asking_for_it_means_validating(tmp_path: Path) -> None:
    settings, view, sources = _kept(tmp_path, CIVITAI_API_TOKEN=TOKEN)
    assert settings.civitai.api_token is not None
    memo = (sources.home.state_dir / settings_memo.FILE_NAME).read_bytes()
    assert TOKEN.encode() not in memo
    with pytest.raises(SettingsNeeded):
        view.civitai.api_token.get_secret_value()
    with pytest.raises(SettingsNeeded):
        bool(view.civitai.api_token)
    assert view.huggingface.token is None  # not set: nothing to withhold


def test_a_new_token_is_a_new_identity_though_the_memo_holds_none(tmp_path: Path) -> None:
    first = settings_identity(_kept(tmp_path, CIVITAI_API_TOKEN="one")[1])
    second = settings_identity(_kept(tmp_path, CIVITAI_API_TOKEN="two")[1])
    assert first != second


def test_a_setting_the_memo_lacks_means_validating_and_the_view_is_read_only(
    tmp_path: Path,
) -> None:
    _, view, _ = _kept(tmp_path)
    with pytest.raises(SettingsNeeded):
        _ = view.schedule.a_setting_of_a_later_version
    with pytest.raises(AttributeError):
        view.schedule.min_vram_gb = 0
    # A protocol's question (copy, pickle) is no setting: answered as on any object.
    assert not hasattr(view.schedule, "__deepcopy__")


@pytest.mark.parametrize(
    ("change", "variables"),
    [
        ("the file's bytes", {}),
        ("a setting's variable, in any case", {"comfywatchman_Schedule__Min_Vram_GB": "6"}),
        ("a well-known variable", {"COMFYUI_ROOT": "/other"}),
        ("the variable naming the home", {"COMFYWATCHMAN_HOME": "/elsewhere"}),
    ],
)
def test_any_change_of_the_sources_is_another_digest(
    tmp_path: Path, change: str, variables: dict[str, str]
) -> None:
    config = _config(tmp_path)
    before = read_sources(config, {}, _environment(tmp_path))
    if change == "the file's bytes":
        config.write_text(config.read_text() + "# a comment\n")
    after = read_sources(config, {}, _environment(tmp_path, **variables))
    assert before is not None and after is not None
    assert before.digest != after.digest


def test_flags_and_the_file_chosen_are_sources_too(tmp_path: Path) -> None:
    config = _config(tmp_path)
    environment = _environment(tmp_path)
    plain = read_sources(config, {}, environment)
    flagged = read_sources(config, {"search": {"offline": True}}, environment)
    copy = tmp_path / "copy.toml"
    copy.write_bytes(config.read_bytes())
    elsewhere = read_sources(copy, {}, environment)
    assert plain is not None and flagged is not None and elsewhere is not None
    assert len({plain.digest, flagged.digest, elsewhere.digest}) == 3


def test_an_edited_settings_module_is_another_digest_though_the_version_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A working copy's settings default changes without a version bump."""
    schema = tmp_path / "config.py"
    schema.write_text("min_vram_gb = 4.0\n")
    monkeypatch.setattr(settings_memo, "SCHEMA_SOURCE", schema)
    config = _config(tmp_path)
    before = read_sources(config, {}, _environment(tmp_path))
    schema.write_text("min_vram_gb = 8.0\n")
    os.utime(schema, ns=(1, 1))
    after = read_sources(config, {}, _environment(tmp_path))
    monkeypatch.setattr(settings_memo, "SCHEMA_SOURCE", tmp_path / "absent.py")
    unseen = read_sources(config, {}, _environment(tmp_path))
    assert before is not None and after is not None and unseen is not None
    assert len({before.digest, after.digest, unseen.digest}) == 3


def test_the_settings_module_looked_at_is_the_one_defining_the_settings() -> None:
    import watchman.config

    assert Path(watchman.config.__file__).resolve() == settings_memo.SCHEMA_SOURCE


def test_a_variable_the_tool_does_not_read_changes_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path)
    quiet = read_sources(config, {}, _environment(tmp_path))
    noisy = read_sources(config, {}, _environment(tmp_path, PATH="/usr/bin", TERM="xterm"))
    assert quiet is not None and noisy is not None
    assert quiet.digest == noisy.digest


def test_the_memo_is_looked_for_in_the_home_the_sources_spell(tmp_path: Path) -> None:
    config = _config(tmp_path)
    environment = _environment(tmp_path)
    from_file = read_sources(config, {}, environment)
    assert from_file is not None and from_file.home == Home(tmp_path / "home")
    variable = read_sources(config, {}, _environment(tmp_path, COMFYWATCHMAN_PATHS__HOME="~/state"))
    assert variable is not None and variable.home == Home(tmp_path / "user" / "state")
    named = read_sources(config, {}, _environment(tmp_path, COMFYWATCHMAN_HOME="relative"))
    assert named is not None and named.home == Home(tmp_path / "relative")


def test_sources_that_cannot_be_read_here_are_left_to_the_validation(tmp_path: Path) -> None:
    environment = _environment(tmp_path)
    assert read_sources(tmp_path / "absent.toml", {}, environment) is None
    broken = tmp_path / "broken.toml"
    broken.write_text("[paths\n")
    assert read_sources(broken, {}, environment) is None
    # No file at all (none named, none in the user's folder): the defaults are a source.
    assert read_sources(None, {}, environment) is not None


def test_a_memo_for_other_sources_or_damaged_is_not_used(tmp_path: Path) -> None:
    _, _, sources = _kept(tmp_path)
    memo = sources.home.state_dir / settings_memo.FILE_NAME
    other = settings_memo.Sources("0" * 64, sources.home)
    assert read_memo(other) is None
    moved = settings_memo.Sources(sources.digest, Home(tmp_path / "other-home"))
    assert read_memo(moved) is None
    good = memo.read_bytes()
    for damaged in (
        b"not json",
        b"[]",
        good.replace(b'{"path":', b'{"pth":'),
        good.replace(b'"schema_version":1', b'"schema_version":99'),
        good + b" " * settings_memo.MAX_MEMO_BYTES,
    ):
        memo.write_bytes(damaged)
        assert read_memo(sources) is None


def test_an_equal_memo_is_not_written_again(tmp_path: Path) -> None:
    settings, _, sources = _kept(tmp_path)
    memo = sources.home.state_dir / settings_memo.FILE_NAME
    os.utime(memo, ns=(0, 0))
    write_memo(sources.home, sources, settings)
    assert memo.stat().st_mtime_ns == 0
