"""What a node does with an input's value, read from the method it runs.

A combo whose choices the extractor cannot read (a pack's own scanner, a cache filled at
run time: LoRA Manager's checkpoint and UNET loaders) still names the folder its value
belongs to when the node hands the value, or a path built from it, to one of ComfyUI's
own loading calls, which each read one folder type's files:
``comfy.sd.load_checkpoint_guess_config(path)`` a checkpoint, ``load_diffusion_model`` a
diffusion model, ``load_clip`` text encoders, ``comfy.controlnet.load_controlnet`` a
ControlNet. Only the path the call takes counts (its first argument, or a path
keyword such as ``ckpt_paths=``), never its options. Only the method's own statements
are read (the names bound from an expression holding the value carry it: ``path, info
= lookup(value)``, but never the method's other parameters, which stay their inputs'
own); a call of anything else is not
followed, and two loading calls of different folders say nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from watchman.comfy.python_source import syntax_nodes
from watchman.comfy.syntax_literals import last_name

LOADING_CALLS: dict[str, str] = {
    "load_checkpoint_guess_config": "checkpoints",
    "load_diffusion_model": "diffusion_models",
    "load_unet": "diffusion_models",
    "load_clip": "text_encoders",
    "load_controlnet": "controlnet",
}
"""ComfyUI's loading functions (``comfy.sd``, ``comfy.controlnet``) by name, and the
folder type whose files each reads."""
LOADING_MODULES = frozenset({"sd", "controlnet"})
"""The modules a call must name (``comfy.sd.load_clip``, ``sd.load_clip``); imported
bare, only the names no pack function shares in practice count."""
BARE_LOADING_CALLS = frozenset({"load_checkpoint_guess_config", "load_diffusion_model"})
MAX_STATEMENTS = 2_000
"""Nodes of one method read at most (a bound on work for generated code)."""


def folder_loaded_as(function: ast.FunctionDef | ast.AsyncFunctionDef, parameter: str) -> str:
    """Return the folder type of the ComfyUI loading call the node's method hands
    ``parameter``'s value to, or "" when it hands it to none, or to calls of different
    folders."""
    nodes = syntax_nodes(function, MAX_STATEMENTS)
    calls = [node for node in nodes if isinstance(node, ast.Call) and _loading_call(node)]
    if not calls:
        return ""  # most methods load nothing: their names need no following
    # Another input's own value, even re-bound from this one (a random pick filtered by
    # it), stays that input's.
    others = {a.arg for a in function.args.args + function.args.kwonlyargs} - {parameter}
    carried = {parameter}
    for _ in range(3):  # names bound from names bound from the value
        for node in nodes:
            if isinstance(node, ast.Assign) and _holds(node.value, carried):
                for target in node.targets:
                    carried.update(
                        n.id
                        for n in ast.walk(target)
                        if isinstance(n, ast.Name) and n.id not in others
                    )
    folders = {
        LOADING_CALLS[_loading_call(call)]
        for call in calls
        if any(_holds(argument, carried) for argument in _arguments(call))
    }
    return folders.pop() if len(folders) == 1 else ""


def _loading_call(call: ast.Call) -> str:
    name = last_name(call.func) or ""
    if name not in LOADING_CALLS:
        return ""
    if isinstance(call.func, ast.Attribute):
        return name if last_name(call.func.value) in LOADING_MODULES else ""
    return name if name in BARE_LOADING_CALLS else ""


PATH_KEYWORDS = frozenset({"ckpt_path", "ckpt_paths", "unet_path", "path", "model_path"})
"""Keywords of the loading calls that take the file's path (the rest are options)."""


def _arguments(call: ast.Call) -> Iterator[ast.expr]:
    # The path: the first positional argument, or a path keyword; never the options
    # (clip_type=, model_options={"dtype": weight_dtype}).
    yield from call.args[:1]
    yield from (k.value for k in call.keywords if k.arg in PATH_KEYWORDS)


def _holds(node: ast.expr, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))
