"""A combo the extractor cannot read names its folder through the ComfyUI loading call
the node hands its value to. Each source is written here and raises if imported."""

from __future__ import annotations

import ast

from watchman.comfy.loader_lookup import loader_table
from watchman.comfy.loader_source import LearnedLoader, learn_loaders
from watchman.comfy.loader_use import folder_loaded_as

from .loader_pack_sources import RAISE

# LoRA Manager's style: names from the pack's own scanner, loaded through ComfyUI.
SCANNER_STYLE = (
    RAISE
    + """
import comfy.sd
from comfy_api.latest import io
from .scanner import cached_names, absolute_path, pick

class ScannedCheckpointLoader:
    NAME = "Scanned Checkpoint Loader"
    @classmethod
    def INPUT_TYPES(cls):
        names = cls._names()
        return {"required": {"ckpt_name": (names,), "base_model": (cached_names("base"),),
                             "config": ("STRING", {"default": ""})}}
    FUNCTION = "load"

    def load(self, ckpt_name, base_model, config):
        pool = cached_names(base_model)
        ckpt_name = pick(pool)
        path, info = absolute_path(ckpt_name)
        comfy.sd.load_checkpoint_guess_config(path, embedding_directory=config)

class ScannedUnetLoader(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="Scanned Unet Loader",
                         inputs=[io.Combo.Input("unet_name", options=cached_names("unet"))])

    @classmethod
    def execute(cls, unet_name):
        return io.NodeOutput(comfy.sd.load_diffusion_model(absolute_path(unet_name)[0]))

class ScannedOtherLoader:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"name": (cached_names("x"),), "fixed": (["a.safetensors"],)}}
    FUNCTION = "load"

    def load(self, name, fixed):
        my_loader.load_checkpoint_guess_config(name)
        comfy.sd.load_checkpoint_guess_config(fixed)

NODE_CLASS_MAPPINGS = {
    ScannedCheckpointLoader.NAME: ScannedCheckpointLoader,
    "Scanned Other Loader": ScannedOtherLoader,
}
"""
)


def learned(source: str) -> dict[str, LearnedLoader]:
    loaders, problems = learn_loaders([("nodes.py", source.encode())])
    assert not problems
    return {loader.node_type: loader for loader in loaders}


def test_a_scanned_combo_handed_to_comfys_checkpoint_loader_lists_checkpoints() -> None:
    loader = learned(SCANNER_STYLE)["Scanned Checkpoint Loader"]
    assert dict(loader.model_inputs) == {"ckpt_name": ("checkpoints",)}
    assert loader.widgets == ("ckpt_name", "base_model", "config")


def test_a_v3_combo_handed_to_comfys_diffusion_model_loader_lists_diffusion_models() -> None:
    loader = learned(SCANNER_STYLE)["Scanned Unet Loader"]
    assert dict(loader.model_inputs) == {"unet_name": ("diffusion_models",)}


def test_a_pack_function_of_the_same_name_and_literal_choices_say_nothing() -> None:
    # Kept for its written list (the offline check of list values), never as a loader.
    other = learned(SCANNER_STYLE)["Scanned Other Loader"]
    assert other.model_inputs == () and other.layout
    assert loader_table([other]).spec("Scanned Other Loader") is None


def method(source: str) -> ast.FunctionDef:
    """The one function definition ``source`` holds."""
    parsed = ast.parse(source).body[0]
    assert isinstance(parsed, ast.FunctionDef)
    return parsed


def test_loading_calls_of_different_folders_say_nothing() -> None:
    load = method(
        "def load(self, name):\n"
        "    comfy.sd.load_diffusion_model(name)\n"
        "    comfy.sd.load_checkpoint_guess_config(name)\n"
    )
    assert folder_loaded_as(load, "name") == ""
    assert folder_loaded_as(load, "other") == ""


def test_options_handed_to_a_loading_call_are_not_its_file() -> None:
    load = method(
        "def load(self, clip_name, clip_type, weight_dtype):\n"
        "    path = folder_paths.get_full_path('text_encoders', clip_name)\n"
        "    comfy.sd.load_clip(ckpt_paths=[path], clip_type=clip_type,\n"
        "                       model_options={'dtype': weight_dtype})\n"
    )
    assert folder_loaded_as(load, "clip_name") == "text_encoders"
    assert folder_loaded_as(load, "clip_type") == ""
    assert folder_loaded_as(load, "weight_dtype") == ""
