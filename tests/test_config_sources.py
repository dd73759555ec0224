"""The layers the settings are merged from: the variables read as the model needs them,
and layers laid over each other table by table."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchman.config import Settings
from watchman.config_loading import load_settings
from watchman.config_sources import merged, variables_layer
from watchman.errors import ConfigError


def test_a_variable_for_one_key_becomes_that_key_of_its_section_as_text() -> None:
    layer = variables_layer({"COMFYWATCHMAN_SCHEDULE__MIN_VRAM_GB": "6"}, Settings)
    assert layer == {"schedule": {"min_vram_gb": "6"}}


def test_variables_are_matched_without_regard_to_case() -> None:
    settings = load_settings(environ={"comfywatchman_Schedule__Min_Vram_GB": "6"})
    assert settings.schedule.min_vram_gb == 6.0


def test_variables_that_name_no_section_are_not_settings() -> None:
    environ = {
        "COMFYWATCHMAN_HOME": "/somewhere",
        "COMFYWATCHMAN_CONFIG": "/somewhere/c.toml",
        "COMFYWATCHMAN_SCHEDULE__": "x",
        "OTHER_SCHEDULE__MIN_VRAM_GB": "1",
    }
    assert variables_layer(environ, Settings) == {}


def test_a_list_is_json_and_a_path_that_may_be_unset_is_text() -> None:
    environ = {
        "COMFYWATCHMAN_COMFYUI__EXTRA_MODEL_PATHS": '["/a.yaml"]',
        "COMFYWATCHMAN_COMFYUI__ROOT": "/comfy",
    }
    layer = variables_layer(environ, Settings)
    assert layer == {"comfyui": {"extra_model_paths": ["/a.yaml"], "root": "/comfy"}}
    settings = load_settings(environ=environ)
    assert settings.comfyui.extra_model_paths == [Path("/a.yaml")]
    assert settings.comfyui.root == Path("/comfy")


def test_a_section_given_whole_yields_to_a_variable_for_one_of_its_keys() -> None:
    environ = {
        "COMFYWATCHMAN_SCHEDULE": '{"interval_minutes": 30, "min_vram_gb": 2}',
        "COMFYWATCHMAN_SCHEDULE__MIN_VRAM_GB": "6",
    }
    settings = load_settings(environ=environ)
    assert (settings.schedule.interval_minutes, settings.schedule.min_vram_gb) == (30, 6)


def test_a_section_given_whole_must_be_json() -> None:
    with pytest.raises(ConfigError, match="COMFYWATCHMAN_SCHEDULE holds a list or table"):
        variables_layer({"COMFYWATCHMAN_SCHEDULE": "interval=5"}, Settings)


def test_the_file_the_variables_and_the_flags_are_laid_over_each_other_key_by_key(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        "[schedule]\ninterval_minutes = 5\nmin_vram_gb = 1\n[search]\noffline = true\n",
        encoding="utf-8",
    )
    settings = load_settings(
        config,
        overrides={"schedule": {"interval_minutes": 9}},
        environ={"COMFYWATCHMAN_SCHEDULE__MIN_VRAM_GB": "3", "COMFYWATCHMAN_SEARCH__OFFLINE": "no"},
    )
    assert settings.schedule.interval_minutes == 9  # the flag
    assert settings.schedule.min_vram_gb == 3  # the variable
    assert settings.search.offline is False  # the variable over the file


_TABLES = st.recursive(
    st.integers() | st.text(max_size=3),
    lambda inner: st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=8,
)


@given(
    st.dictionaries(st.sampled_from("abc"), _TABLES),
    st.dictionaries(st.sampled_from("abc"), _TABLES),
)
def test_a_stronger_layer_keeps_every_value_it_gives(weaker: dict, stronger: dict) -> None:
    result = merged(weaker, stronger)
    assert set(result) == set(weaker) | set(stronger)
    for key, value in stronger.items():
        if isinstance(value, dict) and isinstance(weaker.get(key), dict):
            assert result[key] == merged(weaker[key], value)
        else:
            assert result[key] == value
    for key in set(weaker) - set(stronger):
        assert result[key] == weaker[key]
