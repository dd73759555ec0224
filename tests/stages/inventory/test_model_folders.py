"""The inventory records the model folders that loaders list by name: every first-level
sub-folder of models/LLM, the folders under models/ella_encoder holding a config.json,
each with the total size of its files; the listing cache keeps them cheap."""

from __future__ import annotations

from pathlib import Path

from watchman.stages.inventory.listing import TreeListing
from watchman.stages.inventory.model_scan import scan_models
from watchman.stages.inventory.models import ModelInventory


def _file(path: Path, size: int = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def _scan(root: Path, tree: TreeListing | None = None) -> ModelInventory:
    return scan_models(root, environ={}, home_dir=root / "home", tree=tree)


def _folders(inventory: ModelInventory, folder: str) -> dict[str, int]:
    return {entry.relative_path: entry.size for entry in inventory.folder_entries[folder]}


def test_every_first_level_folder_of_llm_is_a_model_folder_with_its_total_size(
    tmp_path: Path,
) -> None:
    _file(tmp_path / "models/LLM/Florence-2-large/model.safetensors", 10)
    _file(tmp_path / "models/LLM/Florence-2-large/sub/config.json", 5)
    (tmp_path / "models/LLM/Empty-Repo").mkdir(parents=True)
    _file(tmp_path / "models/LLM/captioner-Q4.gguf", 7)
    inventory = _scan(tmp_path)
    assert _folders(inventory, "llm") == {"Empty-Repo": 0, "Florence-2-large": 15}
    # Files of the folder are still files (GGUF captioners keep theirs there).
    assert [m.relative_path for m in inventory.files["llm"]] == [
        "Florence-2-large/model.safetensors",
        "captioner-Q4.gguf",
    ]
    [entry] = inventory.model_folders("florence-2-large", "llm")
    assert entry.full_path == tmp_path / "models/LLM/Florence-2-large"
    assert inventory.model_folders("florence-2-large/sub", "llm") == ()


def test_folders_holding_the_marker_at_any_depth_are_the_model_folders_of_ella(
    tmp_path: Path,
) -> None:
    _file(tmp_path / "models/ella_encoder/flan-t5-xl/config.json", 3)
    _file(tmp_path / "models/ella_encoder/flan-t5-xl/model.safetensors", 9)
    _file(tmp_path / "models/ella_encoder/more/t5-large/config.json", 2)
    _file(tmp_path / "models/ella_encoder/no-config/model.safetensors", 9)
    inventory = _scan(tmp_path)
    assert _folders(inventory, "ella_encoder") == {"flan-t5-xl": 12, "more/t5-large": 2}


def test_diffusers_folders_are_still_its_files_and_its_model_folders(tmp_path: Path) -> None:
    _file(tmp_path / "models/diffusers/sd15/model_index.json", 2)
    _file(tmp_path / "models/diffusers/sd15/unet/w.safetensors", 8)
    inventory = _scan(tmp_path)
    assert [(m.relative_path, m.size) for m in inventory.files["diffusers"]] == [("sd15", 10)]
    assert _folders(inventory, "diffusers") == {"sd15": 10}


def test_a_reused_listing_finds_the_same_folders_and_sees_a_new_one(tmp_path: Path) -> None:
    _file(tmp_path / "models/LLM/a/w.bin", 1)
    first = TreeListing.for_cycle(None, 10**18, 0)
    assert _folders(_scan(tmp_path, first), "llm") == {"a": 1}
    # Listed again in the next cycle (nothing reused when the interval is 0): same answer,
    # then a folder added since shows up.
    second = TreeListing.for_cycle(first.finish(), 10**18 + 1, 3_600 * 10**9)
    assert _folders(_scan(tmp_path, second), "llm") == {"a": 1}
    _file(tmp_path / "models/LLM/b/w.bin", 2)
    third = TreeListing.for_cycle(second.finish(), 10**18 + 2, 0)
    assert _folders(_scan(tmp_path, third), "llm") == {"a": 1, "b": 2}


def test_types_whose_loaders_list_files_only_record_no_model_folders(tmp_path: Path) -> None:
    _file(tmp_path / "models/checkpoints/SDXL/base.safetensors", 4)
    inventory = _scan(tmp_path)
    assert "checkpoints" not in inventory.folder_entries
    assert "sdxl" in inventory.directories["checkpoints"]
