"""Node mappings built from a list of classes, by a loop or a comprehension, are read as
the items they build. Each source is written here and raises if imported."""

from __future__ import annotations

from watchman.comfy.loader_source import LearnedLoader, learn_loaders

from .loader_pack_sources import RAISE

CLASSES = """
import folder_paths

class UnifiedLoader:
    NodeId = "Unified Loader"
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"unet_name": (folder_paths.get_filename_list("diffusion_models"),)}}

class PatchLoader:
    NodeId = "Patch Loader"
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"patch": (["None"] + folder_paths.get_filename_list("loras"),)}}
"""

LOOP_STYLE = (
    RAISE
    + CLASSES
    + """
node_list = [UnifiedLoader, PatchLoader]
NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}
for node in node_list:
    NODE_CLASS_MAPPINGS[node.NodeId] = node
    NODE_DISPLAY_NAME_MAPPINGS[node.NodeId] = node.NodeId
"""
)

COMPREHENSION_STYLE = (
    RAISE
    + CLASSES
    + """
NODES = (UnifiedLoader, PatchLoader)
NODE_CLASS_MAPPINGS = {cls.__name__: cls for cls in NODES}
NODE_CLASS_MAPPINGS.update({c.NodeId: c for c in [PatchLoader]})
"""
)


def learned(*files: tuple[str, str]) -> dict[str, LearnedLoader]:
    loaders, problems = learn_loaders([(name, text.encode()) for name, text in files])
    assert not problems
    return {loader.node_type: loader for loader in loaders}


def test_a_loop_over_a_list_of_classes_maps_each_by_its_attribute() -> None:
    found = learned(("nodes.py", LOOP_STYLE))
    assert {name: dict(loader.model_inputs) for name, loader in found.items()} == {
        "Unified Loader": {"unet_name": ("diffusion_models",)},
        "Patch Loader": {"patch": ("loras",)},
    }


def test_a_comprehension_over_classes_maps_each_by_its_name_or_attribute() -> None:
    found = learned(("nodes.py", COMPREHENSION_STYLE))
    assert sorted(found) == ["Patch Loader", "PatchLoader", "UnifiedLoader"]


def test_a_loop_whose_key_is_not_the_classes_own_is_not_read() -> None:
    other = (
        RAISE
        + CLASSES
        + (
            "NODE_CLASS_MAPPINGS = {}\n"
            "for i, node in enumerate([UnifiedLoader]):\n"
            "    NODE_CLASS_MAPPINGS[node.NodeId] = node\n"
            "for node in load_nodes():\n"
            "    NODE_CLASS_MAPPINGS[node.NodeId] = node\n"
            "for node in [UnifiedLoader]:\n"
            "    NODE_CLASS_MAPPINGS[f'x {node}'] = node\n"
            "MAPPED = {n.NodeId: make(n) for n in [PatchLoader]}\n"
        )
    )
    assert learned(("nodes.py", other)) == {}
