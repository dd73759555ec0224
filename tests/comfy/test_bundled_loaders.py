"""The bundled table generated from packs' sources: the loaders the issue names get their
folders without an install, and every entry says where it was read."""

from __future__ import annotations

import json
from importlib import resources

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.loader_lookup import parse_bundled_table
from watchman.comfy.loader_source import learn_loaders
from watchman.comfy.workflow import parse_workflow_json

# UI widget values as the frontend stores them for each loader (first value the file).
NAMED_IN_THE_ISSUE = {
    "UNETLoaderDisTorch2MultiGPU": (
        ["f.safetensors", "default", "cuda:0", 4.0],
        "diffusion_models",
    ),
    "CLIPLoaderMultiGPU": (["t5.safetensors", "flux", "default", "cuda:1"], "text_encoders"),
    "VAELoaderMultiGPU": (["ae.safetensors", "cuda:0"], "vae"),
    "CLIPLoaderGGUFMultiGPU": (["t5-q8.gguf", "flux", "cuda:0"], "text_encoders"),
    "UnetLoaderGGUFDisTorch2MultiGPU": (["f-q8.gguf", "cuda:0", 4.0], "diffusion_models"),
    "WanVideoModelLoaderMultiGPU": (["wan.safetensors", "bf16", "disabled"], "diffusion_models"),
    "NunchakuFluxLoraLoader": (["l.safetensors", 1.0], "loras"),
    "NunchakuQwenImageDiTLoader": (["svdq.safetensors", "auto", 1, False], "diffusion_models"),
    "NunchakuPuLIDLoaderV2": (["pulid.safetensors", "eva.pt", "CPU"], "pulid"),
    "NunchakuTextEncoderLoaderV2": (
        ["flux", "t5.safetensors", "c.safetensors", 512],
        "text_encoders",
    ),
    "InstantIDModelLoader": (["ip-adapter.bin"], "instantid"),
    "PulidModelLoader": (["pulid_sdxl.safetensors"], "pulid"),
    "PulidFluxModelLoader": (["pulid_flux.safetensors"], "pulid"),
    "DiffusionModelLoaderKJ": (
        ["wan.safetensors", "default", "default", False],
        "diffusion_models",
    ),
    "VAELoaderKJ": (["wan_vae.safetensors", "main_device", "bf16"], "vae"),
    "MelBandRoFormerModelLoader": (["MelBandRoformer_fp16.safetensors"], "diffusion_models"),
    "LowVRAMCheckpointLoader": (["ltx-2.safetensors"], "checkpoints"),
    "LowVRAMAudioVAELoader": (["ltx-2.safetensors"], "checkpoints"),
    "MultiTalkModelLoader": (["multitalk.safetensors"], "diffusion_models"),
    "CR Model List": (["a.safetensors", "a", "b.safetensors", "b"], "checkpoints"),
    "CR LoRA List": (["l.safetensors", "l", 1.0, 1.0], "loras"),
    "MZ_ChatGLM3Loader": (["chatglm3-8bit.safetensors"], "llm"),
}


def test_the_loaders_the_issue_names_get_their_folder_without_an_install() -> None:
    nodes = [
        {"id": index, "type": node_type, "widgets_values": values}
        for index, (node_type, (values, _)) in enumerate(NAMED_IN_THE_ISSUE.items(), 1)
    ]
    parsed = parse_workflow_json({"nodes": nodes}, "issue.json")
    first_folder: dict[str, str | None] = {}
    for reference in parsed.model_refs:
        first_folder.setdefault(reference.node_type, reference.folder)
    assert first_folder == {name: folder for name, (_, folder) in NAMED_IN_THE_ISSUE.items()}


def test_every_bundled_entry_names_its_pack_repository_and_commit() -> None:
    text = (resources.files("watchman.comfy") / "data" / "bundled_loaders.json").read_text()
    entries = json.loads(text)["entries"]
    assert len(entries) >= 200
    for entry in entries:
        assert entry["pack"] and entry["repository"].startswith("https://github.com/")
        assert len(entry["commit"]) == 40
    assert len(parse_bundled_table({"entries": entries})) >= 200


def test_a_damaged_bundled_table_gives_no_entries_instead_of_failing() -> None:
    assert parse_bundled_table({"entries": [None, {"node_type": 3}, {"x": 1}]}) == {}
    assert parse_bundled_table([]) == {}


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_any_source_text_is_read_without_an_exception(text: str) -> None:
    source = "class X:\n    def INPUT_TYPES(s):\n        return " + text
    loaders, problems = learn_loaders([("x.py", source.encode("utf-8", "replace"))])
    assert isinstance(loaders, tuple) and isinstance(problems, tuple)
