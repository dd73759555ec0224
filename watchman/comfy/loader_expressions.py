"""Reading the expressions of a node's inputs: which folder a list draws on, widget or socket.

Helpers of :mod:`watchman.comfy.loader_source`, kept apart so each module stays one
concept: this one evaluates expressions statically (names followed through a scope of
module, class and function bindings, to a bounded depth), the other walks files,
classes and mappings.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from watchman.comfy.folders import canonical_folder
from watchman.comfy.python_source import syntax_nodes

MAX_DEPTH = 12
"""How many names, calls or bases are followed from one input before giving up."""

LIST_CALLS = frozenset({"get_filename_list", "get_filename_list_"})
FOLDER_PATH_CALLS = frozenset({"get_folder_paths"})
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
V3_WIDGET_TYPES = frozenset({"Combo", "Int", "Float", "String", "Boolean", "MultiCombo"})
SELF_NAMES = frozenset({"self", "cls", "s", "c"})

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Scope:
    """What names mean where an expression is read: function, class, then module."""

    module_bindings: dict[str, list[ast.expr]]
    functions: dict[str, Function]
    class_names: frozenset[str]
    class_bindings: dict[str, list[ast.expr]] = field(default_factory=dict)
    local_bindings: dict[str, list[ast.expr]] = field(default_factory=dict)
    methods: dict[str, Function] = field(default_factory=dict)

    def lookup(self, name: str) -> list[ast.expr]:
        """Every value bound to ``name``, from the innermost scope binding it."""
        for bindings in (self.local_bindings, self.class_bindings, self.module_bindings):
            if name in bindings:
                return bindings[name]
        return []

    def attribute(self, name: str) -> list[ast.expr]:
        """Values bound to ``self.name`` / ``cls.name``: class attributes, else module."""
        return self.class_bindings.get(name) or self.module_bindings.get(name, [])

    def inside(self, function: Function) -> Scope:
        """The scope of ``function``'s body, in this class and module."""
        return Scope(
            self.module_bindings,
            self.functions,
            self.class_names,
            self.class_bindings,
            local_bindings(function),
            self.methods,
        )


def dict_items(node: ast.expr, scope: Scope, depth: int) -> list[tuple[str, ast.expr]]:
    if depth > MAX_DEPTH:
        return []
    if isinstance(node, ast.Name):
        bound = scope.lookup(node.id)
        return dict_items(bound[0], scope, depth + 1) if bound else []
    if isinstance(node, ast.Call) and call_name(node) == "dict":
        return [(k.arg, k.value) for k in node.keywords if k.arg is not None]
    if not isinstance(node, ast.Dict):
        return []
    items: list[tuple[str, ast.expr]] = []
    for key, value in zip(node.keys, node.values, strict=True):
        if key is None:
            items.extend(dict_items(value, scope, depth + 1))
            continue
        text = constant_text(key)
        if text is not None:
            items.append((text, value))
    return items


def list_items(node: ast.expr | None, scope: Scope, depth: int) -> list[ast.expr]:
    if node is None or depth > MAX_DEPTH:
        return []
    if isinstance(node, (ast.List, ast.Tuple)):
        items: list[ast.expr] = []
        for element in node.elts:
            if isinstance(element, ast.Starred):
                items.extend(list_items(element.value, scope, depth + 1))
            else:
                items.append(element)
        return items
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return list_items(node.left, scope, depth + 1) + list_items(node.right, scope, depth + 1)
    if isinstance(node, ast.Name):
        bound = scope.lookup(node.id)
        return list_items(bound[0], scope, depth + 1) if bound else []
    return []


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


def folders_of(node: ast.expr | None, scope: Scope, depth: int) -> tuple[str, ...]:
    """Folder types a list expression draws on, in order; empty when none."""
    if node is None or depth > MAX_DEPTH:
        return ()
    found: list[str] = []
    for folder in folders_iter(node, scope, depth):
        canonical = canonical_folder(folder)
        if canonical not in found:
            found.append(canonical)
    return tuple(found)


def folders_iter(node: ast.expr, scope: Scope, depth: int) -> Iterator[str]:
    if depth > MAX_DEPTH:
        return
    if isinstance(node, ast.Call):
        callee = call_name(node)
        if (callee in LIST_CALLS or callee in FOLDER_PATH_CALLS) and node.args:
            folder = string_value(node.args[0], scope)
            if folder:
                yield folder
            return
        function = None
        if isinstance(node.func, ast.Name):
            function = scope.functions.get(node.func.id)
        elif (
            isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in SELF_NAMES
        ):
            function = scope.methods.get(node.func.attr)
        if function is not None:
            # A helper of the module or a method of the class: what it returns.
            inner = scope.inside(function)
            for returned in syntax_nodes(function):
                if isinstance(returned, ast.Return) and returned.value is not None:
                    yield from folders_iter(returned.value, inner, depth + 1)
            return
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("copy", "keys"):
            yield from folders_iter(node.func.value, scope, depth + 1)
            return
        # sorted(...), list(...), os.listdir(get_folder_paths("x")[0]), helpers: the
        # folders of what they are given.
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            yield from folders_iter(argument, scope, depth + 1)
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        yield from folders_iter(node.left, scope, depth + 1)
        yield from folders_iter(node.right, scope, depth + 1)
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            yield from folders_iter(element, scope, depth + 1)
    elif isinstance(node, ast.Starred):
        yield from folders_iter(node.value, scope, depth + 1)
    elif isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
        for generator in node.generators:
            yield from folders_iter(generator.iter, scope, depth + 1)
    elif isinstance(node, ast.IfExp):
        yield from folders_iter(node.body, scope, depth + 1)
        yield from folders_iter(node.orelse, scope, depth + 1)
    elif isinstance(node, ast.Subscript):
        if last_name(node.value) == "folder_names_and_paths":
            folder = string_value(node.slice, scope)
            if folder:
                yield folder
        else:
            yield from folders_iter(node.value, scope, depth + 1)
    elif isinstance(node, ast.Name):
        for bound in scope.lookup(node.id):
            if bound is not node:
                yield from folders_iter(bound, scope, depth + 1)
    elif (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and (node.value.id in SELF_NAMES or node.value.id in scope.class_names)
    ):
        for bound in scope.attribute(node.attr):
            yield from folders_iter(bound, scope, depth + 1)


def string_value(node: ast.expr, scope: Scope) -> str | None:
    text = constant_text(node)
    if text is None and isinstance(node, ast.Name):
        bound = scope.lookup(node.id)
        text = constant_text(bound[-1]) if bound else None
    return text.strip() or None if text is not None else None


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
    return None


def is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def bind_statement(statement: ast.stmt, bindings: dict[str, list[ast.expr]]) -> None:
    """Record in ``bindings`` what one statement (and the blocks inside it) binds to names:
    assignments, ``+=`` and ``.extend``/``.append``/``.insert`` calls."""
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                bindings.setdefault(target.id, []).append(statement.value)
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
            bindings.setdefault(call.func.value.id, []).extend(call.args)
    elif isinstance(statement, (ast.If, ast.Try, ast.With, ast.For)):
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.stmt):
                bind_statement(child, bindings)
        for handler in getattr(statement, "handlers", ()):
            for child in handler.body:
                bind_statement(child, bindings)


def local_bindings(function: Function) -> dict[str, list[ast.expr]]:
    """Return the names a function body binds, with every value bound to each."""
    bindings: dict[str, list[ast.expr]] = {}
    for statement in function.body:
        bind_statement(statement, bindings)
    return bindings
