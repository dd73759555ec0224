"""A helper of another file that gives the root of the folder it is named (comfy_mtb's
``get_model_path("insightface")``), listed by the node for model files. Each source is
written here and raises if imported."""

from __future__ import annotations

from watchman.comfy.loader_source import LearnedLoader, learn_loaders

from .loader_pack_sources import RAISE

UTILS = (
    RAISE
    + """
import contextlib
from pathlib import Path
import folder_paths

models_dir = Path(folder_paths.models_dir)

def get_model_path(fam, model=None):
    res = None
    with contextlib.suppress(KeyError):
        res = folder_paths.get_folder_paths(fam)
    if res:
        return Path(res[-1])
    return models_dir / fam

def describe(name):
    return folder_paths.get_folder_paths("configs") + [name]
"""
)

NODES = (
    RAISE
    + """
from ..utils import get_model_path, describe

class SwapLoader:
    @staticmethod
    def get_models():
        root = get_model_path("insightface")
        return [x for x in root.iterdir() if x.suffix in [".onnx", ".pth"]]

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"swap_model": ([x.name for x in cls.get_models()],)}}

class EnhanceLoader:
    @classmethod
    def roots(cls):
        return get_model_path("face_restore"), get_model_path("upscale_models")

    @classmethod
    def get_models(cls):
        restore, upscale = cls.roots()
        return [x for x in restore.iterdir() if x.name.endswith(".pth")]

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model_name": ([x.name for x in cls.get_models()],)}}

class FolderNamesLoader:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"repo": ([x.name for x in get_model_path("LLM").iterdir()],)}}

class DescribedLoader:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"config": ([x for x in describe("x.pth")],)}}

NODE_CLASS_MAPPINGS = {
    "SwapLoader": SwapLoader,
    "EnhanceLoader": EnhanceLoader,
    "FolderNamesLoader": FolderNamesLoader,
    "DescribedLoader": DescribedLoader,
}
"""
)


def learned() -> dict[str, LearnedLoader]:
    loaders, problems = learn_loaders(
        [("nodes/faceswap.py", NODES.encode()), ("utils.py", UTILS.encode())]
    )
    assert problems == ()
    return {loader.node_type: loader for loader in loaders}


def test_a_helper_of_another_file_named_a_folder_gives_that_folders_files() -> None:
    found = learned()
    assert dict(found["SwapLoader"].model_inputs) == {"swap_model": ("insightface",)}
    assert found["SwapLoader"].folder_inputs == ()


def test_the_roots_reached_through_the_nodes_own_methods_count_in_order() -> None:
    loader = learned()["EnhanceLoader"]
    assert dict(loader.model_inputs) == {"model_name": ("face_restore", "upscale_models")}


def test_a_root_listed_where_no_model_extension_is_named_gives_nothing() -> None:
    # The entries of models/LLM may be downloaded repositories, not model files.
    assert "FolderNamesLoader" not in learned()


def test_a_helper_whose_parameter_is_not_a_folder_name_is_no_root_helper() -> None:
    found = learned()
    assert dict(found["DescribedLoader"].model_inputs) == {"config": ("configs",)}
