"""One model key: every spelling of one file in one folder is one key."""

from __future__ import annotations

from watchman.comfy.model_key import (
    ModelKey,
    found_by_name,
    is_exact_spelling,
    listed_name,
    value_parts,
)


def test_separators_dots_and_case_make_no_difference() -> None:
    key = ModelKey.of("checkpoints", "SDXL/foo.safetensors")
    assert ModelKey.of("checkpoints", "SDXL\\foo.safetensors") == key
    assert ModelKey.of("checkpoints", "./sdxl//./FOO.safetensors") == key
    assert ModelKey.of("checkpoints", "/SDXL/foo.safetensors") == key
    assert key.text == "checkpoints:sdxl/foo.safetensors" and key.file_name == "foo.safetensors"


def test_dot_dot_cannot_climb_above_the_folder() -> None:
    assert ModelKey.of("loras", "../../etc/x.pt").path == "etc/x.pt"
    assert ModelKey.of("loras", "/").path == ""


def test_the_folder_type_is_part_of_the_key_and_legacy_names_map() -> None:
    assert ModelKey.of("clip", "a.safetensors") == ModelKey.of("text_encoders", "a.safetensors")
    assert ModelKey.of("loras", "a.safetensors") != ModelKey.of("checkpoints", "a.safetensors")
    assert ModelKey.of(None, "a.safetensors").text == "?:a.safetensors"


def test_value_parts_keep_the_case_as_written() -> None:
    parts = value_parts(".\\SDXL\\Foo.safetensors")
    assert (parts.relative_path, parts.subfolder, parts.file_name) == (
        "SDXL/Foo.safetensors",
        "SDXL",
        "Foo.safetensors",
    )


def test_comfyui_accepts_only_its_own_listing_of_a_file() -> None:
    assert listed_name("SDXL/foo.safetensors", "\\") == "SDXL\\foo.safetensors"
    assert is_exact_spelling("SDXL/foo.safetensors", "SDXL/foo.safetensors", "/")
    assert not is_exact_spelling("SDXL\\foo.safetensors", "SDXL/foo.safetensors", "/")
    assert not is_exact_spelling("SDXL/FOO.safetensors", "SDXL/foo.safetensors", "/")
    assert is_exact_spelling("SDXL\\foo.safetensors", "SDXL/foo.safetensors", "\\")


def test_found_by_name_follows_the_lora_nodes_own_lookups() -> None:
    assert found_by_name("detail", "styles/detail.safetensors", "/")
    assert found_by_name("detail.safetensors", "styles/detail.safetensors", "/")
    assert found_by_name("styles/detail", "styles/detail.safetensors", "/")
    assert found_by_name("styles\\detail", "styles/detail.safetensors", "\\")
    assert not found_by_name("Detail", "styles/detail.safetensors", "/")
    assert not found_by_name("styles\\detail.safetensors", "styles/detail.safetensors", "/")
    assert not found_by_name("tail", "styles/detail.safetensors", "/")
