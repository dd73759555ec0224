"""Loader values that name a model folder (Florence2's models/LLM/<name>, ELLA's T5
encoders, ACE-Step's parts): present when the loader lists the folder as written and it
holds data, else missing, misspelled, misplaced or broken (empty). Loaders that download
a repository id themselves are never missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchman.comfy.workflow import parse_workflow_json
from watchman.stages.inventory.model_scan import scan_models
from watchman.stages.inventory.models import ModelInventory
from watchman.stages.needs import WorkflowNeeds, assess_workflow
from watchman.stages.resolve import search_request

INSTALLED = {
    "Florence2ModelLoader",
    "DownloadAndLoadFlorence2Model",
    "Florence2Run",
    "T5TextEncoderLoader #ELLA",
    "ACEModelLoader",
    "NunchakuDepthPreprocessor",
}


def _file(path: Path, size: int = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


@pytest.fixture
def inventory(tmp_path: Path) -> ModelInventory:
    _file(tmp_path / "models/LLM/Florence-2-large/model.safetensors", 10)
    _file(tmp_path / "models/LLM/Florence-2-large/config.json", 2)
    (tmp_path / "models/LLM/Florence-2-base").mkdir(parents=True)  # an empty folder
    _file(tmp_path / "models/ella_encoder/flan-t5-xl/config.json", 2)
    _file(tmp_path / "models/ella_encoder/half-copied/model.safetensors", 2)  # no config
    _file(tmp_path / "models/TTS/ACE-Step-v1-3.5B/music_dcae_f8c8/w.safetensors", 3)
    _file(tmp_path / "models/checkpoints/depth-anything-large/w.safetensors", 3)
    # A Florence2 folder left in the wrong models folder.
    _file(tmp_path / "models/TTS/ACE-Step-v1-3.5B/CogFlorence-2.2-Large/w.bin", 3)
    inventory = scan_models(tmp_path, environ={}, home_dir=tmp_path / "home")
    return ModelInventory(
        inventory.roots,
        inventory.files,
        inventory.comfyui_root,
        separator="/",  # ComfyUI on Linux, whatever runs the tests
        directories=inventory.directories,
        folder_entries=inventory.folder_entries,
    )


def _ui(node_type: str, *widgets: object) -> dict:
    return {
        "nodes": [{"id": 1, "type": node_type, "mode": 0, "widgets_values": list(widgets)}],
        "links": [],
    }


def _api(node_type: str, **inputs: object) -> dict:
    return {"1": {"class_type": node_type, "inputs": inputs}}


def _needs(document: dict, inventory: ModelInventory) -> WorkflowNeeds:
    return assess_workflow(parse_workflow_json(document, "w.json"), inventory, INSTALLED)


def test_a_present_llm_folder_is_ready_in_ui_and_api_workflows(inventory) -> None:
    ui = _needs(_ui("Florence2ModelLoader", "Florence-2-large", "fp16", "sdpa"), inventory)
    api = _needs(_api("Florence2ModelLoader", model="Florence-2-large"), inventory)
    assert ui.status == "ready" and api.status == "ready"


def test_an_absent_llm_folder_is_a_missing_folder_of_llm(inventory) -> None:
    for document in (
        _ui("Florence2ModelLoader", "Florence-2-large-ft", "fp16", "sdpa"),
        _api("Florence2ModelLoader", model="Florence-2-large-ft", precision="fp16"),
    ):
        needs = _needs(document, inventory)
        assert needs.status == "missing_models"
        [need] = needs.missing_models
        assert need.state == "missing" and need.locations == ()
        assert need.reference.lookup == "folder"
        assert (need.key.folder, need.reference.value) == ("llm", "Florence-2-large-ft")


def test_a_folder_spelled_otherwise_than_listed_names_the_listed_one(inventory) -> None:
    needs = _needs(_api("Florence2ModelLoader", model="florence-2-LARGE"), inventory)
    [need] = needs.missing_models
    assert need.state == "misspelled" and need.pick == "Florence-2-large"


def test_an_empty_listed_folder_is_broken_and_says_why(inventory) -> None:
    needs = _needs(_api("Florence2ModelLoader", model="Florence-2-base"), inventory)
    assert needs.status == "missing_models"
    [need] = needs.missing_models
    assert need.state == "broken" and "no data" in (need.problem or "")
    assert need.locations[0].relative_path == "Florence-2-base"


def test_a_nested_value_is_not_a_first_level_folder(inventory) -> None:
    needs = _needs(_api("Florence2ModelLoader", model="Florence-2-large/config"), inventory)
    assert [need.state for need in needs.missing_models] == ["missing"]


def test_a_model_folder_of_another_type_is_misplaced_with_where_it_is(inventory) -> None:
    needs = _needs(_api("Florence2ModelLoader", model="CogFlorence-2.2-Large"), inventory)
    [need] = needs.missing_models
    assert need.state == "misplaced" and need.locations[0].folder == "ace_step"


def test_a_repository_id_that_the_loader_downloads_itself_is_never_missing(inventory) -> None:
    for document in (
        _ui("DownloadAndLoadFlorence2Model", "microsoft/Florence-2-base-ft", "fp16", "sdpa"),
        _api("DownloadAndLoadFlorence2Model", model="thwri/CogFlorence-2.2-Large"),
    ):
        needs = _needs(document, inventory)
        assert needs.status == "ready" and needs.missing_models == ()


def test_ella_lists_only_the_folders_holding_a_config(inventory) -> None:
    assert _needs(_api("T5TextEncoderLoader #ELLA", name="flan-t5-xl"), inventory).status == (
        "ready"
    )
    needs = _needs(_api("T5TextEncoderLoader #ELLA", name="half-copied"), inventory)
    [need] = needs.missing_models
    assert need.state == "missing" and need.key.folder == "ella_encoder"


def test_ace_step_parts_are_folders_of_its_checkpoint_folder(inventory) -> None:
    needs = _needs(
        _api(
            "ACEModelLoader",
            dcae_checkpoint="music_dcae_f8c8",
            vocoder_checkpoint="music_vocoder",
            ace_step_checkpoint="music_dcae_f8c8",
            text_encoder_checkpoint="music_dcae_f8c8",
        ),
        inventory,
    )
    [need] = needs.missing_models
    assert (need.state, need.key.folder, need.reference.value) == (
        "missing",
        "ace_step",
        "music_vocoder",
    )


def test_a_folder_of_a_type_without_recorded_model_folders_is_any_sub_folder(inventory) -> None:
    # Nunchaku's depth preprocessor lists the sub-folders of models/checkpoints.
    ready = _needs(_api("NunchakuDepthPreprocessor", model_path="depth-anything-large"), inventory)
    assert ready.status == "ready"
    missing = _needs(_api("NunchakuDepthPreprocessor", model_path="depth-other"), inventory)
    assert [(n.state, n.key.folder) for n in missing.missing_models] == [("missing", "checkpoints")]


def test_a_folder_the_live_server_lists_is_present_unless_it_is_empty(inventory) -> None:
    def offered(node_type: str, input_name: str) -> tuple[str, ...]:
        return ("Florence-2-large", "Florence-2-base", "Only-On-The-Server")

    def needs_of(value: str) -> WorkflowNeeds:
        parsed = parse_workflow_json(_api("Florence2ModelLoader", model=value), "w.json")
        return assess_workflow(parsed, inventory, INSTALLED, offered)

    assert needs_of("Only-On-The-Server").status == "ready"
    [empty] = needs_of("Florence-2-base").missing_models
    assert empty.state == "broken"


def test_the_resolve_stage_asks_for_a_missing_folder_as_a_folder(inventory) -> None:
    [need] = _needs(
        _api("Florence2ModelLoader", model="Florence-2-large-ft"), inventory
    ).missing_models
    request = search_request(need)
    assert request.folder_entry and (request.folder, request.value) == (
        "llm",
        "Florence-2-large-ft",
    )
    [file_need] = _needs(
        _api("NunchakuDepthPreprocessor", model_path="depth-other"), inventory
    ).missing_models
    assert search_request(file_need).folder_entry  # a folder of checkpoints, not a file
