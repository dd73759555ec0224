"""The bundled table generated from packs' sources: the loaders the issue names get their
folders without an install, and every entry says where it was read."""

from __future__ import annotations

import json
from importlib import resources

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.loader_lookup import loader_table, parse_bundled_table
from watchman.comfy.loader_source import learn_loaders
from watchman.comfy.model_references import references_for_node
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


# Loaders of packs added to the table in session 6, as a UI workflow stores them (file
# names made up): each value gets its folder from the table alone.
ADDED_PACKS = {
    "easy loraStack": (
        [True, "simple", 2, "style.safetensors", 1.0, 1.0, 1.0, "None", 1.0, 1.0, 1.0],
        [("style.safetensors", "loras")],
    ),
    "easy XYInputs: Checkpoint": (
        ["Ckpt Names+ClipSkip+VAE", 2, "a.safetensors", -1, "Baked VAE", "b.ckpt", -2, "v.pt"],
        [("a.safetensors", "checkpoints"), ("b.ckpt", "checkpoints"), ("v.pt", "vae")],
    ),
    "ttN pipeLoader_v2": (
        ["real.safetensors", "Default", "kl.safetensors", -1, "", "a cat"],
        [("real.safetensors", "checkpoints"), ("kl.safetensors", "vae")],
    ),
    "CheckpointLoader|pysssss": (
        ["sd15/base.safetensors"],
        [("sd15/base.safetensors", "checkpoints")],
    ),
    "INPAINT_LoadInpaintModel": (["big-lama.pt"], [("big-lama.pt", "inpaint")]),
    "BrushNetLoader": (
        ["brushnet/random_mask.safetensors", "float16"],
        [("brushnet/random_mask.safetensors", "inpaint")],
    ),
    "ACN_ControlNetLoaderAdvanced": (
        ["cn-depth.safetensors"],
        [("cn-depth.safetensors", "controlnet")],
    ),
    "FaceRestoreModelLoader": (["codeformer.pth"], [("codeformer.pth", "facerestore_models")]),
    "TensorRTLoader": (["unet_trt.engine", "sdxl_base"], [("unet_trt.engine", "tensorrt")]),
    "CogVideoXModelLoader": (
        ["cogvideox_5b.safetensors", "bf16", "disabled", "main_device", False, "sdpa"],
        [("cogvideox_5b.safetensors", "diffusion_models")],
    ),
    "AV_CheckpointLoader": (
        ["model.safetensors", "Baked VAE", -1, "None", 1.0, 1.0, "p", "n"],
        [("model.safetensors", "checkpoints")],
    ),
    "SeargeModelSelector": (
        ["sdxl_base.safetensors", "None", "sdxl_vae.safetensors"],
        [("sdxl_base.safetensors", "checkpoints"), ("sdxl_vae.safetensors", "vae")],
    ),
    "AnimateDiffModuleLoader": (["mm_sd_v15_v2.ckpt"], [("mm_sd_v15_v2.ckpt", "animatediff")]),
    "OnnxDetectionModelLoader": (
        ["vitpose_h.onnx", "yolov10m.onnx", "CUDAExecutionProvider"],
        [("vitpose_h.onnx", "detection"), ("yolov10m.onnx", "detection")],
    ),
    "LoadLBMModel": (
        ["lbm_relight.safetensors", "bf16", "main_device"],
        [("lbm_relight.safetensors", "diffusion_models")],
    ),
    # Session 7: calcuis' GGUF loaders list its own types over the core directories.
    "LoaderGGUF": (["flux1-dev-Q4_0.gguf"], [("flux1-dev-Q4_0.gguf", "diffusion_models")]),
    "VaeGGUF": (["ae-Q8_0.gguf"], [("ae-Q8_0.gguf", "vae")]),
    "AudioEncoderLoaderGGUF": (["w2v-Q8.gguf"], [("w2v-Q8.gguf", "audio_encoders")]),
    "BBoxDetectorLoader(FaceParsing)": (
        ["face_yolov8m.pt"],
        [("face_yolov8m.pt", "ultralytics_bbox")],
    ),
    "ADMD_CheckpointLoader": (
        ["sd15.safetensors", "DDIMScheduler", False],
        [("sd15.safetensors", "checkpoints")],
    ),
    "Echo_LoadModel": (
        ["sd-vae-ft-mse.safetensors", "none", False, "audio_drived", False, False],
        [("sd-vae-ft-mse.safetensors", "vae")],
    ),
    # ReActor lists its face restorers and saved face models by globbing directories.
    "ReActorRestoreFace": (
        ["retinaface_resnet50", "codeformer-v0.1.0.pth", 1.0, 0.5],
        [("codeformer-v0.1.0.pth", "facerestore_models")],
    ),
    "ReActorLoadFaceModel": (["me.safetensors"], [("me.safetensors", "reactor_faces")]),
    "ReActorFaceSwapOpt": (
        [True, "inswapper_128.onnx", "retinaface_resnet50", "GFPGANv1.4.pth", 1.0, 0.5],
        [("inswapper_128.onnx", "insightface"), ("GFPGANv1.4.pth", "facerestore_models")],
    ),
    "LayerMask: TransparentBackgroundUltra": (
        ["ckpt_base.pth", "VITMatte", 6, 6],
        [("ckpt_base.pth", "transparent-background")],
    ),
    # rgthree keys its mapping by NAME = get_name("..."), a helper of another file.
    "Lora Loader Stack (rgthree)": (
        ["a.safetensors", 1.0, "None", 1.0, "b.safetensors", 0.5, "None", 1.0],
        [("a.safetensors", "loras"), ("b.safetensors", "loras")],
    ),
    "Power Prompt (rgthree)": (
        ["<lora:ink:0.7> a cat", "CHOOSE", "CHOOSE", "CHOOSE"],
        [("ink", "loras")],
    ),
    "HalloLoader": (
        ["sd15.safetensors", "vae-ft-mse.safetensors", "hallo/motion_module.pth", "fp16", False],
        [
            ("sd15.safetensors", "checkpoints"),
            ("vae-ft-mse.safetensors", "vae"),
            ("hallo/motion_module.pth", "hallo"),
        ],
    ),
    "FlashVSRInitPipe": (
        ["tiny", "wan_2.1_vae.safetensors", True, "bf16", "auto", "sdpa"],
        [("wan_2.1_vae.safetensors", "vae")],
    ),
    # SeedVR2 fetches the models of its registry into models/SEEDVR2 itself.
    "SeedVR2LoadDiTModel": (["seedvr2_ema_3b_fp8_e4m3fn.safetensors", "cuda:0", 0], []),
    # Diffusers folders, as the core DiffusersLoader names them: no extension.
    "Diffusers Model Loader": (["stable-diffusion-v1-5"], [("stable-diffusion-v1-5", "diffusers")]),
    "ADMD_DiffusersLoader": (
        [False, "DDIMScheduler", False, "sd15-diffusers"],
        [("sd15-diffusers", "diffusers")],
    ),
    # It fetches a Hugging Face repository itself: no file to look for.
    "MarigoldModelLoader": (["prs-eth/marigold-depth-v1-1"], []),
    # The combo only inserts a tag; the tag in the text is the reference.
    "easy wildcards": (
        ["a <lora:x:0.5> cat", "Select the LoRA to add to the text"],
        [("x", "loras")],
    ),
}


def test_loaders_of_the_added_packs_get_their_folders_without_an_install() -> None:
    nodes = [
        {"id": index, "type": node_type, "widgets_values": values}
        for index, (node_type, (values, _)) in enumerate(ADDED_PACKS.items(), 1)
    ]
    parsed = parse_workflow_json({"nodes": nodes}, "added.json")
    found: dict[str, list[tuple[str, str | None]]] = {name: [] for name in ADDED_PACKS}
    for reference in parsed.model_refs:
        found[reference.node_type].append((reference.value, reference.folder))
    assert found == {name: expected for name, (_, expected) in ADDED_PACKS.items()}


def test_loaders_that_download_their_own_weights_name_no_missing_file() -> None:
    # joy_caption_two's loader takes Hugging Face repository ids it downloads itself, and
    # 3D-Pack's loaders read the pack's own Checkpoints folder, fetching missing defaults.
    table = loader_table()
    for node_type, value in (
        ("Joy_caption_two_load", "unsloth/Meta-Llama-3.1-8B-Instruct-bnb-4bit"),
        ("[Comfy3D] Load CRM MVDiffusion Model", "pixel-diffusion.pth"),
    ):
        spec = table.spec(node_type)
        assert spec is not None and spec.model_inputs == {}
        assert references_for_node("1", node_type, [(None, value)], False, False, table) == ()
