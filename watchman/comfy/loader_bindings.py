"""What a body of a pack's source binds to names, read statically: assignments, ``+=``,
``.append``/``.extend``/``.insert`` calls, ``self.x = ...`` attributes and loop
variables, with every value bound to each name (the values a name may hold are all kept).

Part of reading loaders from source: :mod:`watchman.comfy.loader_scope` looks names up in
these bindings. Nothing is imported or run: only syntax trees are read.
"""

from __future__ import annotations

import ast

from watchman.comfy.loader_trace import DirectoriesOf, mentions, tested_directories
from watchman.comfy.syntax_literals import call_name

SELF_NAMES = frozenset({"self", "cls", "s", "c"})
"""The names a method's first parameter goes by in packs."""

ATTRIBUTE_PREFIX = "."
"""Key prefix of ``self.x = ...`` bindings among a function's names (never a name)."""

Function = ast.FunctionDef | ast.AsyncFunctionDef


def bind_statement(
    statement: ast.stmt,
    bindings: dict[str, list[ast.expr]],
    directories: frozenset[str] = frozenset(),
) -> None:
    """Record in ``bindings`` what one statement (and the blocks inside it) binds to names:
    assignments, ``+=`` and ``.extend``/``.append``/``.insert`` calls. Inside the body of
    an ``if`` that keeps directories (``if os.path.isdir(os.path.join(p, x)):
    names.append(x)``: ``directories`` holds the names its test is about), a value
    appended that reads one of them is held as the directories of its listing; the
    root's own test (``if os.path.isdir(root): names.extend(files)``) is about no entry."""
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                bindings.setdefault(target.id, []).append(statement.value)
            elif (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and (target.value.id in SELF_NAMES or target.value.id[:1].isupper())
            ):
                # s.model_paths = ... (or Loader.names = ...) in INPUT_TYPES, then read
                # as s.model_paths
                bindings.setdefault(ATTRIBUTE_PREFIX + target.attr, []).append(statement.value)
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        if isinstance(statement.target, ast.Name):
            bindings.setdefault(statement.target.id, []).append(statement.value)
    elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
        bindings.setdefault(statement.target.id, []).append(statement.value)
    elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if (
            isinstance(call.func, ast.Attribute)
            and call.func.attr in ("extend", "append", "insert")
            and isinstance(call.func.value, ast.Name)
        ):
            added = [DirectoriesOf(arg) if mentions(arg, directories) else arg for arg in call.args]
            bindings.setdefault(call.func.value.id, []).extend(added)
    elif isinstance(statement, (ast.If, ast.Try, ast.With, ast.For)):
        if (
            isinstance(statement, ast.For)
            and isinstance(statement.target, ast.Tuple)
            and isinstance(statement.iter, ast.Call)
            and call_name(statement.iter) == "walk"
            and len(statement.target.elts) == 3
        ):
            # for root, dirs, files in os.walk(p): root and dirs hold directories.
            for position, element in enumerate(statement.target.elts):
                if isinstance(element, ast.Name):
                    walked = statement.iter
                    held: ast.expr = (
                        DirectoriesOf(walked) if position < 2 else ast.Starred(walked, ast.Load())
                    )
                    bindings.setdefault(element.id, []).append(held)
        if (
            isinstance(statement, ast.For)
            and isinstance(statement.target, ast.Name)
            and isinstance(statement.iter, (ast.Name, ast.List, ast.Tuple, ast.Call))
        ):
            # for folder in ["insightface", "reswapper"], for x in get_models(): the
            # variable takes each element.
            bindings.setdefault(statement.target.id, []).append(
                ast.Starred(statement.iter, ast.Load())
            )
        kept = tested_directories(statement.test) if isinstance(statement, ast.If) else None
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.stmt):
                inside = directories | kept if kept and child in statement.body else directories
                bind_statement(child, bindings, inside)
        for handler in getattr(statement, "handlers", ()):
            for child in handler.body:
                bind_statement(child, bindings, directories)


def local_bindings(function: Function) -> dict[str, list[ast.expr]]:
    """Return the names a function body binds, with every value bound to each."""
    bindings: dict[str, list[ast.expr]] = {}
    for statement in function.body:
        bind_statement(statement, bindings)
    return bindings
