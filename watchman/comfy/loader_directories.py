"""Directory listings under ComfyUI's models directory, read in a pack's source: which
folder type ``os.listdir(os.path.join(folder_paths.models_dir, "x"))`` and its kin offer,
the paths under the models directory an expression may stand for, and the strings an
expression may be.

Part of reading loaders from source (:mod:`watchman.comfy.loader_source`): the folders of
an input's expression (:mod:`watchman.comfy.loader_expressions`) include those of the
listings it reads.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from watchman.comfy.folders import MODEL_EXTENSIONS, folders_using_dir
from watchman.comfy.loader_scope import MAX_DEPTH, MAX_PATHS, Scope, list_items
from watchman.comfy.python_source import syntax_nodes
from watchman.comfy.syntax_literals import call_name, constant_text

DIRECTORY_CALLS = frozenset({"listdir", "scandir", "walk", "glob", "iglob", "iterdir", "rglob"})
"""Calls listing a directory: ``os.listdir(p)``, ``glob.glob(p)``, ``Path(p).glob(...)``."""
PATH_CALLS = frozenset({"Path", "PurePath", "abspath", "normpath", "realpath", "expanduser", "str"})
"""Calls that give back the path they are given (as far as its directory goes)."""


def directory_folders(call: ast.Call, scope: Scope, depth: int) -> Iterator[str]:
    """Folder types a directory listing under ComfyUI's models directory offers.

    ``os.listdir``, ``os.scandir``, ``os.walk``, ``glob.glob`` or ``Path(...).glob`` /
    ``.iterdir()`` of a path built from ``folder_paths.models_dir`` (``os.path.join``,
    ``/``, ``+``, names bound to these, loops over literal folder names). The directory
    ``models/x`` gives the folder type using it (``folders_using_dir``), else ``x`` itself,
    as the inventory names a pack's folder; a deeper directory no type uses gives none.
    Only a listing that names a model extension (in its glob pattern, or in the function
    reading it) lists model files: packs also list folders of downloaded repositories.
    """
    method = call.func
    on_path = isinstance(method, ast.Attribute) and not (
        isinstance(method.value, ast.Name) and method.value.id in ("os", "glob")
    )
    if on_path and isinstance(method, ast.Attribute):  # Path(p).glob("*.pth"), p.iterdir()
        target: ast.expr | None = method.value
        patterns = [text for argument in call.args for text in string_values(argument, scope, 0)]
    else:
        target = call.args[0] if call.args else None
        patterns = []
    if target is None:
        return
    evidence = False
    for path in models_paths(target, scope, 0):  # a path of its own, as deep again
        parts = [part for part in path.split("/") if part not in ("", ".")]
        while parts and any(mark in parts[-1] for mark in "*?["):
            patterns.append(parts.pop())
        if any(mark in part for part in parts for mark in "*?[") or not parts:
            continue
        evidence = evidence or _names_model_extension(patterns, scope)
        relative = "/".join(parts)
        using = folders_using_dir(f"models/{relative}")
        folder = using[0] if using else parts[0] if len(parts) == 1 else None
        if not evidence and not scope.trace.filters:
            if folder is not None and not scope.trace.leading:
                scope.trace.unproven.add(folder)  # files or folders: the node's use says
            return
        if folder is not None:
            # A listing kept to directories lists folders, even when its function names
            # a model extension elsewhere.
            scope.trace.note(folder, "folders" if scope.trace.filters else "files")
            yield folder


def _names_model_extension(patterns: list[str], scope: Scope) -> bool:
    texts = list(patterns)
    if scope.function is not None:
        for node in syntax_nodes(scope.function):
            text = constant_text(node) if isinstance(node, ast.Constant) else None
            if text is not None:
                texts.append(text)
            elif isinstance(node, ast.Attribute) and node.attr == "supported_pt_extensions":
                return True
    return any(_is_model_extension(text) for text in texts)


def _is_model_extension(text: str) -> bool:
    # ".pth", "*.safetensors", "pth" in endswith(("pth", ...)) is not enough: a dot.
    dot = text.rfind(".")
    return dot != -1 and text[dot:].lower() in MODEL_EXTENSIONS and "/" not in text[dot:]


def models_paths(node: ast.expr, scope: Scope, depth: int) -> list[str]:
    """The paths, relative to ComfyUI's models directory and joined by ``/``, that an
    expression may stand for ("" for the directory itself); empty when it is not known
    to lie under it."""
    scope.steps[0] -= 1
    if depth > MAX_DEPTH or scope.steps[0] < 0:
        return []
    if isinstance(node, ast.Attribute) and node.attr == "models_dir":
        return [""]
    if isinstance(node, ast.Name):
        bound = scope.lookup(node.id)
        if not bound:
            return [""] if node.id == "models_dir" else []  # from folder_paths import ...
        found: list[str] = []
        for value in bound:
            if value is not node:
                found.extend(models_paths(value, scope, depth + 1))
        return list(dict.fromkeys(found))[:MAX_PATHS]
    bases: list[str] = []
    tails: list[ast.expr] = []
    if isinstance(node, ast.Call):
        name = call_name(node)
        if name in PATH_CALLS and node.args:
            return models_paths(node.args[0], scope, depth + 1)
        if name != "join" or not node.args:
            return []
        bases, tails = models_paths(node.args[0], scope, depth + 1), node.args[1:]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Add)):
        bases, tails = models_paths(node.left, scope, depth + 1), [node.right]
    paths = bases
    for tail in tails:
        if not paths:
            return []
        texts = string_values(tail, scope, depth + 1)
        paths = [f"{path}/{text}" for path in paths for text in texts][:MAX_PATHS]
    return paths


def string_values(node: ast.expr, scope: Scope, depth: int) -> list[str]:
    """The strings an expression may be: literals, names bound to them (a loop over a
    literal list binds each), and sums of those; empty when any part is unknown."""
    if depth > MAX_DEPTH:
        return []
    text = constant_text(node)
    if text is not None:
        return [text]
    if isinstance(node, ast.Name):
        found: list[str] = []
        for value in scope.lookup(node.id):
            if value is not node:
                found.extend(string_values(value, scope, depth + 1))
        return list(dict.fromkeys(found))[:MAX_PATHS]
    if isinstance(node, ast.Starred):  # the elements a loop variable takes
        return [
            text
            for element in list_items(node.value, scope, depth + 1)
            for text in string_values(element, scope, depth + 1)
        ][:MAX_PATHS]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = string_values(node.left, scope, depth + 1)
        right = string_values(node.right, scope, depth + 1)
        return [a + b for a in left for b in right][:MAX_PATHS]
    return []
