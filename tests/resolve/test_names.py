"""File-name rules: normalised values, exact comparison and bounded search terms."""

from __future__ import annotations

from watchman.comfy.model_key import ModelKey, fold_case
from watchman.resolve.model import SearchRequest
from watchman.resolve.names import (
    file_name_of,
    loose_key,
    name_match,
    search_terms,
    subfolder_of,
)


def test_a_windows_value_splits_into_subfolder_and_file_name() -> None:
    request = SearchRequest(".\\SDXL\\styles\\foo.safetensors", "loras")
    assert (request.subfolder, request.file_name) == ("SDXL/styles", "foo.safetensors")
    assert request.key == SearchRequest("sdxl/STYLES/Foo.safetensors", "loras").key
    assert request.key != SearchRequest("sdxl/styles/foo.safetensors", "checkpoints").key


def test_file_names_compare_exactly_except_for_case() -> None:
    assert name_match("Foo.SafeTensors", file_name_of("dir\\foo.safetensors")) is not None
    assert name_match("foo.safetensors", "foo.ckpt") is None
    assert name_match("foo-v2.safetensors", "foo_v2.safetensors") is None
    assert loose_key("foo-v2.safetensors") == loose_key("FOO_V2.ckpt")


def test_search_terms_start_with_the_stem_then_reduce_within_the_bound() -> None:
    terms = search_terms("control_v11p_sd15_canny_fp16.safetensors", 4)
    assert terms[0] == "control_v11p_sd15_canny_fp16"
    assert "control_v11p_sd15_canny" in terms
    assert len(terms) == 4
    assert search_terms("majicmixRealistic_v7.safetensors", 3) == (
        "majicmixRealistic_v7",
        "majicmixRealistic",
        "majicmix Realistic",
    )
    assert search_terms("x.pth", 4) == ("x",)
    assert search_terms("flux1-dev-fp8.safetensors", 1) == ("flux1-dev-fp8",)


def test_the_resolver_reads_a_value_as_the_model_key_does() -> None:
    for value in ("SDXL\\a.safetensors", "./x//SDXL/./a.safetensors", "a/../b/c.pt", "/up/d.ckpt/"):
        key = ModelKey.of("loras", value)
        folded = fold_case("/".join(filter(None, (subfolder_of(value), file_name_of(value)))))
        assert folded == key.path, value
        assert file_name_of(value).lower() == key.file_name, value
