"""What a name means where a pack's expression is read: scopes of module, class and
function bindings, followed statically to a bounded depth; the items stored into dicts by
subscript (loops over known ranges unrolled); and the readings of values through a scope
(texts, integers, dict and list items) that the loader extractor builds on.

Part of reading loaders from source (:mod:`watchman.comfy.loader_source`); what a body
binds is :mod:`watchman.comfy.loader_bindings`, the readings that need no scope
:mod:`watchman.comfy.syntax_literals`, which folders an expression lists
:mod:`watchman.comfy.loader_expressions`. Nothing is imported or run: only syntax trees
are read.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from watchman.comfy.loader_bindings import (
    ATTRIBUTE_PREFIX,
    SELF_NAMES,
    Function,
    local_bindings,
)
from watchman.comfy.loader_trace import ListingTrace
from watchman.comfy.syntax_literals import call_name, constant_text

MAX_DEPTH = 12
"""How many names, calls or bases are followed from one input before giving up."""
MAX_PATHS = 16
"""Paths one expression may stand for (a loop over folder names) before it is dropped."""
MAX_STEPS = 4000
"""Expressions visited while reading one input's folders (or one helper's) at most."""
MAX_UNROLLED = 256
"""Items one function's (or module's) loops may add before the rest are not read."""

Items = dict[tuple[str, ...], list[tuple[str, ast.expr]]]


@dataclass
class Scope:
    """What names mean where an expression is read: function, class, then module."""

    module_bindings: dict[str, list[ast.expr]]
    functions: dict[str, Function]
    class_names: frozenset[str]
    class_bindings: dict[str, list[ast.expr]] = field(default_factory=dict)
    local_bindings: dict[str, list[ast.expr]] = field(default_factory=dict)
    methods: dict[str, Function] = field(default_factory=dict)
    # Items stored into dicts by subscript (``d["k"] = v``, ``d["s"]["k"] = v``), by the
    # path of names and keys before the last key: function, then module.
    local_items: Items = field(default_factory=dict)
    module_items: Items = field(default_factory=dict)
    # Steps left for the expression being read, shared by the scopes of the helpers it
    # follows: helpers calling helpers would otherwise cost exponential time.
    steps: list[int] = field(default_factory=lambda: [MAX_STEPS])
    # The function whose body is being read (None at module or class level): a directory
    # listing in it counts as a list of model files only when it names a model extension.
    function: Function | None = None
    # What the listings read for the current input gave: shared like ``steps``.
    trace: ListingTrace = field(default_factory=lambda: ListingTrace())

    def lookup(self, name: str) -> list[ast.expr]:
        """Every value bound to ``name``, from the innermost scope binding it."""
        for bindings in (self.local_bindings, self.class_bindings, self.module_bindings):
            if name in bindings:
                return bindings[name]
        return []

    def attribute(self, name: str) -> list[ast.expr]:
        """Values bound to ``self.name`` / ``cls.name``: set in this function
        (``s.names = ...`` inside ``INPUT_TYPES``), class attributes, else module."""
        return (
            self.local_bindings.get(ATTRIBUTE_PREFIX + name)
            or self.class_bindings.get(name)
            or self.module_bindings.get(name, [])
        )

    def items(self, path: tuple[str, ...]) -> list[tuple[str, ast.expr]]:
        """Items stored by subscript under ``path`` (``("inputs", "optional")``)."""
        return self.local_items.get(path) or self.module_items.get(path, [])

    def inside(self, function: Function, arguments: ast.Call | None = None) -> Scope:
        """The scope of ``function``'s body, in this class and module; with ``arguments``
        (a call of it read in this scope), its parameters are bound to what the call
        passes, or to their defaults."""
        bindings = local_bindings(function)
        if arguments is not None:
            for name, values in _parameters(function, arguments, self).items():
                bindings[name] = [*values, *bindings.get(name, [])]
        inner = Scope(
            self.module_bindings,
            self.functions,
            self.class_names,
            self.class_bindings,
            bindings,
            self.methods,
            module_items=self.module_items,
            steps=self.steps,
            function=function,
            trace=self.trace,
        )
        inner.local_items = item_assignments(function.body, inner)
        return inner


def _parameters(function: Function, call: ast.Call, scope: Scope) -> dict[str, list[ast.expr]]:
    """Parameter name -> the expressions a call passes (a string it names is resolved
    in the caller's scope, where its names mean something, and so is a name local to the
    caller: ``create_path_dict(paths, ...)`` passes what ``paths`` holds there), else the
    default."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    bound: dict[str, list[ast.expr]] = {}
    defaults = arguments.defaults
    with_defaults = positional[len(positional) - len(defaults) :]
    for parameter, default in zip(with_defaults, defaults, strict=True):
        bound[parameter.arg] = [default]
    for parameter, optional in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if optional is not None:
            bound[parameter.arg] = [optional]
    if positional and positional[0].arg in SELF_NAMES and isinstance(call.func, ast.Attribute):
        positional = positional[1:]  # s.method(x): x is the second parameter
    given = [(positional[index], value) for index, value in enumerate(call.args[: len(positional)])]
    named = {p.arg: p for p in [*positional, *arguments.kwonlyargs]}
    given += [(named[k.arg], k.value) for k in call.keywords if k.arg in named]
    for parameter, value in given:
        if isinstance(value, ast.Starred):
            break
        text = string_value(value, scope)
        if text is not None:
            bound[parameter.arg] = [ast.Constant(text)]
        elif isinstance(value, ast.Name) and scope.local_bindings.get(value.id):
            held = [item for item in scope.local_bindings[value.id] if item is not value]
            bound[parameter.arg] = held[:MAX_PATHS] or [value]
        else:
            bound[parameter.arg] = [value]
    return bound


def item_assignments(statements: list[ast.stmt], scope: Scope) -> Items:
    """Return what ``statements`` store into dicts by subscript, in source order, by path.

    ``inputs["optional"][f"lora_{i}"] = spec`` inside ``for i in range(1, n + 1)`` gives
    one item per value of ``i`` under ``("inputs", "optional")``, when the range's bounds
    are integers known here (literals, names bound to them, sums). Loops over anything
    else are read once, and keys that need their variable are skipped. At most
    :data:`MAX_UNROLLED` items are gathered.
    """
    found: Items = {}
    _gather_items(statements, scope, {}, found, [MAX_UNROLLED], 0)
    return found


def _gather_items(
    statements: list[ast.stmt],
    scope: Scope,
    env: dict[str, int],
    found: Items,
    left: list[int],
    depth: int,
) -> None:
    if depth > MAX_DEPTH:
        return
    for statement in statements:
        if left[0] <= 0:
            return
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                path = _subscript_path(target, env)
                if path is not None and len(path) >= 2:
                    found.setdefault(path[:-1], []).append((path[-1], statement.value))
                    left[0] -= 1
        elif isinstance(statement, ast.For):
            variable = statement.target
            values = None
            if isinstance(variable, ast.Name):
                values = _range_values(statement.iter, scope, env)
            if values is None or not isinstance(variable, ast.Name):
                _gather_items(statement.body, scope, env, found, left, depth + 1)
            else:
                for value in values:
                    inner = {**env, variable.id: value}
                    _gather_items(statement.body, scope, inner, found, left, depth + 1)
        elif isinstance(statement, (ast.If, ast.With, ast.Try, ast.While)):
            blocks = [statement.body, getattr(statement, "orelse", [])]
            blocks += [handler.body for handler in getattr(statement, "handlers", [])]
            blocks.append(getattr(statement, "finalbody", []))
            for block in blocks:
                _gather_items(block, scope, env, found, left, depth + 1)


def _subscript_path(target: ast.expr, env: dict[str, int]) -> tuple[str, ...] | None:
    keys: list[str] = []
    node = target
    while isinstance(node, ast.Subscript) and len(keys) <= MAX_DEPTH:
        key = key_text(node.slice, env)
        if key is None:
            return None
        keys.append(key)
        node = node.value
    if not isinstance(node, ast.Name) or not keys:
        return None
    return (node.id, *reversed(keys))


def key_text(node: ast.expr, env: dict[str, int]) -> str | None:
    """A literal string, or an f-string whose fields are loop variables of ``env``."""
    text = constant_text(node)
    if text is not None or not isinstance(node, ast.JoinedStr):
        return text
    parts: list[str] = []
    for value in node.values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            parts.append(value.value)
        elif (
            isinstance(value, ast.FormattedValue)
            and value.format_spec is None
            and isinstance(value.value, ast.Name)
            and value.value.id in env
        ):
            parts.append(str(env[value.value.id]))
        else:
            return None
    return "".join(parts)


def _range_values(node: ast.expr, scope: Scope, env: dict[str, int]) -> range | None:
    if not isinstance(node, ast.Call) or call_name(node) != "range" or node.keywords:
        return None
    if not 1 <= len(node.args) <= 3:
        return None
    bounds = [int_value(argument, scope, env, 0) for argument in node.args]
    if any(bound is None for bound in bounds):
        return None
    values = range(*[bound for bound in bounds if bound is not None])
    return values if 0 < len(values) <= MAX_UNROLLED else None


def int_value(node: ast.expr, scope: Scope, env: dict[str, int], depth: int) -> int | None:
    """An integer an expression is known to be here: literals, loop variables, names
    bound once to one, and ``+ - *`` of those (small results only)."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(node, ast.Constant):
        value = node.value
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        bound = scope.lookup(node.id)
        return int_value(bound[-1], scope, env, depth + 1) if len(bound) == 1 else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = int_value(node.operand, scope, env, depth + 1)
        return -inner if inner is not None else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
        left = int_value(node.left, scope, env, depth + 1)
        right = int_value(node.right, scope, env, depth + 1)
        if left is None or right is None:
            return None
        result = (
            left + right
            if isinstance(node.op, ast.Add)
            else left - right
            if isinstance(node.op, ast.Sub)
            else left * right
        )
        return result if abs(result) <= 1_000_000 else None
    return None


def dict_items(node: ast.expr, scope: Scope, depth: int) -> list[tuple[str, ast.expr]]:
    if depth > MAX_DEPTH:
        return []
    if isinstance(node, ast.Name):
        bound = scope.lookup(node.id)
        own = dict_items(bound[0], scope, depth + 1) if bound else []
        return own + scope.items((node.id,))
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


def string_value(node: ast.expr, scope: Scope) -> str | None:
    text = constant_text(node)
    if text is None and isinstance(node, ast.Name):
        bound = scope.lookup(node.id)
        text = constant_text(bound[-1]) if bound else None
    return text.strip() or None if text is not None else None
