"""Scopes of a pack's source: what names, loop variables and subscript stores mean where
an expression is read (never by running the source)."""

from __future__ import annotations

import ast

from watchman.comfy.loader_bindings import local_bindings
from watchman.comfy.loader_scope import Scope, int_value, item_assignments


def _function(source: str) -> ast.FunctionDef:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def _scope(source: str) -> Scope:
    body = "".join(f"    {line}\n" for line in source.splitlines())
    return Scope({}, {}, frozenset(), local_bindings=local_bindings(_function(f"def m():\n{body}")))


def test_a_range_with_known_bounds_is_unrolled_for_f_string_keys() -> None:
    function = _function(
        "def f():\n"
        "    n = 2\n"
        "    for i in range(1, n + 1):\n"
        "        inputs['optional'][f'lora_{i}_name'] = x\n"
    )
    scope = Scope({}, {}, frozenset(), local_bindings=local_bindings(function))
    found = item_assignments(function.body, scope)
    assert [key for key, _ in found[("inputs", "optional")]] == ["lora_1_name", "lora_2_name"]


def test_an_integer_is_known_through_names_and_small_arithmetic_only() -> None:
    scope = _scope("a = 3\nb = a * 4 - 2\nc = unknown()\nd = 1000 * 1000 * 10")
    assert int_value(ast.Name("b"), scope, {}, 0) == 10
    assert int_value(ast.Name("c"), scope, {}, 0) is None
    assert int_value(ast.Name("d"), scope, {}, 0) is None  # too large to be a count
