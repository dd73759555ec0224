"""Calls named in a node class's expressions, as the pack-wide registries key them.

Part of :mod:`watchman.comfy.loader_file`: which helpers an input's expression calls
(``helper()``, ``UI.CHECKPOINTS()``), so a helper of another file can answer once every
file is read, and which class's ``INPUT_TYPES`` a class's own returns
(``Base.INPUT_TYPES()``, ``super().INPUT_TYPES()``). Syntax only: nothing is run.
"""

from __future__ import annotations

import ast

from watchman.comfy.loader_bindings import SELF_NAMES
from watchman.comfy.python_source import syntax_nodes
from watchman.comfy.syntax_literals import last_name


def call_keys(node: ast.AST | None, limit: int = 8) -> tuple[str, ...]:
    """Names of the calls in an expression, as a pack-wide helper registry keys them:
    ``helper()`` -> ``"helper"``, ``UI.CHECKPOINTS()`` -> ``"UI.CHECKPOINTS"``."""
    keys: list[str] = []
    for inner in syntax_nodes(node) if node is not None else ():
        if not isinstance(inner, ast.Call):
            continue
        if isinstance(inner.func, ast.Name):
            key = inner.func.id
        elif isinstance(inner.func, ast.Attribute) and isinstance(inner.func.value, ast.Name):
            key = f"{inner.func.value.id}.{inner.func.attr}"
        else:
            continue
        if key not in keys:
            keys.append(key)
        if len(keys) >= limit:
            break
    return tuple(keys)


def input_types_call(node: ast.expr) -> str | None:
    """``Base.INPUT_TYPES()`` (or ``copy.deepcopy`` of it) -> ``"Base"``."""
    for inner in syntax_nodes(node):
        if (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Attribute)
            and inner.func.attr == "INPUT_TYPES"
        ):
            owner = last_name(inner.func.value)
            if isinstance(inner.func.value, ast.Call):
                owner = last_name(inner.func.value.func)  # super().INPUT_TYPES()
            if owner and owner not in SELF_NAMES:
                return owner
    return None
