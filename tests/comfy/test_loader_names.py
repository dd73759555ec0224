"""Node type names built by a pack's helpers (rgthree's ``get_name``), read across files
and never run. Each source raises if imported."""

from __future__ import annotations

import ast

from watchman.comfy.loader_names import evaluate_text
from watchman.comfy.loader_source import LearnedLoader, learn_loaders

from .loader_pack_sources import RAISE

CONSTANTS = (
    RAISE
    + """
NAMESPACE = 'rgthree'

def get_name(name):
    '''The display name of a node.'''
    return '{} ({})'.format(name, NAMESPACE)

def get_category(sub_dirs=None):
    if sub_dirs is None:
        return NAMESPACE
    return NAMESPACE + '/' + sub_dirs
"""
)

STACK = (
    RAISE
    + """
import folder_paths
from .constants import get_name

class LoraStack:
    NAME = get_name('Lora Loader Stack')
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("MODEL",),
            "lora_01": (['None'] + folder_paths.get_filename_list("loras"),),
            "strength_01": ("FLOAT", {"default": 1.0}),
        }}
"""
)

PROMPT = (
    RAISE
    + """
import os
import folder_paths
from .constants import get_name

NODE_NAME = get_name('Power Prompt')

class PowerPrompt:
    NAME = NODE_NAME
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"prompt": ("STRING", {"multiline": True})},
                "optional": {"insert_lora": (['CHOOSE'] + [
                    os.path.splitext(x)[0] for x in folder_paths.get_filename_list('loras')],)}}
"""
)

INIT = (
    RAISE
    + """
import importlib
from .py.lora_stack import LoraStack
PowerPrompt = importlib.import_module("py.power_prompt").PowerPrompt

NODE_CLASS_MAPPINGS = {LoraStack.NAME: LoraStack, PowerPrompt.NAME: PowerPrompt}
"""
)


def learned(*sources: tuple[str, str]) -> dict[str, LearnedLoader]:
    loaders, _ = learn_loaders((name, text.encode()) for name, text in sources)
    return {loader.node_type: loader for loader in loaders}


def test_mapping_keys_written_by_a_helper_of_another_file_are_read() -> None:
    found = learned(
        ("__init__.py", INIT),
        ("py/constants.py", CONSTANTS),
        ("py/lora_stack.py", STACK),
        ("py/power_prompt.py", PROMPT),
    )
    assert set(found) == {"Lora Loader Stack (rgthree)", "Power Prompt (rgthree)"}
    stack = found["Lora Loader Stack (rgthree)"]
    assert stack.widgets == ("lora_01", "strength_01")
    assert dict(stack.model_inputs) == {"lora_01": ("loras",)}
    # Its insert_lora combo only inserts a tag into the prompt: no file input.
    assert found["Power Prompt (rgthree)"].model_inputs == ()


def test_a_helper_two_files_define_differently_names_nothing() -> None:
    other = CONSTANTS.replace("'{} ({})'", "'{} [{}]'")
    found = learned(
        ("__init__.py", INIT),
        ("a/constants.py", CONSTANTS),
        ("b/constants.py", other),
        ("py/lora_stack.py", STACK),
    )
    assert found == {}


def test_texts_are_built_only_from_plain_fields() -> None:
    def text(source: str, **env: str) -> str | None:
        return evaluate_text(ast.parse(source, mode="eval").body, env)

    assert text("'{0} ({1})'.format(a, b)", a="X", b="y") == "X (y)"
    assert text("'{n}!'.format(n=a)", a="X") == "X!"
    assert text("f'{a} - {b}'", a="X", b="y") == "X - y"
    assert text("a + ' (' + b + ')'", a="X", b="y") == "X (y)"
    # Format specs, conversions, escaped braces and unknown names are not evaluated.
    assert text("'{:>999999999}'.format(a)", a="X") is None
    assert text("'{0.__class__}'.format(a)", a="X") is None
    assert text("f'{a!r}'", a="X") is None
    assert text("'{{}} {}'.format(a)", a="X") is None
    assert text("'{} {}'.format(a)", a="X") is None
    assert text("a + c", a="X") is None
    assert text("a * 300", a="X") is None
    assert text("'{}{}'.format(a, a)", a="x" * 150) is None
