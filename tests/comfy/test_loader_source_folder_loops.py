"""Folder-valued inputs built step by step: a loop that appends the directories of a
listing, a helper of another file of the pack that lists folders, and an unfiltered
listing whose entries the node opens as folders. Each source is written here and raises
if imported."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.loader_lookup import loader_table
from watchman.comfy.loader_source import LearnedLoader, learn_loaders
from watchman.comfy.model_references import references_for_node

from .loader_pack_sources import RAISE

# LayerStyle's VQA style: a loop over os.listdir appending the names an isdir test keeps;
# beside it, the same loop without the test and a scandir loop on entries' names.
LOOP_STYLE = (
    RAISE
    + """
import os
import folder_paths

vqa_dir = os.path.join(folder_paths.models_dir, "VQA")

def vqa_models():
    names = []
    for name in os.listdir(vqa_dir):
        if os.path.isdir(os.path.join(vqa_dir, name)) and not name.startswith("."):
            names.append(name)
    return names

class VQALoader:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": (vqa_models(),), "precision": (["fp16", "fp32"],)}}

class ScanLoader:
    @classmethod
    def INPUT_TYPES(cls):
        repos = []
        for entry in os.scandir(os.path.join(folder_paths.models_dir, "LLM")):
            if entry.is_dir():
                repos.append(entry.name)
        return {"required": {"repo": (repos,)}}

class EveryEntryLoader:
    @classmethod
    def INPUT_TYPES(cls):
        names = []
        for name in os.listdir(vqa_dir):
            if not os.path.isdir(os.path.join(vqa_dir, name)):
                names.append(name)
            else:
                continue
        return {"required": {"weights": (names,)}}

    FUNCTION = "load"

    def load(self, weights):
        return (os.path.join(vqa_dir, weights),)

NODE_CLASS_MAPPINGS = {
    "VQALoader": VQALoader,
    "ScanLoader": ScanLoader,
    "EveryEntryLoader": EveryEntryLoader,
}
"""
)


def learned(*sources: tuple[str, str]) -> dict[str, LearnedLoader]:
    loaders, problems = learn_loaders((name, text.encode()) for name, text in sources)
    assert problems == ()
    return {loader.node_type: loader for loader in loaders}


def test_a_loop_appending_the_directories_of_a_listing_lists_folders() -> None:
    found = learned(("nodes.py", LOOP_STYLE))
    loader = found["VQALoader"]
    assert dict(loader.model_inputs) == {"model": ("vqa",)}
    assert loader.folder_inputs == ("model",)
    assert loader.widgets == ("model", "precision")


def test_a_scandir_loop_appending_the_names_of_directory_entries_lists_folders() -> None:
    found = learned(("nodes.py", LOOP_STYLE))
    assert dict(found["ScanLoader"].model_inputs) == {"repo": ("llm",)}
    assert found["ScanLoader"].folder_inputs == ("repo",)


def test_a_loop_keeping_what_is_not_a_directory_lists_no_folders() -> None:
    found = learned(("nodes.py", LOOP_STYLE))
    assert "EveryEntryLoader" not in found


# A helper of another file lists folders (a comprehension kept to directories) or files;
# the node file imports both.
HELPER_FILE = (
    RAISE
    + """
import os
import folder_paths

def repo_folders():
    root = os.path.join(folder_paths.models_dir, "LLM")
    return [d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))]

def gguf_files():
    return folder_paths.get_filename_list("LLM")
"""
)
NODES_FILE = (
    RAISE
    + """
from .utils import repo_folders, gguf_files

class RepoLoader:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"repo": (repo_folders(),), "gguf": (gguf_files(),)}}

NODE_CLASS_MAPPINGS = {"RepoLoader": RepoLoader}
"""
)


def test_a_helper_of_another_file_listing_folders_gives_a_folder_input() -> None:
    found = learned(("nodes.py", NODES_FILE), ("utils.py", HELPER_FILE))
    loader = found["RepoLoader"]
    assert dict(loader.model_inputs) == {"repo": ("llm",), "gguf": ("llm",)}
    assert loader.folder_inputs == ("repo",)


# ACE-Step's LoRA style: every entry of a models directory is offered (no extension, no
# directory test), and the node opens <value>/<weights file>; beside it, a node offering
# the same listing that opens the value as a file.
EVERY_ENTRY_STYLE = (
    RAISE
    + """
import os
import folder_paths
from pathlib import Path

model_path = os.path.join(folder_paths.models_dir, "TTS", "ACE-Step-v1-3.5B")

class StepLoraLoader:
    @classmethod
    def INPUT_TYPES(cls):
        loras_path = os.path.join(model_path, "loras")
        models = [n for n in os.listdir(loras_path) if not n.startswith(".")]
        return {"required": {"lora_name": (models,), "lora_weight": ("FLOAT",)}}

    FUNCTION = "load"

    def load(self, lora_name, lora_weight):
        lora_path = os.path.join(model_path, "loras", lora_name)
        return (os.path.join(lora_path, "pytorch_lora_weights.safetensors"),)

class StepPathLoader(StepLoraLoader):
    FUNCTION = "run"

    def run(self, lora_name, lora_weight):
        return (Path(model_path) / "loras" / lora_name / "adapter_config.json",)

class StepFileLoader(StepLoraLoader):
    FUNCTION = "load_file"

    def load_file(self, lora_name, lora_weight):
        return (os.path.join(model_path, "loras", lora_name),)

NODE_CLASS_MAPPINGS = {
    "StepLoraLoader": StepLoraLoader,
    "StepPathLoader": StepPathLoader,
    "StepFileLoader": StepFileLoader,
}
"""
)


def test_every_entry_of_a_listing_that_the_node_opens_as_a_folder_is_a_folder() -> None:
    found = learned(("nodes.py", EVERY_ENTRY_STYLE))
    loader = found["StepLoraLoader"]
    assert dict(loader.model_inputs) == {"lora_name": ("ace_step_loras",)}
    assert loader.folder_inputs == ("lora_name",)
    assert loader.widgets == ("lora_name", "lora_weight")


def test_a_value_joined_as_a_path_part_with_slashes_is_opened_as_a_folder_too() -> None:
    found = learned(("nodes.py", EVERY_ENTRY_STYLE))
    assert found["StepPathLoader"].folder_inputs == ("lora_name",)


def test_every_entry_of_a_listing_opened_as_a_file_is_not_learned() -> None:
    # Files or folders alike, with no model extension named: no claim is made.
    found = learned(("nodes.py", EVERY_ENTRY_STYLE))
    assert "StepFileLoader" not in found


def test_the_bundled_table_knows_ace_steps_lora_loader_takes_folders() -> None:
    spec = loader_table().spec("ACELoRALoader")
    assert spec is not None
    assert spec.model_inputs == {"lora_name": "ace_step_loras"}
    assert spec.folder_entries == {"lora_name"}
    references = references_for_node(
        "1", "ACELoRALoader", [("lora_name", "ACE-Step-v1-chinese-rap-LoRA")], False, False
    )
    assert [(r.folder, r.lookup) for r in references] == [("ace_step_loras", "folder")]


# VibeVoice's style: a folder beside a listed root, reached through os.path.dirname.
BESIDE_STYLE = (
    RAISE
    + """
import os
import folder_paths

class VoiceLoraNode:
    @classmethod
    def INPUT_TYPES(cls):
        checkpoints = folder_paths.get_folder_paths("checkpoints")[0]
        voice_dir = os.path.join(os.path.dirname(checkpoints), "vibevoice", "loras")
        names = [n for n in os.listdir(voice_dir)] if os.path.isdir(voice_dir) else []
        return {"required": {"lora_name": (["None"] + names,)}}

NODE_CLASS_MAPPINGS = {"VoiceLoraNode": VoiceLoraNode}
"""
)


def test_a_folder_beside_a_listed_root_is_not_that_roots_folder() -> None:
    assert "VoiceLoraNode" not in learned(("nodes.py", BESIDE_STYLE))


# Searge LLM's style: the isdir test is about the root, and the files appended are
# filtered by a model extension.
ROOT_TEST_STYLE = (
    RAISE
    + """
import os
import folder_paths

GGUF_DIR = os.path.join(folder_paths.models_dir, "llm_gguf")

class GgufLoader:
    @classmethod
    def INPUT_TYPES(cls):
        options = []
        if os.path.isdir(GGUF_DIR):
            files = [f for f in os.listdir(GGUF_DIR) if f.endswith(".gguf")]
            options.extend(files)
        return {"required": {"model": (options,)}}

NODE_CLASS_MAPPINGS = {"GgufLoader": GgufLoader}
"""
)


def test_a_test_that_the_root_is_a_directory_keeps_the_files_listed_in_it() -> None:
    loader = learned(("nodes.py", ROOT_TEST_STYLE))["GgufLoader"]
    assert dict(loader.model_inputs) == {"model": ("llm_gguf",)}
    assert loader.folder_inputs == ()


# Statements in the styles above, nested and joined at random: whatever the mix (loops
# appending to names they read, isdir tests about anything, helpers calling helpers,
# paths joined on paths), the extractor answers without an exception.
_NAMES = ("a", "b", "root", "names", "entry", "value")
_EXPRESSIONS = (
    "os.listdir({0})",
    "os.scandir({0})",
    "os.path.join({0}, {1})",
    "os.path.join(folder_paths.models_dir, 'x', {0})",
    "Path({0}) / {1} / 'w.safetensors'",
    "get_model_path({0})",
    "helper({0})",
    "[n for n in os.listdir({0}) if os.path.isdir(os.path.join({0}, n))]",
    "folder_paths.get_folder_paths('LLM')[0]",
    "os.path.dirname({0})",
    "{0}.name",
    "'.pth'",
)
_STATEMENTS = (
    "{0} = {e}",
    "{0}.append({e})",
    "{0}.extend({e})",
    "for {0} in {e}:\n{body}",
    "if os.path.isdir({e}):\n{body}",
    "if not {0}.is_dir() or {1}:\n{body}",
    "return {e}",
)


@st.composite
def _statements(draw: st.DrawFn, depth: int = 0) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        names = [draw(st.sampled_from(_NAMES)) for _ in range(2)]
        expression = draw(st.sampled_from(_EXPRESSIONS)).format(*names)
        template = draw(st.sampled_from(_STATEMENTS if depth < 3 else _STATEMENTS[:3]))
        body = ""
        if "{body}" in template:
            inner = draw(_statements(depth + 1))
            body = "\n".join("    " + line for line in inner.splitlines())
        lines.append(template.format(*names, e=expression, body=body))
    return "\n".join(lines)


@settings(max_examples=40, deadline=None)
@given(helper=_statements(), method=_statements(), inputs=_statements())
def test_any_mix_of_these_styles_is_read_without_an_exception(
    helper: str, method: str, inputs: str
) -> None:
    def indent(text: str, level: int) -> str:
        return "\n".join(" " * level + line for line in text.splitlines())

    source = (
        "import os\nimport folder_paths\nfrom pathlib import Path\n"
        "from .utils import get_model_path\n"
        f"def helper(a, b=None):\n{indent(helper, 4)}\n"
        "class Node:\n    FUNCTION = 'load'\n"
        f"    def load(self, value, a=None):\n{indent(method, 8)}\n"
        "    @classmethod\n    def INPUT_TYPES(cls):\n"
        f"{indent(inputs, 8)}\n"
        "        return {'required': {'value': (names,), 'a': (helper(root),)}}\n"
        "NODE_CLASS_MAPPINGS = {'Node': Node}\n"
    )
    utils = f"import folder_paths\ndef get_model_path(a, b=None):\n{indent(helper, 4)}\n"
    loaders, problems = learn_loaders([("nodes.py", source.encode()), ("utils.py", utils.encode())])
    assert not [p for p in problems if "does not parse" in p]  # the mixes are Python
    assert all(loader.node_type == "Node" for loader in loaders)


# The same style in a v3 node: define_schema's Combo lists every entry of a models
# directory and execute opens <value>/<weights file>.
V3_EVERY_ENTRY_STYLE = (
    RAISE
    + """
import os
import folder_paths
from comfy_api.latest import io

model_path = os.path.join(folder_paths.models_dir, "TTS", "ACE-Step-v1-3.5B")

class StepLoraLoaderV3(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        loras = os.listdir(os.path.join(model_path, "loras"))
        return io.Schema(
            node_id="StepLoraLoaderV3",
            inputs=[io.Combo.Input("lora_name", options=loras), io.Float.Input("weight")],
            outputs=[io.Model.Output()],
        )

    @classmethod
    def execute(cls, lora_name, weight):
        lora_path = os.path.join(model_path, "loras", lora_name)
        return io.NodeOutput(os.path.join(lora_path, "pytorch_lora_weights.safetensors"))

class StepFileLoaderV3(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        loras = os.listdir(os.path.join(model_path, "loras"))
        return io.Schema(
            node_id="StepFileLoaderV3", inputs=[io.Combo.Input("lora_name", options=loras)]
        )

    @classmethod
    def execute(cls, lora_name):
        return io.NodeOutput(os.path.join(model_path, "loras", lora_name))
"""
)


def test_a_v3_node_opening_every_entry_of_its_listing_as_a_folder_takes_folders() -> None:
    found = learned(("nodes.py", V3_EVERY_ENTRY_STYLE))
    loader = found["StepLoraLoaderV3"]
    assert dict(loader.model_inputs) == {"lora_name": ("ace_step_loras",)}
    assert loader.folder_inputs == ("lora_name",)
    assert loader.widgets == ("lora_name", "weight")
    assert "StepFileLoaderV3" not in found or not found["StepFileLoaderV3"].model_inputs


# The same in a module helper filling its list in a loop (VibeVoice's own code): the
# root's get_folder_paths call in the helper's body is not what it lists.
BESIDE_HELPER_STYLE = (
    RAISE
    + """
import os
import folder_paths

def available_loras():
    names = ["None"]
    models_dir = folder_paths.get_folder_paths("checkpoints")[0]
    loras_dir = os.path.join(os.path.dirname(models_dir), "vibevoice", "loras")
    if os.path.exists(loras_dir):
        for item in os.listdir(loras_dir):
            if os.path.isdir(os.path.join(loras_dir, item)):
                names.append(item)
    return names

class VoiceLoraHelperNode:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"lora_name": (available_loras(),)}}

NODE_CLASS_MAPPINGS = {"VoiceLoraHelperNode": VoiceLoraHelperNode}
"""
)


def test_a_helper_listing_a_folder_beside_a_root_does_not_list_that_root() -> None:
    assert "VoiceLoraHelperNode" not in learned(("nodes.py", BESIDE_HELPER_STYLE))
