"""The literal readings of a syntax node that need no scope: the text of a string
constant (or of an f-string without fields), the name a call or attribute ends in, and
``True``.

Shared by every reader of a pack's source (:mod:`watchman.comfy.python_source`, the
loader extractor's modules); nothing is imported or run: only syntax trees are read.
"""

from __future__ import annotations

import ast


def call_name(call: ast.Call) -> str | None:
    return last_name(call.func)


def last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def constant_text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [part.value for part in node.values if isinstance(part, ast.Constant)]
        if len(parts) == len(node.values) and all(isinstance(part, str) for part in parts):
            return "".join(str(part) for part in parts)  # f"Name" has no fields
    return None


def is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def attribute_parts(node: ast.expr) -> list[str] | None:
    """``a.b.C`` as ``["a", "b", "C"]``; None for anything but names and attributes."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or not parts:
        return None
    parts.append(node.id)
    return parts[::-1]
