"""A node pack's Python files as a program, in syntax: what each module binds at import
time (names, classes with their attributes, functions), what it imports from the pack,
and the statements that may declare node types. Nothing is evaluated here (that is
:mod:`watchman.comfy.pack_evaluation`) and nothing is run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from watchman.comfy.python_source import syntax_nodes


@dataclass
class PackModule:
    """What one file binds, as syntax (nothing evaluated yet)."""

    name: str  # dotted, relative to the pack: "py.nodes.lora_loader"
    is_package: bool
    bindings: dict[str, ast.expr] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    star_imports: list[str] = field(default_factory=list)
    classes: dict[str, dict[str, ast.expr]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    statements: list[ast.AST] = field(default_factory=list)
    # A function's parameters while its body is evaluated (they shadow module names).
    parameters: dict[str, str] = field(default_factory=dict)


# A tuple, not ``A | B``: isinstance takes a tuple several times faster, and this test
# runs on every node of every declaring file.
_DECLARING_KINDS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Call)


def module_name(path: str) -> str:
    """``py/nodes/lora.py`` -> ``py.nodes.lora``; a package's ``__init__.py`` names it."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def indexed_module(path: str, tree: ast.Module, nodes: list[ast.AST] | None = None) -> PackModule:
    """Return the module in file ``path`` (relative to the pack) with ``tree`` indexed;
    ``nodes`` is the tree's :func:`syntax_nodes` when the caller walked it already."""
    is_package = path.endswith("__init__.py") or path == "__init__.py"
    module = PackModule(module_name(path), is_package)
    index_module(module, tree, nodes)
    return module


def index_module(module: PackModule, tree: ast.Module, nodes: list[ast.AST] | None = None) -> None:
    """Fill ``module`` with the file's bindings, imports, classes and functions; ``nodes``
    is the tree's :func:`syntax_nodes` when the caller has them (else walked here)."""
    for statement in _module_level(tree.body):
        if isinstance(statement, ast.ClassDef):
            attributes: dict[str, ast.expr] = {}
            for item in statement.body:
                if isinstance(item, ast.Assign):
                    for target in item.targets:
                        if isinstance(target, ast.Name):
                            attributes[target.id] = item.value
                elif (
                    isinstance(item, ast.AnnAssign)
                    and item.value is not None
                    and isinstance(item.target, ast.Name)
                ):
                    attributes[item.target.id] = item.value
            module.classes[statement.name] = attributes
        elif isinstance(statement, ast.FunctionDef):
            module.functions[statement.name] = statement
        elif isinstance(statement, ast.Assign):
            # The last binding in file order wins, as for straight-line module code.
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    module.bindings[target.id] = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and statement.value is not None
            and isinstance(statement.target, ast.Name)
        ):
            module.bindings[statement.target.id] = statement.value
        elif isinstance(statement, ast.ImportFrom):
            _index_import(module, statement)
    # Declarations may sit anywhere, a function that registers included.
    module.statements = [
        node
        for node in (nodes if nodes is not None else syntax_nodes(tree))
        if isinstance(node, _DECLARING_KINDS)
    ]


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements run when the module is imported: ``body`` and the blocks of its
    ``if`` / ``try`` / ``with`` / loops, not the bodies of functions and classes."""
    found: list[ast.stmt] = []
    pending = list(reversed(body))
    while pending:
        statement = pending.pop()
        found.append(statement)
        blocks: list[list[ast.stmt]] = []
        if isinstance(statement, ast.If | ast.For | ast.While | ast.AsyncFor):
            blocks = [statement.body, statement.orelse]
        elif isinstance(statement, ast.With | ast.AsyncWith):
            blocks = [statement.body]
        elif isinstance(statement, ast.Try):
            handlers = [handler.body for handler in statement.handlers]
            blocks = [statement.body, *handlers, statement.orelse, statement.finalbody]
        for block in reversed(blocks):
            pending.extend(reversed(block))
    return found


def _index_import(module: PackModule, node: ast.ImportFrom) -> None:
    base = node.module or ""
    level = node.level
    package = module.name.split(".") if module.name else []
    if not module.is_package:
        package = package[:-1]
    if level == 0:
        source = base
    else:
        if level - 1 > len(package):
            return
        package = package[: len(package) - (level - 1)]
        source = ".".join([*package, *([base] if base else [])])
    for alias in node.names:
        if alias.name == "*":
            module.star_imports.append(source)
        elif base or level == 0:
            module.imports[alias.asname or alias.name] = (source, alias.name)
        else:  # from . import nodes: a module, read through its attributes (not followed)
            module.imports[alias.asname or alias.name] = (
                ".".join([*package, alias.name]) if package or alias.name else alias.name,
                None,
            )


def is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )
