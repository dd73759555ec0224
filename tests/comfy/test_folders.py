"""The folder type table matches ComfyUI's folder_paths.py and answers name questions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from watchman.comfy.folders import (
    FOLDER_TYPES,
    MODEL_EXTENSIONS,
    SUPPORTED_PT_EXTENSIONS,
    canonical_folder,
    file_extension,
    folder_type,
    folders_using_dir,
    is_model_file_name,
    pack_folder_type,
)
from watchman.comfy.workflow import parse_workflow_json

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


def _reference() -> dict:
    reference_file = CORPUS / "comfyui" / "folder_paths.json"
    if not reference_file.is_file():
        pytest.skip(f"../shared/corpus is absent: {reference_file} not found")
    return json.loads(reference_file.read_text(encoding="utf-8"))


def test_the_table_covers_every_folder_of_the_reference_with_its_dirs_and_extensions():
    reference = _reference()
    for name, expected in reference["folders"].items():
        kind = FOLDER_TYPES[name]
        assert list(kind.default_dirs) == expected["default_dirs"], name
        if expected["extensions"] == ["folder"]:
            assert kind.holds_folders, name
        else:
            assert kind.extensions == frozenset(expected["extensions"]), name
            assert not kind.holds_folders, name


def test_supported_pt_extensions_and_legacy_aliases_match_the_reference():
    reference = _reference()
    assert frozenset(reference["supported_pt_extensions"]) == SUPPORTED_PT_EXTENSIONS
    for legacy, canonical in reference["legacy_aliases"].items():
        assert canonical_folder(legacy) == canonical


def test_later_version_folders_of_the_reference_are_known_but_marked_unverified():
    reference = _reference()
    for name in reference["later_versions_unverified"]["folders"]:
        assert FOLDER_TYPES[name].origin == "core_unverified"
        assert FOLDER_TYPES[name].extensions == SUPPORTED_PT_EXTENSIONS


def test_physical_dir_aliases_of_the_reference_belong_to_their_folder_types():
    reference = _reference()
    for directory, owner in reference["physical_dir_aliases"].items():
        assert owner in folders_using_dir(directory)


def test_legacy_names_map_to_canonical_folders_whatever_their_case():
    assert canonical_folder("clip") == "text_encoders"
    assert canonical_folder(" UNET ") == "diffusion_models"
    assert canonical_folder("Checkpoints") == "checkpoints"
    assert canonical_folder("IPAdapter") == "ipadapter"


def test_t2i_adapter_is_a_directory_of_controlnet_not_a_folder_type():
    assert "models/t2i_adapter" in FOLDER_TYPES["controlnet"].default_dirs
    assert folders_using_dir("models\\T2I_Adapter") == ("controlnet",)
    assert "t2i_adapter" not in FOLDER_TYPES


def test_gguf_pack_folders_share_the_core_directories_with_the_gguf_extension():
    unet_gguf = FOLDER_TYPES["unet_gguf"]
    assert unet_gguf.shares_dirs_with == ("diffusion_models",)
    assert unet_gguf.accepts_file("flux1-dev-Q4_0.GGUF")
    assert not unet_gguf.accepts_file("flux1-dev.safetensors")
    assert folders_using_dir("models/unet") == ("diffusion_models", "unet_gguf")


def test_extension_matching_is_case_insensitive_and_uses_the_last_extension():
    checkpoints = FOLDER_TYPES["checkpoints"]
    assert checkpoints.accepts_file("SDXL.SafeTensors")
    assert checkpoints.accepts_file("model.torchscript.pt")
    assert not checkpoints.accepts_file("notes.txt")
    assert not checkpoints.accepts_file("model.gguf")


def test_classifiers_accept_only_files_without_extension_and_custom_nodes_any():
    assert FOLDER_TYPES["classifiers"].accepts_file("aesthetic")
    assert not FOLDER_TYPES["classifiers"].accepts_file("aesthetic.pt")
    assert FOLDER_TYPES["custom_nodes"].accepts_file("anything.py")
    assert not FOLDER_TYPES["custom_nodes"].holds_models


def test_diffusers_holds_folders_and_accepts_no_plain_file():
    assert FOLDER_TYPES["diffusers"].holds_folders
    assert not FOLDER_TYPES["diffusers"].accepts_file("model_index.json")


def test_model_file_names_include_pack_formats_and_ignore_case_and_separators():
    assert is_model_file_name("SDXL\\juggernaut.SAFETENSORS")
    assert is_model_file_name("flux1-dev-Q8_0.gguf")
    assert is_model_file_name("yolov8m.onnx")
    assert is_model_file_name("rife47.engine")
    assert is_model_file_name("sam_vit_b.torchscript.pt")
    assert not is_model_file_name("a photo of a cat")
    assert not is_model_file_name("config.yaml")
    assert not is_model_file_name("folder.safetensors/readme")
    assert {".gguf", ".onnx"} <= MODEL_EXTENSIONS


def test_unknown_folders_become_pack_folders_with_the_model_extensions():
    kind = pack_folder_type("IPAdapter", "models/IPAdapter")
    assert kind.name == "ipadapter"
    assert kind.default_dirs == ("models/IPAdapter",)
    assert kind.accepts_file("ip-adapter_sd15.bin")
    assert kind.accepts_file("antelopev2.onnx")
    assert pack_folder_type("clip", "models/clip") is FOLDER_TYPES["text_encoders"]
    assert folder_type("nonsense") is None


@pytest.mark.parametrize(
    "name",
    ["a.SafeTensors", "a.b.pt", ".hidden", "..x.pt", "noext", "trailing.", "...", "", ".a.b"],
)
def test_file_extension_agrees_with_splitext(name):
    assert file_extension(name) == os.path.splitext(name)[1].lower()


def test_the_inpaint_folder_takes_fooocus_patch_files_as_the_pack_registers_it() -> None:
    # comfyui-inpaint-nodes lists .patch files in its inpaint folder: Fooocus' patch is one.
    document = {
        "nodes": [
            {
                "id": 1,
                "type": "INPAINT_LoadFooocusInpaint",
                "widgets_values": ["fooocus_inpaint_head.pth", "inpaint_v26.fooocus.patch"],
            }
        ]
    }
    parsed = parse_workflow_json(document, "inpaint")
    assert [(ref.value, ref.folder) for ref in parsed.model_refs] == [
        ("fooocus_inpaint_head.pth", "inpaint"),
        ("inpaint_v26.fooocus.patch", "inpaint"),
    ]
