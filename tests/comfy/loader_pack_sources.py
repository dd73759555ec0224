"""Node pack sources in every style the loader extractor reads, for tests.

Each source starts by raising: importing it would fail the test, so recognising its
loaders proves they were read, not run.
"""

from __future__ import annotations

RAISE = 'raise RuntimeError("this pack must never be imported")\n'

CLASSIC = (
    RAISE
    + """
import folder_paths

class MyCheckpointLoader:
    @classmethod
    def INPUT_TYPES(s):
        return {
            "required": {
                "model": ("MODEL",),
                "ckpt": (folder_paths.get_filename_list("checkpoints"), {"tooltip": "x"}),
                "strength": ("FLOAT", {"default": 1.0}),
            },
            "optional": {"lora": (["None"] + folder_paths.get_filename_list("loras"),)},
        }

NODE_CLASS_MAPPINGS = {"My Checkpoint Loader": MyCheckpointLoader}
"""
)

BOUND_NAMES = (
    RAISE
    + """
import folder_paths
from folder_paths import get_filename_list

UPSCALERS = folder_paths.get_filename_list("upscale_models")

def vae_choices():
    names = []
    names += get_filename_list("vae")
    names.extend(get_filename_list("vae_approx"))
    return sorted(names)

class BoundLoader:
    NAME = "Bound Loader"
    @classmethod
    def INPUT_TYPES(cls):
        gguf = [x for x in folder_paths.get_filename_list("unet_gguf") if x.endswith(".gguf")]
        inputs = {"required": {"upscaler": (UPSCALERS,), "vae": (vae_choices(),)}}
        inputs["optional"] = {"unet": (gguf,), "device": (["cpu", "cuda"],)}
        return inputs

    @classmethod
    def clip_list(cls):
        return folder_paths.get_filename_list("clip") + folder_paths.get_filename_list("clip_gguf")

class ClipListLoader(BoundLoader):
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"clip_name": (s.clip_list(),), "image": ("IMAGE",)}}

class FolderPathLoader:
    @classmethod
    def INPUT_TYPES(s):
        root = folder_paths.get_folder_paths("insightface")[0]
        return {"required": {"provider": (os.listdir(root),)}}

NODE_CLASS_MAPPINGS = {}
NODE_CLASS_MAPPINGS.update({BoundLoader.NAME: BoundLoader})
NODE_CLASS_MAPPINGS["ClipListLoader"] = ClipListLoader
NODE_CLASS_MAPPINGS |= {"FolderPathLoader": FolderPathLoader}
"""
)

V3 = (
    RAISE
    + """
import folder_paths
from comfy_api.latest import ComfyExtension, io

class StyleLoaderV3(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="StyleLoaderV3",
            inputs=[
                io.Model.Input("model"),
                io.Float.Input("strength", optional=True),
                io.Combo.Input("style", options=folder_paths.get_filename_list("style_models")),
            ],
            outputs=[io.Model.Output()],
        )

class Extension(ComfyExtension):
    async def get_node_list(self):
        return [StyleLoaderV3]

async def comfy_entrypoint():
    return Extension()
"""
)

WRAPPERS = (
    RAISE
    + """
from nodes import NODE_CLASS_MAPPINGS as CORE
import nodes

def override_class(cls):
    class Wrapped(cls):
        @classmethod
        def INPUT_TYPES(s):
            inputs = copy.deepcopy(cls.INPUT_TYPES())
            inputs["optional"]["device"] = (["cuda:0"],)
            return inputs
    return Wrapped

class SubclassLoader(nodes.VAELoader):
    pass

class SuperLoader(nodes.CheckpointLoaderSimple):
    @classmethod
    def INPUT_TYPES(s):
        base = super().INPUT_TYPES()
        base["optional"] = {"after": ("*",)}
        return base

NODE_CLASS_MAPPINGS = {
    "UNETLoaderWrapped": override_class(CORE["UNETLoader"]),
    "CLIPLoaderWrapped": override_class(nodes.CLIPLoader),
    "SubclassLoader": SubclassLoader,
    "SuperLoader": SuperLoader,
}
NODE_CONFIG = {"ConfigLoader": {"class": SubclassLoader, "name": "Config Loader"}}
"""
)

BROKEN = "class Broken:\n    def INPUT_TYPES(:\n        pass\n"

LOOPS = (
    RAISE
    + """
import folder_paths

MAX_STACK = 3

class StackLoader:
    modes = ["simple", "advanced"]

    @classmethod
    def INPUT_TYPES(cls):
        choices = ["None"] + folder_paths.get_filename_list("loras")
        inputs = {
            "required": {"mode": (cls.modes,), "count": ("INT", {"default": 1})},
            "optional": {"stack": ("LORA_STACK",)},
        }
        for n in range(1, MAX_STACK + 1):
            inputs["optional"][f"lora_{n}"] = (choices,)
            inputs["optional"][f"weight_{n}"] = ("FLOAT", {"default": 1.0})
        for other in some_runtime_list():
            inputs["optional"][f"ignored_{other}"] = ("FLOAT",)
        return inputs

class PickerLoader:
    @classmethod
    def INPUT_TYPES(s):
        pickers = {}
        for k in range(2):
            pickers[f"unet_{k}"] = (folder_paths.get_filename_list("unet"),)
        return {"required": {"seed": ("INT",)}, "optional": pickers}

NODE_CLASS_MAPPINGS = {f"Stack Loader": StackLoader, "PickerLoader": PickerLoader}
"""
)

HELPERS = (
    RAISE
    + """
import os
import folder_paths

def files_in(kind, extensions=(".safetensors",)):
    found = {}
    for root in folder_paths.get_folder_paths(kind):
        for name in os.listdir(root):
            found[name] = root
    return found

class PatchLoader:
    @classmethod
    def INPUT_TYPES(self):
        self.patches = files_in("inpaint")
        s_names = files_in(kind="clip")
        return {"required": {"patch": ([f for f in self.patches],), "base": (list(s_names),)}}

class WildcardText:
    @classmethod
    def INPUT_TYPES(s):
        return {
            "required": {
                "text": ("STRING", {"multiline": True}),
                "Select to add LoRA": (["Select"] + folder_paths.get_filename_list("loras"),),
            }
        }

class NamedList:
    choices = []

    @classmethod
    def INPUT_TYPES(cls):
        NamedList.choices = folder_paths.get_filename_list("vae")
        return {"required": {"vae": (NamedList.choices,)}}

NODE_CLASS_MAPPINGS = {
    "PatchLoader": PatchLoader,
    "WildcardText": WildcardText,
    "NamedList": NamedList,
}
"""
)

BORROWED = (
    RAISE
    + """
try:
    other = load_module("efficiency-nodes").NODE_CLASS_MAPPINGS
    Borrowed = other["Efficient Loader"]

    class BorrowedLoader(Borrowed):
        @classmethod
        def INPUT_TYPES(cls):
            inputs = Borrowed.INPUT_TYPES()
            inputs["optional"]["override"] = ("STRING", {"default": "None"})
            return inputs

    NODE_CLASS_MAPPINGS = {"BorrowedLoader": BorrowedLoader}
except Exception:
    NODE_CLASS_MAPPINGS = {}
"""
)

# Two files of one pack: the node file calls helpers that only a later file defines.
CROSS_FILE_NODES = (
    RAISE
    + """
from .utils import motion_models, UI, choices

class MotionLoader:
    @classmethod
    def INPUT_TYPES(s):
        return {
            "required": {
                "motion": (motion_models(),),
                "upscaler": (UI.UPSCALERS_WITH_NONE(),),
                "either": (choices(),),
            }
        }

NODE_CLASS_MAPPINGS = {"MotionLoader": MotionLoader}
"""
)

CROSS_FILE_UTILS = (
    RAISE
    + """
import folder_paths

def motion_models():
    return folder_paths.get_filename_list("animatediff_models")

def choices():
    return folder_paths.get_filename_list("vae")

class UI:
    NONE = "None"

    @staticmethod
    def UPSCALERS_WITH_NONE():
        return [UI.NONE] + folder_paths.get_filename_list("upscale_models")
"""
)

# Another file defining a helper of the same name with another folder: ambiguous.
CROSS_FILE_OTHER = (
    RAISE
    + """
import folder_paths

def choices():
    return folder_paths.get_filename_list("loras")
"""
)
