"""extra_model_paths.yaml is read the way ComfyUI's utils/extra_config.py reads it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.named_pipes import finishes, needs_fifo
from watchman.comfy.extra_model_paths import (
    ExtraPath,
    custom_nodes_folders,
    expand_path_text,
    load_extra_model_paths,
    parse_extra_model_paths,
    search_order,
)
from watchman.errors import ConfigError


def _parse(tmp_path: Path, text: str, **environ: str):
    return parse_extra_model_paths(
        text, tmp_path / "config" / "extra.yaml", environ=environ, home_dir=tmp_path / "home"
    )


def test_paths_are_joined_to_an_absolute_base_path(tmp_path):
    base = tmp_path / "a1111"
    parsed = _parse(
        tmp_path, f"a111:\n  base_path: {base}\n  checkpoints: models/Stable-diffusion\n"
    )
    assert parsed.entries == (
        ExtraPath(
            folder="checkpoints",
            path=base / "models" / "Stable-diffusion",
            is_default=False,
            source_file=tmp_path / "config" / "extra.yaml",
            section="a111",
        ),
    )


def test_a_relative_base_path_is_taken_from_the_yaml_files_folder(tmp_path):
    parsed = _parse(tmp_path, "shared:\n  base_path: ../store\n  vae: vae\n")
    assert parsed.entries[0].path == tmp_path / "store" / "vae"


def test_without_base_path_relative_paths_are_taken_from_the_yaml_files_folder(tmp_path):
    parsed = _parse(tmp_path, "plain:\n  loras: my_loras\n")
    assert parsed.entries[0].path == tmp_path / "config" / "my_loras"


def test_tilde_and_environment_variables_expand_in_base_path(tmp_path):
    parsed = _parse(
        tmp_path,
        "home:\n  base_path: ~/ai\n  loras: loras\n"
        "env:\n  base_path: $MODELS_ROOT/sub\n  vae: vae\n"
        "braces:\n  base_path: ${MODELS_ROOT}\n  vae: other\n",
        MODELS_ROOT=str(tmp_path / "store"),
    )
    assert [entry.path for entry in parsed.entries] == [
        tmp_path / "home" / "ai" / "loras",
        tmp_path / "store" / "sub" / "vae",
        tmp_path / "store" / "other",
    ]


def test_undefined_variables_stay_as_written():
    assert expand_path_text("$NOPE/x", {}, Path("/h"), windows=False) == "$NOPE/x"
    assert expand_path_text("%APPDATA%\\m", {"APPDATA": "C:\\A"}, Path("/h"), windows=True) == (
        "C:\\A\\m"
    )
    assert expand_path_text("%APPDATA%/m", {"APPDATA": "x"}, Path("/h"), windows=False) == (
        "%APPDATA%/m"
    )


def test_multi_line_values_give_one_entry_per_line_and_skip_blank_lines(tmp_path):
    parsed = _parse(
        tmp_path,
        "a111:\n  base_path: /srv/webui\n  loras: |\n    models/Lora\n\n    models/LyCORIS\n",
    )
    assert [entry.path for entry in parsed.entries] == [
        Path("/srv/webui/models/Lora"),
        Path("/srv/webui/models/LyCORIS"),
    ]


def test_legacy_keys_are_mapped_and_is_default_is_kept(tmp_path):
    parsed = _parse(
        tmp_path,
        "desk:\n  base_path: /m\n  is_default: true\n  clip: clip\n  UNET: unet\n"
        "  custom_nodes: /n\n  download_model_base: models\n",
    )
    assert [(entry.folder, entry.is_default) for entry in parsed.entries] == [
        ("text_encoders", True),
        ("diffusion_models", True),
        ("custom_nodes", True),
        ("download_model_base", True),
    ]
    assert parsed.folders() == (
        "text_encoders",
        "diffusion_models",
        "custom_nodes",
        "download_model_base",
    )
    assert len(parsed.for_folder("clip")) == 1


def test_empty_files_and_empty_sections_give_nothing(tmp_path):
    assert _parse(tmp_path, "").entries == ()
    assert _parse(tmp_path, "# all commented out\nother_ui:\n").entries == ()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("a: [unclosed\n", "is not valid YAML"),
        ("- a\n- b\n", "must hold named sections"),
        ("s: just a string\n", "section 's' must map folder names"),
        ("s:\n  loras:\n    - a\n    - b\n", "key 'loras' must be a path"),
        ("s:\n  is_default: maybe\n  loras: l\n", "is_default must be true or false"),
        ("s:\n  base_path: 12\n  loras: l\n", "base_path must be a folder path"),
    ],
)
def test_a_malformed_file_raises_a_config_error_naming_the_file(tmp_path, text, complaint):
    with pytest.raises(ConfigError) as raised:
        _parse(tmp_path, text)
    assert complaint in str(raised.value)
    assert "extra.yaml" in str(raised.value)


def test_loading_files_keeps_their_order_and_an_unreadable_file_is_a_config_error(tmp_path):
    first = tmp_path / "first.yaml"
    second = tmp_path / "second.yaml"
    first.write_text("a:\n  loras: one\n", encoding="utf-8")
    second.write_text("b:\n  loras: two\n", encoding="utf-8")
    loaded = load_extra_model_paths([first, second], environ={}, home_dir=tmp_path)
    assert [entry.path.name for entry in loaded.entries] == ["one", "two"]
    with pytest.raises(ConfigError, match=r"absent\.yaml cannot be read"):
        load_extra_model_paths([tmp_path / "absent.yaml"], environ={}, home_dir=tmp_path)


def test_a_file_nesting_past_the_yaml_readers_stack_is_a_config_error(tmp_path):
    deep = tmp_path / "extra.yaml"
    deep.write_text("a:\n  loras: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="nests lists or mappings too deeply"):
        load_extra_model_paths([deep], environ={}, home_dir=tmp_path)


@needs_fifo
def test_a_pipe_named_as_a_paths_file_is_a_config_error_not_a_wait(tmp_path):
    pipe = tmp_path / "extra.yaml"
    os.mkfifo(pipe)
    raised = finishes(lambda: load_extra_model_paths([pipe], environ={}, home_dir=tmp_path), [pipe])
    assert isinstance(raised, ConfigError)
    assert "named pipe, not a regular file" in str(raised)


def _extra(path: str, is_default: bool) -> ExtraPath:
    return ExtraPath("loras", Path(path), is_default, Path("x.yaml"), "s")


def test_search_order_puts_default_paths_first_and_others_last_like_comfyui():
    order = search_order(
        [Path("/c/models/loras")],
        [
            _extra("/extra/one", False),
            _extra("/default/a", True),
            _extra("/default/b", True),
            _extra("/c/models/loras", False),
            _extra("/extra/one", True),
        ],
    )
    # ComfyUI inserts each default path at the front, so the last one wins first place.
    assert order == (
        Path("/extra/one"),
        Path("/default/b"),
        Path("/default/a"),
        Path("/c/models/loras"),
    )


def _search_order_as_comfyui_replays_it(
    default_dirs: list[Path], extra_paths: list[ExtraPath]
) -> tuple[Path, ...]:
    # folder_paths.add_model_folder_path, one path at a time, on a list.
    order = list(default_dirs)
    for extra in extra_paths:
        if extra.path in order:
            if extra.is_default and order[0] != extra.path:
                order.remove(extra.path)
                order.insert(0, extra.path)
        elif extra.is_default:
            order.insert(0, extra.path)
        else:
            order.append(extra.path)
    return tuple(order)


_PATHS = st.sampled_from([Path(f"/p/{letter}") for letter in "abcde"])


@settings(max_examples=300, deadline=None)
@given(
    default_dirs=st.lists(_PATHS, max_size=3, unique=True),
    extra=st.lists(st.tuples(_PATHS, st.booleans()), max_size=10),
)
def test_search_order_is_the_order_comfyui_s_one_by_one_insertions_give(
    default_dirs: list[Path], extra: list[tuple[Path, bool]]
) -> None:
    extra_paths = [_extra(str(path), is_default) for path, is_default in extra]
    assert search_order(default_dirs, extra_paths) == _search_order_as_comfyui_replays_it(
        default_dirs, extra_paths
    )


def test_a_value_repeated_by_yaml_aliases_past_the_file_s_size_is_a_config_error(tmp_path):
    # A few KiB naming one long value in thousands of sections: expanded, 800 KB made 30
    # million paths and took minutes; blank lines make no path, but cost their reading.
    blank_lines = "\\n" * 100_000
    text = f'x: {{loras: &x "{blank_lines}"}}\n' + "".join(
        f"s{index}: {{loras: *x}}\n" for index in range(100)
    )
    with pytest.raises(ConfigError, match="YAML aliases"):
        _parse(tmp_path, text)


def test_more_paths_than_any_real_configuration_adds_is_a_config_error(tmp_path):
    lines = "\n".join(f"    l{index}" for index in range(2_001))
    with pytest.raises(ConfigError, match="MAX_EXTRA_PATHS"):
        _parse(tmp_path, f"s:\n  loras: |\n{lines}\n")
    assert (
        len(_parse(tmp_path, f"s:\n  loras: |\n{lines[: lines.rindex(chr(10))]}\n").entries)
        == 2_000
    )


def test_node_pack_folders_are_comfyuis_own_and_the_custom_nodes_paths_in_its_order(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ComfyUI"
    root.mkdir()
    (root / "extra_model_paths.yaml").write_text(
        "shared:\n  base_path: /srv/ai\n  custom_nodes: nodes_a\n  checkpoints: ckpt\n"
        "first:\n  base_path: /opt\n  is_default: true\n  custom_nodes: |\n    nodes_b\n"
    )
    more = tmp_path / "more.yaml"
    more.write_text("late:\n  custom_nodes: /elsewhere/nodes_c\n")
    assert custom_nodes_folders(root, [more], {}, tmp_path) == (
        Path("/opt/nodes_b"),
        root / "custom_nodes",
        Path("/srv/ai/nodes_a"),
        Path("/elsewhere/nodes_c"),
    )
    assert custom_nodes_folders(tmp_path / "bare", [], {}, tmp_path) == (
        tmp_path / "bare" / "custom_nodes",
    )
