"""Reading one file of a pack into the pack's index: classes with their inputs, mapping
entries, and the listing helpers other files may call."""

from __future__ import annotations

import ast

from watchman.comfy.loader_file import FileReader, PackIndex
from watchman.comfy.loader_inputs import inserts_text
from watchman.comfy.loader_mappings import looks_like_class
from watchman.comfy.python_source import syntax_nodes

SOURCE = """
import folder_paths

def get_models():
    return folder_paths.get_filename_list("loras")

class Loader:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"lora": (get_models(),), "strength": ("FLOAT",)},
                "optional": {"Select to add LoRA": (folder_paths.get_filename_list("loras"),)}}

NODE_CLASS_MAPPINGS = {"My Loader": Loader}
"""


def _read(source: str) -> PackIndex:
    index = PackIndex()
    tree = ast.parse(source)
    FileReader(tree, "nodes.py", index).read(syntax_nodes(tree))
    return index


def test_a_file_gives_its_classes_inputs_and_its_mapping_entries() -> None:
    index = _read(SOURCE)
    [info] = index.classes["Loader"]
    assert info.widgets == ("lora", "strength", "Select to add LoRA")
    assert info.model_inputs == (("lora", ("loras",)),) and info.inserts_text
    assert [entry[:2] for entry in index.entries] == [("My Loader", "Loader")]


def test_a_module_helper_holding_a_listing_is_registered_for_other_files() -> None:
    assert _read(SOURCE).helpers == {"get_models": ("loras",)}


def test_insert_combos_and_class_names_are_told_apart_by_their_names() -> None:
    assert inserts_text("Select to add LoRA") and inserts_text("insert_embedding")
    assert not inserts_text("lora_name")
    assert looks_like_class("UNETLoader") and not looks_like_class("device")
