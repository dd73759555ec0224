"""On a disk that ignores letter case ComfyUI's tokenizer finds an embedding written in
another case, so the needs call it present there, and misspelled only where case counts."""

from __future__ import annotations

from pathlib import Path

from watchman.comfy.workflow_model import ModelReference
from watchman.stages.inventory.model_scan import disk_ignores_case
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.stages.model_reference_needs import find_model_needs


def prompt_embedding(name: str) -> ModelReference:
    # A prompt's token: folder embeddings, on a node whose input is no loader list.
    return ModelReference("1", "CLIPTextEncode", "text", name, "embeddings", False, False, None)


def inventory_with(root: str, relative_path: str, case_blind: bool) -> ModelInventory:
    model = ModelFile("embeddings", relative_path, root, 1_000, 0.0)
    return ModelInventory(
        roots={"embeddings": (root,)},
        files={"embeddings": (model,)},
        separator="/",
        case_blind_roots=frozenset({root} if case_blind else ()),
    )


def test_an_embedding_in_another_case_is_present_on_a_disk_that_ignores_case() -> None:
    inventory = inventory_with("/models/embeddings", "EasyNeg.safetensors", case_blind=True)
    assert find_model_needs([prompt_embedding("easyneg")], inventory) == ()


def test_the_same_embedding_is_misspelled_where_case_counts() -> None:
    inventory = inventory_with("/models/embeddings", "EasyNeg.safetensors", case_blind=False)
    (need,) = find_model_needs([prompt_embedding("easyneg")], inventory)
    assert need.state == "misspelled"
    assert need.pick == "EasyNeg"


def test_a_disk_that_knows_case_is_said_to_know_it(tmp_path: Path) -> None:
    (tmp_path / "Embeddings").mkdir()
    assert not disk_ignores_case(str(tmp_path / "Embeddings"))


def test_a_directory_reached_under_its_swapped_name_is_on_a_case_blind_disk(
    tmp_path: Path,
) -> None:
    # What a case-insensitive volume answers, made here with a link of the swapped name.
    (tmp_path / "Embeddings").mkdir()
    (tmp_path / "eMBEDDINGS").symlink_to(tmp_path / "Embeddings")
    assert disk_ignores_case(str(tmp_path / "Embeddings"))


def test_a_name_without_letters_or_a_missing_directory_counts_case(tmp_path: Path) -> None:
    (tmp_path / "2024").mkdir()
    assert not disk_ignores_case(str(tmp_path / "2024"))
    assert not disk_ignores_case(str(tmp_path / "gone"))
