"""The model inventory says where a workflow's model is, and writes its cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.stages.inventory.model_tree import comfy_tree, scan_tree
from watchman.comfy.model_key import ModelKey, normalise_relative_path
from watchman.stages.inventory.model_scan import scan_models
from watchman.stages.inventory.models import ModelInventory


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    return comfy_tree(tmp_path)


def test_a_file_in_the_expected_folder_is_present_in_any_root_and_any_case(tree):
    inventory = scan_tree(tree)
    presence = inventory.locate(ModelKey.of("checkpoints", "SHARED.safetensors"))
    assert presence.state == "present"
    assert presence.locations[0].root == str(tree["store"] / "checkpoints")
    assert (
        inventory.locate(ModelKey.of("checkpoints", "sdxl\\juggernaut.safetensors")).state
        == "present"
    )
    assert (
        inventory.locate(ModelKey.of("checkpoints", "./SDXL/Juggernaut.SAFETENSORS")).state
        == "present"
    )
    assert inventory.locate(ModelKey.of("loras", "/b.safetensors")).state == "present"
    assert inventory.locate(ModelKey.of("clip", "clip_l.safetensors")).state == "present"


def test_a_gguf_file_in_a_shared_dir_is_present_for_the_core_folder_too(tree):
    inventory = scan_tree(tree)
    assert inventory.locate(ModelKey.of("unet", "flux-Q4_0.gguf")).state == "present"
    assert inventory.locate(ModelKey.of("unet_gguf", "flux-Q4_0.gguf")).state == "present"


def test_the_same_name_in_another_folder_is_misplaced_and_says_where(tree):
    presence = scan_tree(tree).locate(ModelKey.of("loras", "sd15.safetensors"))
    assert presence.state == "misplaced"
    assert [(m.folder, m.relative_path) for m in presence.locations] == [
        ("checkpoints", "sd15.safetensors")
    ]


def test_the_same_name_in_another_subfolder_is_misplaced(tree):
    inventory = scan_tree(tree)
    moved = inventory.locate(ModelKey.of("checkpoints", "SD15\\sd15.safetensors"))
    assert moved.state == "misplaced"
    assert moved.locations[0].relative_path == "sd15.safetensors"
    flattened = inventory.locate(ModelKey.of("checkpoints", "Juggernaut.safetensors"))
    assert flattened.state == "misplaced"
    assert flattened.locations[0].relative_path == "SDXL/Juggernaut.SAFETENSORS"


def test_an_unknown_file_is_missing(tree):
    inventory = scan_tree(tree)
    assert inventory.locate(ModelKey.of("checkpoints", "nothing.safetensors")).state == "missing"
    assert inventory.locate(ModelKey.of("checkpoints", "")).state == "missing"
    assert inventory.locate(ModelKey.of("checkpoints", "notes.txt")).state == "missing"
    assert inventory.locate(ModelKey.of("checkpoints", "nothing.safetensors")).locations == ()


def test_with_an_unknown_folder_any_folder_with_that_path_makes_it_present(tree):
    inventory = scan_tree(tree)
    assert inventory.locate(ModelKey.of(None, "style\\ink.safetensors")).state == "present"
    assert inventory.locate(ModelKey.of(None, "other/ink.safetensors")).state == "misplaced"
    assert inventory.locate(ModelKey.of(None, "never.safetensors")).state == "missing"


def test_values_normalise_like_comfyui_get_full_path():
    assert normalise_relative_path("SDXL\\foo.safetensors") == "SDXL/foo.safetensors"
    assert normalise_relative_path("./a//b/./c.pt") == "a/b/c.pt"
    assert normalise_relative_path("../../etc/x.pt") == "etc/x.pt"
    assert normalise_relative_path("/") == ""


def test_the_cache_document_is_deterministic_and_lists_every_file(tree):
    first = scan_tree(tree)
    document = first.to_cache_document()
    assert json.dumps(document) == json.dumps(scan_tree(tree).to_cache_document())
    assert document["schema_version"] == 1
    assert document["comfyui_root"] == str(tree["root"])
    assert list(document["folders"]) == sorted(document["folders"])
    assert document["folders"]["embeddings"] == [
        {
            "path": "easyneg.pt",
            "root": str(tree["models"] / "embeddings"),
            "size": 10,
            "mtime": first.files["embeddings"][0].mtime,
        }
    ]
    assert sum(len(items) for items in document["folders"].values()) == first.count
    assert document["roots"] == {name: list(roots) for name, roots in sorted(first.roots.items())}


def test_embeddings_named_without_extension_are_found_as_comfyui_load_embed_does(tree):
    inventory = scan_tree(tree)
    presence = inventory.locate(ModelKey.of("embeddings", "EasyNeg"))
    assert presence.state == "present"
    assert presence.locations[0].relative_path == "easyneg.pt"
    assert inventory.locate(ModelKey.of("embeddings", "sd15")).state == "misplaced"
    assert inventory.locate(ModelKey.of("embeddings", "unknown_style")).state == "missing"
    # Only embeddings imply extensions: a checkpoint must be named in full.
    assert inventory.locate(ModelKey.of("checkpoints", "sd15")).state == "missing"


def test_a_loader_that_takes_a_model_folder_finds_it_present(tmp_path: Path) -> None:
    root = tmp_path / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("", encoding="utf-8")
    (root / "nodes.py").write_text("", encoding="utf-8")
    nunchaku = root / "models" / "diffusion_models" / "svdq-int4-flux.1-dev"
    nunchaku.mkdir(parents=True)
    (nunchaku / "transformer_blocks.safetensors").write_bytes(b"x")
    inventory = scan_models(root, environ={}, home_dir=root)
    assert (
        inventory.locate(ModelKey.of("diffusion_models", "svdq-int4-flux.1-dev")).state == "present"
    )
    assert (
        inventory.locate(ModelKey.of("diffusion_models", "SVDQ-int4-flux.1-dev")).state == "present"
    )
    assert (
        inventory.locate(ModelKey.of("diffusion_models", "svdq-fp4-flux.1-dev")).state == "missing"
    )
    assert inventory.locate(ModelKey.of("loras", "svdq-int4-flux.1-dev")).state == "missing"


def test_a_lookup_index_keeps_only_models_whose_own_key_matches_under_a_shared_hash() -> None:
    # The indexes are keyed by the hash of the folded text; two texts sharing a hash must
    # not answer for each other. Simulated: a model filed under another text's hash.
    from watchman.stages.inventory.model_index import LookupIndex as _Index
    from watchman.stages.inventory.models import ModelFile, _folded_name, _folded_path

    stranger = ModelFile("loras", "Sub/Other.safetensors", "/r", 1, 0.0)
    twin = ModelFile("loras", "wanted.safetensors", "/r2", 1, 0.0)
    models = (stranger, twin)
    index = _Index.of([hash("wanted.safetensors"), hash("wanted.safetensors")])
    assert index.hits(models, "wanted.safetensors", _folded_path) == (twin,)
    assert index.hits(models, "wanted.safetensors", _folded_name) == (twin,)
    assert index.hits(models, "other.safetensors", _folded_name) == ()


def test_models_are_found_by_folded_path_and_name_whatever_their_case(tmp_path: Path) -> None:
    loras = tmp_path / "models" / "loras" / "Styles"
    loras.mkdir(parents=True)
    (loras / "Detail_XL.safetensors").write_bytes(b"x")
    inventory = scan_models(tmp_path, environ={}, home_dir=tmp_path / "home")
    present = inventory.locate(ModelKey.of("loras", "styles/DETAIL_xl.safetensors"))
    assert present.state == "present"
    assert present.locations[0].relative_path == "Styles/Detail_XL.safetensors"
    misplaced = inventory.locate(ModelKey.of("checkpoints", "detail_xl.SAFETENSORS"))
    assert misplaced.state == "misplaced"


def test_the_streamed_model_cache_is_the_document_byte_for_byte(tree) -> None:
    from watchman.state.json_codec import dumps_json

    inventory = scan_tree(tree)
    assert inventory.files and any(not models for models in inventory.files.values())
    assert b"".join(inventory.cache_chunks()) == dumps_json(inventory.to_cache_document())
    empty = ModelInventory(roots={}, files={}, comfyui_root="/nowhere")
    assert b"".join(empty.cache_chunks()) == dumps_json(empty.to_cache_document())


def test_a_model_cache_longer_than_a_batch_is_still_the_document_byte_for_byte() -> None:
    from watchman.stages.inventory.model_cache_bytes import BATCH as _BATCH
    from watchman.stages.inventory.models import ModelFile
    from watchman.state.json_codec import dumps_json

    for count in (_BATCH - 1, _BATCH, _BATCH + 1, 2 * _BATCH + 3):
        files = tuple(
            ModelFile("loras", f"sub/{n:05d}.safetensors", "/r/loras", n, n / 7)
            for n in range(count)
        )
        inventory = ModelInventory(roots={"loras": ("/r/loras",)}, files={"loras": files})
        assert b"".join(inventory.cache_chunks()) == dumps_json(inventory.to_cache_document())


def test_a_streamed_model_cache_with_names_that_are_not_text_reads_back_the_same(
    tmp_path: Path,
) -> None:
    from watchman.stages.inventory.models import ModelFile
    from watchman.state.json_codec import loads_json

    odd = ModelFile("loras", "caf\udce9.safetensors", "/r/loras", 3, 1.5)
    plain = ModelFile("loras", "Ünïcode ✓.safetensors", "/r/loras", 4, 2.5)
    inventory = ModelInventory(
        roots={"loras": ("/r/loras",)}, files={"loras": (odd, plain)}, comfyui_root="/r"
    )
    document = loads_json(b"".join(inventory.cache_chunks()))
    assert document == json.loads(json.dumps(inventory.to_cache_document()))


def test_a_key_asked_again_is_answered_from_the_first_lookup(tree):
    inventory = scan_tree(tree)
    key = ModelKey.of("checkpoints", "SHARED.safetensors")
    first = inventory.locate(key)
    assert inventory.locate(ModelKey.of("checkpoints", "shared.safetensors")) is first
    assert inventory.locate(ModelKey.of("loras", "SHARED.safetensors")) is not first
