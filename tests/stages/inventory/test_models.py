"""The model inventory sees what ComfyUI sees and says where a workflow's model is."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from watchman.comfy.model_key import ModelKey, normalise_relative_path
from watchman.errors import ConfigError
from watchman.stages.inventory import listing as listing_module
from watchman.stages.inventory.model_scan import scan_models
from watchman.stages.inventory.models import ModelInventory


def _file(path: Path, size: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """A small ComfyUI install with extra paths, links, subfolders and odd names."""
    root = tmp_path / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    _file(root / "main.py")
    _file(root / "nodes.py")
    models = root / "models"
    _file(models / "checkpoints" / "sd15.safetensors")
    _file(models / "checkpoints" / "SDXL" / "Juggernaut.SAFETENSORS")
    _file(models / "checkpoints" / "notes.txt")
    _file(models / "loras" / "detail.safetensors")
    _file(models / "loras" / "style" / "ink.safetensors")
    _file(models / "embeddings" / "easyneg.pt", size=10)
    _file(models / "unet" / "flux-Q4_0.gguf")
    _file(models / "diffusion_models" / "wan.safetensors")
    _file(models / "clip" / "t5xxl.safetensors")
    _file(models / "t2i_adapter" / "adapter.pth")
    _file(models / "diffusers" / "sd-turbo" / "model_index.json", size=3)
    _file(models / "diffusers" / "sd-turbo" / "unet" / "weights.safetensors", size=7)
    _file(models / "IPAdapter" / "ip-adapter_sd15.bin")
    _file(models / "classifiers" / "aesthetic")
    (models / "vae").mkdir()
    (models / "vae" / "loop").symlink_to(models / "vae", target_is_directory=True)
    real = _file(tmp_path / "outside" / "real_vae.safetensors", size=6)
    (models / "vae" / "linked.safetensors").symlink_to(real)
    (models / "vae" / "broken.safetensors").symlink_to(tmp_path / "gone.safetensors")
    _file(tmp_path / "outside_dir" / "4x_ultra.pth")
    (models / "upscale_models").mkdir()
    (models / "upscale_models" / "linked_dir").symlink_to(
        tmp_path / "outside_dir", target_is_directory=True
    )
    store = tmp_path / "store"
    _file(store / "checkpoints" / "shared.safetensors")
    _file(store / "clip_store" / "clip_l.safetensors")
    extra_root = tmp_path / "extra_root"
    _file(extra_root / "loras_a" / "a.safetensors")
    _file(extra_root / "loras_b" / "b.safetensors")
    (root / "extra_model_paths.yaml").write_text(
        "shared:\n"
        "  base_path: ../store\n"
        "  is_default: true\n"
        "  checkpoints: checkpoints\n"
        "  clip: clip_store\n"
        "later:\n"
        "  base_path: $EXTRA_ROOT\n"
        "  loras: |\n"
        "    loras_a\n"
        "    loras_b\n"
        "    not_there\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    _file(home / "models" / "up" / "2x.pth")
    more = tmp_path / "more.yaml"
    more.write_text(
        "mine:\n  base_path: ~/models\n  upscale_models: up\n  custom_nodes: nodes\n",
        encoding="utf-8",
    )
    return {
        "root": root,
        "models": models,
        "store": store,
        "extra_root": extra_root,
        "home": home,
        "more": more,
    }


def _scan(tree: dict[str, Path]) -> ModelInventory:
    return scan_models(
        tree["root"],
        [tree["more"]],
        environ={"EXTRA_ROOT": str(tree["extra_root"])},
        home_dir=tree["home"],
    )


def _paths(inventory: ModelInventory, folder: str) -> set[str]:
    return {model.relative_path for model in inventory.files[folder]}


def test_files_with_the_folders_extensions_are_found_with_subfolders_and_any_case(tree):
    inventory = _scan(tree)
    assert _paths(inventory, "checkpoints") == {
        "shared.safetensors",
        "sd15.safetensors",
        "SDXL/Juggernaut.SAFETENSORS",
    }
    assert _paths(inventory, "loras") == {
        "detail.safetensors",
        "style/ink.safetensors",
        "a.safetensors",
        "b.safetensors",
    }


def test_a_ten_byte_embedding_counts_with_its_size(tree):
    (embedding,) = _scan(tree).files["embeddings"]
    assert (embedding.relative_path, embedding.size) == ("easyneg.pt", 10)
    assert embedding.mtime == os.stat(tree["models"] / "embeddings" / "easyneg.pt").st_mtime


def test_default_extra_paths_come_first_and_other_extra_paths_last(tree):
    inventory = _scan(tree)
    models = tree["models"]
    assert inventory.roots["checkpoints"] == (
        str(tree["store"] / "checkpoints"),
        str(models / "checkpoints"),
    )
    assert inventory.roots["loras"] == (
        str(models / "loras"),
        str(tree["extra_root"] / "loras_a"),
        str(tree["extra_root"] / "loras_b"),
        str(tree["extra_root"] / "not_there"),
    )
    # Files are listed in search order, so the first is the one ComfyUI loads.
    assert inventory.files["checkpoints"][0].root == str(tree["store"] / "checkpoints")


def test_legacy_dirs_and_keys_feed_their_canonical_folders(tree):
    inventory = _scan(tree)
    assert _paths(inventory, "text_encoders") == {"t5xxl.safetensors", "clip_l.safetensors"}
    assert _paths(inventory, "diffusion_models") == {"wan.safetensors"}
    assert _paths(inventory, "controlnet") == {"adapter.pth"}
    assert inventory.roots_for("clip") == inventory.roots["text_encoders"]
    assert inventory.locate(ModelKey.of("clip", "t5xxl.safetensors")).state == "present"


def test_gguf_files_are_listed_under_the_gguf_pack_folder(tree):
    inventory = _scan(tree)
    assert _paths(inventory, "unet_gguf") == {"flux-Q4_0.gguf"}
    assert inventory.roots["unet_gguf"] == inventory.roots["diffusion_models"]


def test_diffusers_entries_are_folders_holding_model_index_json(tree):
    (entry,) = _scan(tree).files["diffusers"]
    assert (entry.relative_path, entry.size) == ("sd-turbo", 10)


def test_unknown_model_dirs_and_extra_keys_become_pack_folders(tree):
    inventory = _scan(tree)
    assert _paths(inventory, "ipadapter") == {"ip-adapter_sd15.bin"}
    assert _paths(inventory, "classifiers") == {"aesthetic"}
    assert _paths(inventory, "upscale_models") == {"linked_dir/4x_ultra.pth", "2x.pth"}
    assert "custom_nodes" not in inventory.files


def test_links_are_followed_without_looping_and_broken_links_are_skipped(tree):
    inventory = _scan(tree)
    (linked,) = inventory.files["vae"]
    assert (linked.relative_path, linked.size) == ("linked.safetensors", 6)


def test_an_unreadable_folder_is_logged_and_skipped(tree, monkeypatch, caplog):
    blocked = str(tree["models"] / "loras" / "style")
    real_scandir = os.scandir

    def scandir(path):
        if os.fspath(path) == blocked:
            raise PermissionError(13, "Permission denied", blocked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    inventory = _scan(tree)
    assert "style/ink.safetensors" not in _paths(inventory, "loras")
    assert "detail.safetensors" in _paths(inventory, "loras")
    assert any("Cannot read folder" in record.message for record in caplog.records)


def test_a_malformed_extra_model_paths_file_is_a_config_error(tree):
    (tree["root"] / "extra_model_paths.yaml").write_text("broken: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"extra_model_paths\.yaml is not valid YAML"):
        _scan(tree)


def test_a_file_in_the_expected_folder_is_present_in_any_root_and_any_case(tree):
    inventory = _scan(tree)
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
    inventory = _scan(tree)
    assert inventory.locate(ModelKey.of("unet", "flux-Q4_0.gguf")).state == "present"
    assert inventory.locate(ModelKey.of("unet_gguf", "flux-Q4_0.gguf")).state == "present"


def test_the_same_name_in_another_folder_is_misplaced_and_says_where(tree):
    presence = _scan(tree).locate(ModelKey.of("loras", "sd15.safetensors"))
    assert presence.state == "misplaced"
    assert [(m.folder, m.relative_path) for m in presence.locations] == [
        ("checkpoints", "sd15.safetensors")
    ]


def test_the_same_name_in_another_subfolder_is_misplaced(tree):
    inventory = _scan(tree)
    moved = inventory.locate(ModelKey.of("checkpoints", "SD15\\sd15.safetensors"))
    assert moved.state == "misplaced"
    assert moved.locations[0].relative_path == "sd15.safetensors"
    flattened = inventory.locate(ModelKey.of("checkpoints", "Juggernaut.safetensors"))
    assert flattened.state == "misplaced"
    assert flattened.locations[0].relative_path == "SDXL/Juggernaut.SAFETENSORS"


def test_an_unknown_file_is_missing(tree):
    inventory = _scan(tree)
    assert inventory.locate(ModelKey.of("checkpoints", "nothing.safetensors")).state == "missing"
    assert inventory.locate(ModelKey.of("checkpoints", "")).state == "missing"
    assert inventory.locate(ModelKey.of("checkpoints", "notes.txt")).state == "missing"
    assert inventory.locate(ModelKey.of("checkpoints", "nothing.safetensors")).locations == ()


def test_with_an_unknown_folder_any_folder_with_that_path_makes_it_present(tree):
    inventory = _scan(tree)
    assert inventory.locate(ModelKey.of(None, "style\\ink.safetensors")).state == "present"
    assert inventory.locate(ModelKey.of(None, "other/ink.safetensors")).state == "misplaced"
    assert inventory.locate(ModelKey.of(None, "never.safetensors")).state == "missing"


def test_values_normalise_like_comfyui_get_full_path():
    assert normalise_relative_path("SDXL\\foo.safetensors") == "SDXL/foo.safetensors"
    assert normalise_relative_path("./a//b/./c.pt") == "a/b/c.pt"
    assert normalise_relative_path("../../etc/x.pt") == "etc/x.pt"
    assert normalise_relative_path("/") == ""


def test_the_cache_document_is_deterministic_and_lists_every_file(tree):
    first = _scan(tree)
    document = first.to_cache_document()
    assert json.dumps(document) == json.dumps(_scan(tree).to_cache_document())
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


def test_count_is_the_number_of_entries(tree):
    inventory = _scan(tree)
    assert inventory.count == sum(len(files) for files in inventory.files.values())
    assert inventory.count == 19


def test_two_folders_linking_to_each_other_end_and_list_each_file_once_per_name(tmp_path):
    root = tmp_path / "ComfyUI"
    loras = root / "models" / "loras"
    _file(loras / "x" / "one.safetensors")
    _file(loras / "y" / "two.safetensors")
    (loras / "x" / "to_y").symlink_to(loras / "y", target_is_directory=True)
    (loras / "y" / "to_x").symlink_to(loras / "x", target_is_directory=True)
    inventory = scan_models(root, [], environ={}, home_dir=tmp_path)
    assert _paths(inventory, "loras") == {
        "x/one.safetensors",
        "x/to_y/two.safetensors",
        "y/two.safetensors",
        "y/to_x/one.safetensors",
    }


def test_git_folders_are_not_searched_like_comfyui_recursive_search(tmp_path):
    loras = tmp_path / "ComfyUI" / "models" / "loras"
    _file(loras / "kept.safetensors")
    _file(loras / ".git" / "lfs" / "objects" / "hidden.safetensors")
    inventory = scan_models(tmp_path / "ComfyUI", [], environ={}, home_dir=tmp_path)
    assert _paths(inventory, "loras") == {"kept.safetensors"}


def test_folders_deeper_than_the_limit_are_skipped_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(listing_module, "MAX_DEPTH", 1)
    loras = tmp_path / "ComfyUI" / "models" / "loras"
    _file(loras / "a" / "shallow.safetensors")
    _file(loras / "a" / "b" / "deep.safetensors")
    inventory = scan_models(tmp_path / "ComfyUI", [], environ={}, home_dir=tmp_path)
    assert _paths(inventory, "loras") == {"a/shallow.safetensors"}
    assert any("Not descending" in record.message for record in caplog.records)


def test_embeddings_named_without_extension_are_found_as_comfyui_load_embed_does(tree):
    inventory = _scan(tree)
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

    inventory = _scan(tree)
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
    inventory = _scan(tree)
    key = ModelKey.of("checkpoints", "SHARED.safetensors")
    first = inventory.locate(key)
    assert inventory.locate(ModelKey.of("checkpoints", "shared.safetensors")) is first
    assert inventory.locate(ModelKey.of("loras", "SHARED.safetensors")) is not first
