"""Inputs whose values name a folder, not a file: the extractor learns them from a pack's
listing kept to directories. Each source is written here and raises if imported."""

from __future__ import annotations

from watchman.comfy.loader_lookup import bundled_loaders, loader_table
from watchman.comfy.loader_source import LearnedLoader, learn_loaders
from watchman.comfy.model_references import references_for_node

from .loader_pack_sources import RAISE

# kijai's Florence2 style: a helper builds {name: path} from the roots' entries that a
# predicate handed in as a lambda keeps (Path.iterdir filtered by is_dir).
PATH_DICT_STYLE = (
    RAISE
    + """
from pathlib import Path
import folder_paths

def create_path_dict(paths, predicate=lambda _: True):
    flattened = [item for path in paths if Path(path).exists()
                 for item in Path(path).iterdir() if predicate(item)]
    return {item.name: str(item.absolute()) for item in flattened}

class CaptionModelLoader:
    @classmethod
    def INPUT_TYPES(s):
        all_llm_paths = folder_paths.get_folder_paths("LLM")
        s.model_paths = create_path_dict(all_llm_paths, lambda x: x.is_dir())
        return {"required": {"model": ([*s.model_paths],), "precision": (["fp16", "bf16"],)}}

class AnyEntryLoader:
    @classmethod
    def INPUT_TYPES(s):
        s.model_paths = create_path_dict(folder_paths.get_folder_paths("LLM"))
        return {"required": {"model": ([*s.model_paths],)}}

NODE_CLASS_MAPPINGS = {"CaptionModelLoader": CaptionModelLoader, "AnyEntryLoader": AnyEntryLoader}
"""
)

# ACE-Step style: os.listdir of a directory under models_dir, kept to directories by a
# comprehension's isdir test (beside a test that is not about directories).
LISTDIR_STYLE = (
    RAISE
    + """
import os
import folder_paths
model_path = os.path.join(folder_paths.models_dir, "TTS", "ACE-Step-v1-3.5B")
llm_dir = os.path.join(folder_paths.models_dir, "LLM")

class PartsLoader:
    @classmethod
    def INPUT_TYPES(cls):
        models = [n for n in os.listdir(model_path)
                  if os.path.isdir(os.path.join(model_path, n)) and not n.startswith(".")]
        return {"required": {"dcae": (models,), "vocoder": (models,), "offload": ("BOOLEAN",)}}

class FilesNotFoldersLoader:
    @classmethod
    def INPUT_TYPES(cls):
        names = [n for n in os.listdir(llm_dir)
                 if not os.path.isdir(os.path.join(llm_dir, n)) and n.endswith(".gguf")]
        return {"required": {"gguf": (names,)}}

class FilteredLoader:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"repo": (list(filter(os.path.isdir, os.listdir(llm_dir))),)}}

NODE_CLASS_MAPPINGS = {
    "PartsLoader": PartsLoader,
    "FilesNotFoldersLoader": FilesNotFoldersLoader,
    "FilteredLoader": FilteredLoader,
}
"""
)

# ELLA style: the folders os.walk finds holding a marker file; and Inspire's style, the
# files os.walk finds (joined to the folder holding them), which are files.
WALK_STYLE = (
    RAISE
    + """
import os
import folder_paths

class EncoderLoader:
    @classmethod
    def INPUT_TYPES(cls):
        paths = []
        for search_path in folder_paths.get_folder_paths("ella_encoder"):
            if os.path.exists(search_path):
                for root, _, files in os.walk(search_path, followlinks=True):
                    if "config.json" in files:
                        paths.append(os.path.relpath(root, start=search_path))
        return {"required": {"name": (paths,), "max_length": ("INT", {"default": 0})}}

class PromptFileLoader:
    @classmethod
    def INPUT_TYPES(cls):
        found = []
        for prompts_path in folder_paths.get_folder_paths("my_prompts"):
            for root, dirs, files in os.walk(prompts_path):
                for file in files:
                    if file.endswith(".txt"):
                        found.append(os.path.relpath(os.path.join(root, file), prompts_path))
        return {"required": {"prompt_file": (found,)}}

class FileListLoader:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"ckpt": (folder_paths.get_filename_list("checkpoints"),)}}

NODE_CLASS_MAPPINGS = {
    "EncoderLoader": EncoderLoader,
    "PromptFileLoader": PromptFileLoader,
    "FileListLoader": FileListLoader,
}
"""
)


def learned(*sources: tuple[str, str]) -> dict[str, LearnedLoader]:
    loaders, problems = learn_loaders((name, text.encode()) for name, text in sources)
    assert problems == ()
    return {loader.node_type: loader for loader in loaders}


def test_a_helper_keeping_the_roots_directories_by_a_lambda_lists_folders() -> None:
    found = learned(("nodes.py", PATH_DICT_STYLE))
    loader = found["CaptionModelLoader"]
    assert dict(loader.model_inputs) == {"model": ("llm",)}
    assert loader.folder_inputs == ("model",)
    assert loader.widgets == ("model", "precision")


def test_the_same_helper_without_a_directory_filter_lists_no_folders() -> None:
    found = learned(("nodes.py", PATH_DICT_STYLE))
    loader = found["AnyEntryLoader"]
    assert dict(loader.model_inputs) == {"model": ("llm",)}
    assert loader.folder_inputs == ()


def test_a_models_directory_listing_kept_to_directories_lists_that_types_folders() -> None:
    found = learned(("nodes.py", LISTDIR_STYLE))
    parts = found["PartsLoader"]
    assert dict(parts.model_inputs) == {"dcae": ("ace_step",), "vocoder": ("ace_step",)}
    assert parts.folder_inputs == ("dcae", "vocoder")
    assert found["FilteredLoader"].folder_inputs == ("repo",)


def test_a_negated_directory_test_keeps_files() -> None:
    found = learned(("nodes.py", LISTDIR_STYLE))
    loader = found["FilesNotFoldersLoader"]
    assert dict(loader.model_inputs) == {"gguf": ("llm",)}
    assert loader.folder_inputs == ()


def test_the_folders_os_walk_finds_are_folders_and_the_files_it_finds_are_files() -> None:
    found = learned(("nodes.py", WALK_STYLE))
    assert found["EncoderLoader"].folder_inputs == ("name",)
    assert dict(found["EncoderLoader"].model_inputs) == {"name": ("ella_encoder",)}
    assert found["PromptFileLoader"].folder_inputs == ()
    assert found["FileListLoader"].folder_inputs == ()


def test_a_folder_input_is_a_folder_entry_of_the_spec_and_survives_json() -> None:
    found = learned(("nodes.py", PATH_DICT_STYLE))
    loader = found["CaptionModelLoader"]
    assert LearnedLoader.from_json(loader.to_json()) == loader
    assert "folder_inputs" not in found["AnyEntryLoader"].to_json()
    spec = loader_table(found.values()).spec("CaptionModelLoader")
    assert spec is not None
    assert spec.model_inputs == {"model": "llm"} and spec.folder_entries == {"model"}


def test_the_bundled_table_knows_the_folder_loaders_of_florence2_ella_and_ace_step() -> None:
    table = loader_table()
    florence = table.spec("Florence2ModelLoader")
    assert florence is not None and florence.folder_entries == {"model"}
    assert florence.model_inputs == {"model": "llm"}
    # MultiGPU's wrapper takes the wrapped loader's folder input.
    wrapped = table.spec("Florence2ModelLoaderMultiGPU")
    assert wrapped is not None and wrapped.folder_entries == {"model"}
    ella = table.spec("T5TextEncoderLoader #ELLA")
    assert ella is not None and ella.folder_entries == {"name"}
    ace = table.spec("ACEModelLoader")
    assert ace is not None and ace.model_inputs["dcae_checkpoint"] == "ace_step"
    assert "dcae_checkpoint" in ace.folder_entries
    # Loaders that download a repository id themselves stay without model inputs.
    downloads = bundled_loaders()["DownloadAndLoadFlorence2Model"]
    assert downloads.model_inputs == () and downloads.folder_inputs == ()
    assert table.spec("DownloadAndLoadFlorence2Model") is not None
    assert table.spec("DownloadAndLoadFlorence2Model").model_inputs == {}  # type: ignore[union-attr]


def test_a_folder_value_of_a_folder_type_no_table_knows_is_not_a_reference() -> None:
    # The pack's own folder may lie outside models/ (where the inventory looks): saying
    # its folder is missing would be a false alarm.
    found = learned(("nodes.py", WALK_STYLE.replace("my_prompts", "x")), ("more.py", MY_DIRS))
    assert found["PromptDirs"].folder_inputs == ("dir",)
    table = loader_table(found.values())
    known = references_for_node("1", "EncoderLoader", [("name", "flan-t5-xl")], False, False, table)
    assert [(r.folder, r.lookup) for r in known] == [("ella_encoder", "folder")]
    unknown = references_for_node("1", "PromptDirs", [("dir", "portraits")], False, False, table)
    assert unknown == ()


MY_DIRS = (
    RAISE
    + """
import os
import folder_paths

class PromptDirs:
    @classmethod
    def INPUT_TYPES(cls):
        dirs = [d for p in folder_paths.get_folder_paths("my_prompts") for d in os.listdir(p)
                if os.path.isdir(os.path.join(p, d))]
        return {"required": {"dir": (dirs,)}}

NODE_CLASS_MAPPINGS = {"PromptDirs": PromptDirs}
"""
)
