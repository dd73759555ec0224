"""The scan of the model folders sees what ComfyUI sees: its folder types, search order,
extra paths, links and pack folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.stages.inventory.model_tree import comfy_tree, paths_of, scan_tree, write_file
from watchman.comfy.model_key import ModelKey
from watchman.errors import ConfigError
from watchman.stages.inventory import listing as listing_module
from watchman.stages.inventory.model_scan import scan_models


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    return comfy_tree(tmp_path)


def test_files_with_the_folders_extensions_are_found_with_subfolders_and_any_case(tree):
    inventory = scan_tree(tree)
    assert paths_of(inventory, "checkpoints") == {
        "shared.safetensors",
        "sd15.safetensors",
        "SDXL/Juggernaut.SAFETENSORS",
    }
    assert paths_of(inventory, "loras") == {
        "detail.safetensors",
        "style/ink.safetensors",
        "a.safetensors",
        "b.safetensors",
    }


def test_a_ten_byte_embedding_counts_with_its_size(tree):
    (embedding,) = scan_tree(tree).files["embeddings"]
    assert (embedding.relative_path, embedding.size) == ("easyneg.pt", 10)
    assert embedding.mtime == os.stat(tree["models"] / "embeddings" / "easyneg.pt").st_mtime


def test_default_extra_paths_come_first_and_other_extra_paths_last(tree):
    inventory = scan_tree(tree)
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
    inventory = scan_tree(tree)
    assert paths_of(inventory, "text_encoders") == {"t5xxl.safetensors", "clip_l.safetensors"}
    assert paths_of(inventory, "diffusion_models") == {"wan.safetensors"}
    assert paths_of(inventory, "controlnet") == {"adapter.pth"}
    assert inventory.roots_for("clip") == inventory.roots["text_encoders"]
    assert inventory.locate(ModelKey.of("clip", "t5xxl.safetensors")).state == "present"


def test_gguf_files_are_listed_under_the_gguf_pack_folder(tree):
    inventory = scan_tree(tree)
    assert paths_of(inventory, "unet_gguf") == {"flux-Q4_0.gguf"}
    assert inventory.roots["unet_gguf"] == inventory.roots["diffusion_models"]


def test_diffusers_entries_are_folders_holding_model_index_json(tree):
    (entry,) = scan_tree(tree).files["diffusers"]
    assert (entry.relative_path, entry.size) == ("sd-turbo", 10)


def test_unknown_model_dirs_and_extra_keys_become_pack_folders(tree):
    inventory = scan_tree(tree)
    assert paths_of(inventory, "ipadapter") == {"ip-adapter_sd15.bin"}
    assert paths_of(inventory, "classifiers") == {"aesthetic"}
    assert paths_of(inventory, "upscale_models") == {"linked_dir/4x_ultra.pth", "2x.pth"}
    assert "custom_nodes" not in inventory.files


def test_links_are_followed_without_looping_and_broken_links_are_skipped(tree):
    inventory = scan_tree(tree)
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
    inventory = scan_tree(tree)
    assert "style/ink.safetensors" not in paths_of(inventory, "loras")
    assert "detail.safetensors" in paths_of(inventory, "loras")
    assert any("Cannot read folder" in record.message for record in caplog.records)


def test_a_malformed_extra_model_paths_file_is_a_config_error(tree):
    (tree["root"] / "extra_model_paths.yaml").write_text("broken: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"extra_model_paths\.yaml is not valid YAML"):
        scan_tree(tree)


def test_count_is_the_number_of_entries(tree):
    inventory = scan_tree(tree)
    assert inventory.count == sum(len(files) for files in inventory.files.values())
    assert inventory.count == 19


def test_two_folders_linking_to_each_other_end_and_list_each_file_once_per_name(tmp_path):
    root = tmp_path / "ComfyUI"
    loras = root / "models" / "loras"
    write_file(loras / "x" / "one.safetensors")
    write_file(loras / "y" / "two.safetensors")
    (loras / "x" / "to_y").symlink_to(loras / "y", target_is_directory=True)
    (loras / "y" / "to_x").symlink_to(loras / "x", target_is_directory=True)
    inventory = scan_models(root, [], environ={}, home_dir=tmp_path)
    assert paths_of(inventory, "loras") == {
        "x/one.safetensors",
        "x/to_y/two.safetensors",
        "y/two.safetensors",
        "y/to_x/one.safetensors",
    }


def test_git_folders_are_not_searched_like_comfyui_recursive_search(tmp_path):
    loras = tmp_path / "ComfyUI" / "models" / "loras"
    write_file(loras / "kept.safetensors")
    write_file(loras / ".git" / "lfs" / "objects" / "hidden.safetensors")
    inventory = scan_models(tmp_path / "ComfyUI", [], environ={}, home_dir=tmp_path)
    assert paths_of(inventory, "loras") == {"kept.safetensors"}


def test_folders_deeper_than_the_limit_are_skipped_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(listing_module, "MAX_DEPTH", 1)
    loras = tmp_path / "ComfyUI" / "models" / "loras"
    write_file(loras / "a" / "shallow.safetensors")
    write_file(loras / "a" / "b" / "deep.safetensors")
    inventory = scan_models(tmp_path / "ComfyUI", [], environ={}, home_dir=tmp_path)
    assert paths_of(inventory, "loras") == {"a/shallow.safetensors"}
    assert any("Not descending" in record.message for record in caplog.records)
