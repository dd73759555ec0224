"""The loader table is data that agrees with ComfyUI's folders and its own widget lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchman.comfy.folders import canonical_folder
from watchman.comfy.loader_lookup import loader_spec
from watchman.comfy.loaders import LOADERS
from watchman.comfy.node_kinds import (
    FRONTEND_ONLY_NODES,
    is_frontend_only,
    parse_core_node_list,
)

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"

CORE_LOADERS = {
    "CheckpointLoaderSimple": {"ckpt_name": "checkpoints"},
    "CheckpointLoader": {"config_name": "configs", "ckpt_name": "checkpoints"},
    "ImageOnlyCheckpointLoader": {"ckpt_name": "checkpoints"},
    "unCLIPCheckpointLoader": {"ckpt_name": "checkpoints"},
    "LoraLoader": {"lora_name": "loras"},
    "LoraLoaderModelOnly": {"lora_name": "loras"},
    "VAELoader": {"vae_name": "vae"},
    "CLIPLoader": {"clip_name": "text_encoders"},
    "DualCLIPLoader": {"clip_name1": "text_encoders", "clip_name2": "text_encoders"},
    "UNETLoader": {"unet_name": "diffusion_models"},
    "ControlNetLoader": {"control_net_name": "controlnet"},
    "DiffControlNetLoader": {"control_net_name": "controlnet"},
    "CLIPVisionLoader": {"clip_name": "clip_vision"},
    "StyleModelLoader": {"style_model_name": "style_models"},
    "UpscaleModelLoader": {"model_name": "upscale_models"},
    "LatentUpscaleModelLoader": {"model_name": "latent_upscale_models"},
    "GLIGENLoader": {"gligen_name": "gligen"},
    "HypernetworkLoader": {"hypernetwork_name": "hypernetworks"},
    "PhotoMakerLoader": {"photomaker_model_name": "photomaker"},
    "AudioEncoderLoader": {"audio_encoder_name": "audio_encoders"},
    "ModelPatchLoader": {"name": "model_patches"},
}


@pytest.mark.parametrize(("node_type", "inputs"), sorted(CORE_LOADERS.items()))
def test_core_loaders_map_their_inputs_to_comfyui_folders(
    node_type: str, inputs: dict[str, str]
) -> None:
    spec = loader_spec(node_type)
    assert spec is not None
    assert dict(spec.model_inputs) == inputs


def test_every_model_input_is_one_of_its_widgets_and_every_folder_is_canonical() -> None:
    for node_type, spec in LOADERS.items():
        for input_name, folder in spec.model_inputs.items():
            assert input_name in spec.widgets, (node_type, input_name)
            assert canonical_folder(folder) == folder, (node_type, folder)
        assert len(set(spec.widgets)) == len(spec.widgets), node_type


def test_pack_loaders_use_the_folders_their_packs_register() -> None:
    assert loader_spec("UnetLoaderGGUF").model_inputs["unet_name"] == "diffusion_models"  # type: ignore[union-attr]
    assert loader_spec("IPAdapterModelLoader").model_inputs["ipadapter_file"] == "ipadapter"  # type: ignore[union-attr]
    assert loader_spec("UltralyticsDetectorProvider").model_inputs["model_name"] == "ultralytics"  # type: ignore[union-attr]
    assert dict(loader_spec("IPAdapterUnifiedLoader").model_inputs) == {}  # type: ignore[union-attr]


def test_frontend_only_nodes_are_the_frontends_virtual_nodes() -> None:
    assert {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"} <= FRONTEND_ONLY_NODES
    assert is_frontend_only("Reroute") and not is_frontend_only("PrimitiveString")


def test_core_node_lists_are_read_without_comments() -> None:
    assert parse_core_node_list("# head\nKSampler\n\n  VAELoader \n# x\n") == {
        "KSampler",
        "VAELoader",
    }


def test_the_reference_core_node_list_holds_every_core_loader_and_the_virtual_nodes() -> None:
    path = CORPUS / "comfyui" / "core_nodes.txt"
    if not path.is_file():
        pytest.skip("../shared/corpus is absent: no core_nodes.txt to compare against")
    core = parse_core_node_list(path.read_text(encoding="utf-8"))
    assert set(CORE_LOADERS) <= core
    assert core >= FRONTEND_ONLY_NODES


def test_a_checkpoint_used_as_a_hook_is_a_checkpoint_reference() -> None:
    from watchman.comfy.workflow import parse_workflow_json

    document = {
        "nodes": [
            {
                "id": 1,
                "type": "CreateHookModelAsLora",
                "mode": 0,
                "widgets_values": ["sdxl\\\\hook_base.safetensors", 1.0, 1.0],
            },
        ],
        "links": [],
    }
    [reference] = parse_workflow_json(document, "hook.json").model_refs
    assert (reference.input, reference.folder) == ("ckpt_name", "checkpoints")
