"""Reading values without a table's word: which name model files."""

from __future__ import annotations

import pytest

from watchman.comfy.input_inference import (
    generic_value_names_file,
    table_value_names_file,
)
from watchman.comfy.loader_lookup import loader_spec


@pytest.mark.parametrize(
    ("value", "names_file"),
    [
        ("sub\\file.safetensors", True),
        ("None", False),
        ("Baked VAE", False),
        ("taesd", False),
        ("https://x/y.safetensors", False),
        ("two\nlines.safetensors", False),
        ("", False),
    ],
)
def test_table_values_name_files_only_when_they_look_like_one(value: str, names_file: bool) -> None:
    spec = loader_spec("VAELoader")
    assert spec is not None
    assert table_value_names_file(spec, "vae_name", value) is names_file


def test_folder_entries_need_no_extension() -> None:
    spec = loader_spec("DiffusersLoader")
    assert spec is not None and table_value_names_file(spec, "model_path", "stable-diffusion-2")


@pytest.mark.parametrize(
    ("value", "is_file"),
    [("a.gguf", True), ("a.onnx", True), ("a.png", False), ("a", False), ("www.x/a.pt", False)],
)
def test_generic_values_need_a_model_extension(value: str, is_file: bool) -> None:
    assert generic_value_names_file(value) is is_file
