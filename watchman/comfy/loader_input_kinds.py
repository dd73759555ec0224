"""Whether a node's input is a widget or a socket, and the folders a widget lists: its
``INPUT_TYPES`` entry (a tuple of type and options) or a V3 schema's ``X.Input(...)``.

Part of reading loaders from source (:mod:`watchman.comfy.loader_source`); the folders an
input's expression lists are :mod:`watchman.comfy.loader_expressions`.
"""

from __future__ import annotations

import ast

from watchman.comfy.loader_bindings import SELF_NAMES
from watchman.comfy.loader_expressions import folders_of
from watchman.comfy.loader_scope import Scope
from watchman.comfy.syntax_literals import call_name, constant_text, is_true, last_name

WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
V3_WIDGET_TYPES = frozenset({"Combo", "Int", "Float", "String", "Boolean", "MultiCombo"})


def input_kind(spec: ast.expr, scope: Scope) -> tuple[str, tuple[str, ...]]:
    """Return ("widget"|"socket", folders) for one INPUT_TYPES entry."""
    if isinstance(spec, ast.Name):
        bound = scope.lookup(spec.id)
        if bound and isinstance(bound[0], ast.Tuple):
            spec = bound[0]
    if not isinstance(spec, ast.Tuple) or not spec.elts:
        return "widget", folders_of(spec, scope, 0)
    first = spec.elts[0]
    options = spec.elts[1] if len(spec.elts) > 1 else None
    if isinstance(options, ast.Dict):
        for key, value in zip(options.keys, options.values, strict=True):
            if constant_text(key) == "forceInput" and is_true(value):
                return "socket", ()
    folders = folders_of(first, scope, 0)
    if folders:
        return "widget", folders
    text = constant_text(first)
    if text is None and isinstance(first, ast.Attribute):
        owner = first.value
        if isinstance(owner, ast.Name) and (
            owner.id in SELF_NAMES or owner.id in scope.class_names
        ):
            # (cls.modes,): a class attribute holding the choices, or the type's name.
            bound = scope.attribute(first.attr)
            if bound and isinstance(bound[-1], (ast.List, ast.Tuple, ast.ListComp)):
                return "widget", ()
            text = constant_text(bound[-1]) if bound else None
        if text is None:
            text = first.attr  # IO.INT, io.FLOAT, ...
    if text is None and isinstance(first, ast.Name):
        bound = scope.lookup(first.id)
        if bound:
            text = constant_text(bound[-1])
            if text is None and isinstance(bound[-1], ast.Call):
                callee = call_name(bound[-1]) or ""
                if callee[:1].isupper():
                    return "socket", ()  # AnyType("*") and friends
    if text is not None:
        return ("widget" if text.upper() in WIDGET_TYPES else "socket"), ()
    return "widget", ()


def v3_input(item: ast.expr, scope: Scope) -> tuple[str, bool, bool, tuple[str, ...]] | None:
    if not isinstance(item, ast.Call) or not isinstance(item.func, ast.Attribute):
        return None
    if item.func.attr != "Input":
        return None
    type_name = last_name(item.func.value) or ""
    name_node = (
        item.args[0] if item.args else next((k.value for k in item.keywords if k.arg == "id"), None)
    )
    name = constant_text(name_node) if name_node is not None else None
    if name is None:
        return None
    optional = any(k.arg == "optional" and is_true(k.value) for k in item.keywords)
    options = next((k.value for k in item.keywords if k.arg == "options"), None)
    if options is None and len(item.args) > 1:
        options = item.args[1]
    folders = folders_of(options, scope, 0) if options is not None else ()
    return name, type_name in V3_WIDGET_TYPES or bool(folders), optional, folders
