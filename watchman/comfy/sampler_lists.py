"""ComfyUI's sampler and scheduler lists, read from the install's ``comfy/samplers.py``,
and whether any code ComfyUI loads changes them: the offline check of a KSampler's
``sampler_name`` and ``scheduler`` values.

Nodes take those lists from ``comfy.samplers`` (``(comfy.samplers.KSampler.SAMPLERS,)``)
rather than writing them, and ComfyUI validates a prompt against the lists as they are
once every pack has been imported. A pack may add to them at import (RES4LYF inserts its
samplers into ``KSampler.SAMPLERS`` and appends ``beta57`` to ``SCHEDULER_NAMES``) or swap
them at run time (efficiency-nodes assigns ``KSampler.SCHEDULERS``). So the lists read
from ``samplers.py`` are used only when no file ComfyUI loads is seen to change them
(:func:`changes_sampler_lists`); the reading is a syntax tree's, nothing is run.

What counts as a change is deliberately broad: an attribute of one of those names
assigned (``self.SAMPLERS = ...`` too), one of them or a name bound to one of them
extended in place (``+=``, ``.append``, ``.insert``, item assignment, ...) or handed to a
function that is not a known reader, and their names passed as text (``setattr``,
``getattr``). A pack that only reads them, or builds its own list from them
(``SCHEDULERS = comfy.samplers.KSampler.SCHEDULERS + ["AYS SDXL"]``, as Impact Pack
does), changes nothing. A change written in a way no reading of the source can see
(``exec``, a list handed back by a function and changed by its caller) is not found.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from watchman.comfy.python_source import PARSE_ERRORS
from watchman.comfy.syntax_literals import attribute_parts, constant_text, last_name

SHARED_LISTS = ("KSAMPLER_NAMES", "SAMPLER_NAMES", "SCHEDULER_NAMES")
"""The module lists of ``comfy.samplers`` nodes take as their choices."""
SHARED_CLASS_LISTS = ("SAMPLERS", "SCHEDULERS")
"""The lists ``comfy.samplers.KSampler`` holds (the same objects, in ComfyUI)."""

SharedLists = Mapping[str, frozenset[str]]
"""Choices by key: a module list's name, or ``KSampler.SAMPLERS``/``KSampler.SCHEDULERS``."""

_WATCHED = frozenset({*SHARED_LISTS, *SHARED_CLASS_LISTS, "SCHEDULER_HANDLERS"})
# An attribute of these names assigned replaces a list, or the class holding two of them.
_REPLACED = _WATCHED | {"KSampler"}
_BY_NAME = frozenset({"setattr", "getattr", "delattr", "__setattr__"})
# Any of the lists by name, or the module itself (``getattr(comfy.samplers, name)``,
# ``comfy.samplers = ...``, ``from comfy import samplers``).
_MENTIONS = (b"SAMPLER", b"SCHEDULER", b"KSampler", b"comfy.samplers", b"import samplers")
_MUTATORS = frozenset(
    {
        "append", "insert", "extend", "remove", "pop", "popitem", "clear", "sort",
        "reverse", "update", "setdefault", "__setitem__", "__delitem__", "__iadd__",
    }
)  # fmt: skip
# Calls that only read what they are given (the list is not kept by something that may
# change it later): built-ins, and the v3 schema's inputs (``io.Combo.Input(options=...)``).
_READERS = frozenset(
    {
        "list", "tuple", "set", "frozenset", "sorted", "len", "enumerate", "iter",
        "reversed", "zip", "str", "repr", "print", "any", "all", "max", "min", "map",
        "filter", "isinstance", "join", "index", "count", "copy", "deepcopy", "fromkeys",
        "format", "choice", "get_close_matches", "Input", "Combo", "info", "debug",
        "warning", "error",
    }
)  # fmt: skip
_KEYWORD_READERS = frozenset({"options", "choices", "default"})
MAX_ALIAS_ROUNDS = 4
"""Names bound to a name bound to a list are followed this many steps (``a = b = x``)."""
MAX_LIST_CHOICES = 1_000
"""A list read longer than this is not kept (a real one has a few dozen)."""


def shared_list_key(node: ast.expr) -> str | None:
    """Return which list of ``comfy.samplers`` an input's type expression is, written
    from the module down (``comfy.samplers.KSampler.SAMPLERS`` -> ``KSampler.SAMPLERS``,
    ``comfy.samplers.SCHEDULER_NAMES`` -> ``SCHEDULER_NAMES``), or None. A shorter
    spelling (``KSampler.SAMPLERS`` after ``from comfy.samplers import KSampler``) could
    be a pack's own class: not taken."""
    parts = attribute_parts(node)
    if parts is None or parts[:2] != ["comfy", "samplers"]:
        return None
    rest = parts[2:]
    if len(rest) == 1 and rest[0] in SHARED_LISTS:
        return rest[0]
    if len(rest) == 2 and rest[0] == "KSampler" and rest[1] in SHARED_CLASS_LISTS:
        return "KSampler." + rest[1]
    return None


def mentions_sampler_lists(data: bytes) -> bool:
    """Whether a file's bytes name any of the lists at all (the cheap test before its
    syntax tree is read for :func:`changes_sampler_lists`)."""
    return any(marker in data for marker in _MENTIONS)


def changes_sampler_lists(tree: ast.AST) -> bool:
    """Whether the module ``tree`` may change ComfyUI's sampler or scheduler lists (the
    rules are the module's docstring). A name bound to a list inside a function is that
    function's own (and its nested functions'); one bound in a module or class body, an
    attribute (``self.names = ...``), an import's ``as`` name and a name the function
    declares ``global`` hold everywhere. Never raises for any tree."""
    scopes = _scopes(tree)
    shared = _Aliases(frozenset(), frozenset())
    for _ in range(MAX_ALIAS_ROUNDS):
        by_scope: list[_Aliases] = []
        widened = shared
        for nodes, parent in scopes:
            inherited = by_scope[parent] if parent is not None else shared
            found = _aliases(nodes, inherited)
            by_scope.append(found)
            promoted = _promoted(nodes, found) if parent is not None else found
            widened = widened.union(promoted)
        if widened == shared:
            owners = _imported_owners(scopes)
            return any(
                _changes(node, aliases, owners)
                for (nodes, _), aliases in zip(scopes, by_scope, strict=True)
                for node in nodes
            )
        shared = widened
    return True  # aliases of aliases past the bound: taken to change them


# The node kinds the rules read: bindings, calls, deletions, imports, ``global`` and the
# functions themselves (their parameters' defaults). Only these are kept per scope: the
# rules pass over a scope's nodes up to sixteen times, and most nodes of a large file are
# names, constants and operators none of them reads.
_READ_KINDS = (
    ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.Delete, ast.For,
    ast.AsyncFor, ast.comprehension, ast.alias, ast.Global, ast.Call, ast.ImportFrom,
    ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
)  # fmt: skip
_SCOPE_KINDS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _scopes(tree: ast.AST) -> list[tuple[list[ast.AST], int | None]]:
    """The tree's nodes the rules read (:data:`_READ_KINDS`) by scope, each with its
    enclosing scope's index: the module's (class bodies included) first, then each
    function's own (its signature included), without the functions nested in it,
    enclosing ones before nested ones."""
    scopes: list[tuple[list[ast.AST], int | None]] = []
    roots: deque[tuple[ast.AST, int | None]] = deque([(tree, None)])
    while roots:
        root, parent = roots.popleft()
        index = len(scopes)
        own: list[ast.AST] = []
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, _READ_KINDS):
                own.append(node)
            # The children by field, as python_source.syntax_nodes reads them: several
            # times faster than ast.iter_child_nodes' generator.
            for name in node._fields:
                value = getattr(node, name, None)
                children = value if isinstance(value, list) else (value,)
                for child in children:
                    if not isinstance(child, ast.AST):
                        continue
                    if isinstance(child, _SCOPE_KINDS):
                        roots.append((child, index))
                    else:
                        stack.append(child)
        scopes.append((own, parent))
    return scopes


def read_sampler_lists(data: bytes) -> dict[str, frozenset[str]]:
    """Return the lists ``comfy/samplers.py``'s bytes write, by key (see
    :data:`SharedLists`): a list written in place, a name bound once to one, two of them
    added, or the keys of a dict written in place (``list(SCHEDULER_HANDLERS)``). A list
    built any other way, a name bound twice, or a file that changes its own lists gives
    nothing for that key (or at all). Never raises."""
    try:
        tree = ast.parse(data)
    except PARSE_ERRORS:
        return {}
    if changes_sampler_lists(tree):
        return {}
    module: dict[str, list[ast.expr]] = {}
    classes: dict[str, list[ast.ClassDef]] = {}
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef):
            classes.setdefault(statement.name, []).append(statement)
            module.setdefault(statement.name, []).append(_UNKNOWN)
            continue  # what its body binds is the class's, read below
        for name, value in _bindings(statement):
            module.setdefault(name, []).append(value)
    found: dict[str, frozenset[str]] = {}
    for name in SHARED_LISTS:
        choices = _evaluate(ast.Name(id=name), module, 0)
        if choices is not None:
            found[name] = frozenset(choices)
    ksampler = classes.get("KSampler", [])
    if len(ksampler) == 1 and len(module["KSampler"]) == 1:
        attributes: dict[str, list[ast.expr]] = {}
        for statement in ksampler[0].body:
            for name, value in _bindings(statement):
                attributes.setdefault(name, []).append(value)
        for name in SHARED_CLASS_LISTS:
            bound = attributes.get(name, [])
            choices = _evaluate(bound[0], module, 0) if len(bound) == 1 else None
            if choices is not None:
                found["KSampler." + name] = frozenset(choices)
    return found


def _bindings(statement: ast.stmt) -> Iterable[tuple[str, ast.expr]]:
    # Every name a statement binds; a value only for ``name = value``, else a marker that
    # makes the name unreadable (bound by a loop, an import, a def, ``a, b = ...``). A
    # function's own names count too: one may rebind a module name (``global``).
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                yield target.id, statement.value
            else:
                yield from ((name, _UNKNOWN) for name in _stored_names(target))
    elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        if statement.value is not None:
            yield statement.target.id, statement.value
    else:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                yield node.id, _UNKNOWN
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield node.name, _UNKNOWN
            elif isinstance(node, ast.alias):
                yield (node.asname or node.name.split(".")[0]), _UNKNOWN


_UNKNOWN: ast.expr = ast.Constant(value=None)


def _stored_names(target: ast.expr) -> Iterable[str]:
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield node.id


def _evaluate(node: ast.expr, module: Mapping[str, list[ast.expr]], depth: int) -> list[str] | None:
    if depth > 8:
        return None
    if isinstance(node, (ast.List, ast.Tuple)):
        texts = [constant_text(element) for element in node.elts]
        if len(texts) > MAX_LIST_CHOICES or any(text is None for text in texts):
            return None
        return [text for text in texts if text is not None]
    if isinstance(node, ast.Dict):
        keys = [constant_text(key) if key is not None else None for key in node.keys]
        if len(keys) > MAX_LIST_CHOICES or any(key is None for key in keys):
            return None
        return [key for key in keys if key is not None]
    if isinstance(node, ast.Name):
        bound = module.get(node.id, [])
        return _evaluate(bound[0], module, depth + 1) if len(bound) == 1 else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _evaluate(node.left, module, depth + 1)
        right = _evaluate(node.right, module, depth + 1)
        return left + right if left is not None and right is not None else None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("list", "tuple")
        and len(node.args) == 1
        and not node.keywords
    ):
        return _evaluate(node.args[0], module, depth + 1)
    return None


@dataclass(frozen=True)
class _Aliases:
    """Names bound to one of the lists as it is (``lists``: ``names = ...KSAMPLER_NAMES``,
    then ``names.append(...)`` changes it), and names bound to a tuple, list or dict
    holding one (``containers``: ``for names in (a, b)``, ``d["s"].append``)."""

    lists: frozenset[str]
    containers: frozenset[str]

    def union(self, other: _Aliases) -> _Aliases:
        return _Aliases(self.lists | other.lists, self.containers | other.containers)


def _watched(node: ast.AST, aliases: _Aliases) -> bool:
    """Whether ``node`` is one of the lists: by name, by an alias, or as an item of a
    container alias or of a module's namespace (``vars(comfy.samplers)["SAMPLER_NAMES"]``)."""
    if isinstance(node, ast.Name):
        return node.id in _WATCHED or node.id in aliases.lists
    if isinstance(node, ast.Attribute):
        return node.attr in _WATCHED or node.attr in aliases.lists
    if isinstance(node, ast.Subscript):
        if constant_text(node.slice) in _WATCHED:
            return True
        owner = last_name(node.value)
        return owner is not None and owner in aliases.containers
    return False


def _holds(node: ast.AST, aliases: _Aliases) -> bool:
    """Whether a display (tuple, list, set, dict) written in place holds one of the lists."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_watched(e, aliases) or _holds(e, aliases) for e in node.elts)
    if isinstance(node, ast.Dict):
        return any(_watched(v, aliases) or _holds(v, aliases) for v in node.values)
    return False


def _aliases(nodes: list[ast.AST], inherited: _Aliases) -> _Aliases:
    """The aliases a scope's ``nodes`` bind, with those it sees from outside."""
    lists: set[str] = set(inherited.lists)
    containers: set[str] = set(inherited.containers)
    for _ in range(MAX_ALIAS_ROUNDS):
        known = _Aliases(frozenset(lists), frozenset(containers))
        for node in nodes:
            for name, is_container in _bindings_of_lists(node, known):
                (containers if is_container else lists).add(name)
        if len(lists) == len(known.lists) and len(containers) == len(known.containers):
            break
    return _Aliases(frozenset(lists), frozenset(containers))


def _bindings_of_lists(node: ast.AST, known: _Aliases) -> Iterable[tuple[str, bool]]:
    """The names ``node`` binds to a list (False) or to a display holding one (True)."""
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
        value = node.value
        if value is None:
            return
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            yield from _bound_to(target, value, known)
    elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        iterated = node.iter
        owner = last_name(iterated) if isinstance(iterated, (ast.Name, ast.Attribute)) else None
        if _holds(iterated, known) or (owner is not None and owner in known.containers):
            for part in _targets([node.target]):
                name = last_name(part)
                if name is not None:
                    yield name, False  # an item may be a list, or a display holding one
                    yield name, True
    elif isinstance(node, ast.alias):
        if node.name.rsplit(".", 1)[-1] in _WATCHED and node.asname:
            yield node.asname, False  # from comfy.samplers import KSAMPLER_NAMES as names
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        # A parameter whose default is a list: ``def add(n, names=KSAMPLER_NAMES)``.
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        # The parser pairs defaults with the last parameters (strict=False: never raise).
        defaulted = positional[max(0, len(positional) - len(arguments.defaults)) :]
        pairs = list(zip(defaulted, arguments.defaults, strict=False))
        keywords = zip(arguments.kwonlyargs, arguments.kw_defaults, strict=False)
        pairs += [(a, d) for a, d in keywords if d is not None]
        for argument, default in pairs:
            if _watched(default, known):
                yield argument.arg, False


def _bound_to(target: ast.expr, value: ast.expr, known: _Aliases) -> Iterable[tuple[str, bool]]:
    """What ``target = value`` binds: a list alias (False) or a container (True); both
    when an unpacking leaves it unsure which item a name gets."""
    if (
        isinstance(target, (ast.Tuple, ast.List))
        and isinstance(value, (ast.Tuple, ast.List))
        and len(target.elts) == len(value.elts)
        and not any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts))
    ):
        for part, item in zip(target.elts, value.elts, strict=True):
            yield from _bound_to(part, item, known)
        return
    whole = _watched(value, known)
    if not (whole or _holds(value, known)):
        return
    unpacked = isinstance(target, (ast.Tuple, ast.List, ast.Starred))
    for part in _targets([target]):
        name = last_name(part)
        if name is None:
            continue
        if unpacked or whole:
            yield name, False
        if unpacked or not whole:
            yield name, True


def _promoted(nodes: list[ast.AST], found: _Aliases) -> _Aliases:
    """What a function's aliases make true everywhere: attributes it binds
    (``self.names = ...``), imports' ``as`` names and names it declares ``global``."""
    declared = {name for node in nodes if isinstance(node, ast.Global) for name in node.names}
    bound_attributes: set[str] = set()
    for node in nodes:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound_attributes.update(
                part.attr for part in _targets(targets) if isinstance(part, ast.Attribute)
            )
        elif isinstance(node, ast.alias) and node.asname:
            declared.add(node.asname)
    keep = declared | bound_attributes
    return _Aliases(found.lists & keep, found.containers & keep)


def _targets(targets: Iterable[ast.expr]) -> Iterable[ast.expr]:
    # What an assignment stores into, unpacking ``a, b.c = ...`` (a method patched on the
    # class, ``KSampler.sample = ...``, stores into ``sample``: not a list).
    for target in targets:
        if isinstance(target, (ast.Tuple, ast.List)):
            yield from _targets(target.elts)
        elif isinstance(target, ast.Starred):
            yield from _targets([target.value])
        else:
            yield target


def _is_samplers_module(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "samplers"
        and isinstance(node.value, ast.Name)
        and node.value.id == "comfy"
    )


def _owns_lists(node: ast.AST, imported: frozenset[str]) -> bool:
    """Whether ``node`` is the module or class holding the lists: ``comfy.samplers``,
    ``comfy.samplers.KSampler``, or a name ``imported`` from ComfyUI for them (a pack's
    own ``samplers`` module is not)."""
    parts = attribute_parts(node) if isinstance(node, ast.Attribute) else None
    if isinstance(node, ast.Name):
        parts = [node.id]
    if not parts:
        return False
    return parts[:2] == ["comfy", "samplers"] or (len(parts) <= 2 and parts[0] in imported)


def _imported_owners(scopes: list[tuple[list[ast.AST], int | None]]) -> frozenset[str]:
    """The names a module binds to ``comfy.samplers`` or its ``KSampler`` by import, in
    any of its ``scopes``."""
    names = set()
    for nodes, _ in scopes:
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and not node.level:
                for alias in node.names:
                    if (node.module, alias.name) in (
                        ("comfy", "samplers"),
                        ("comfy.samplers", "KSampler"),
                    ):
                        names.add(alias.asname or alias.name)
    return frozenset(names)


def _changes(node: ast.AST, aliases: _Aliases, owners: frozenset[str]) -> bool:
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for target in _targets(targets):
            if isinstance(target, ast.Attribute) and target.attr in _REPLACED:
                return True  # comfy.samplers.KSampler.SCHEDULERS = ...
            if _is_samplers_module(target):
                return True  # comfy.samplers = my_module
            if isinstance(target, ast.Subscript) and (
                _watched(target.value, aliases)
                or constant_text(target.slice) == "comfy.samplers"  # sys.modules[...]
            ):
                return True  # SCHEDULER_HANDLERS["beta57"] = ...
            if isinstance(node, ast.AugAssign) and _watched(target, aliases):
                return True  # a list's += extends it in place
        return False
    if not isinstance(node, ast.Call):
        return False
    function = node.func
    if (
        isinstance(function, ast.Attribute)
        and function.attr in _MUTATORS
        and _watched(function.value, aliases)
    ):
        return True
    called = last_name(function)
    if called in _BY_NAME and any(constant_text(a) in _REPLACED for a in node.args):
        return True  # setattr(comfy.samplers.KSampler, "SAMPLERS", ...), getattr(...)
    if (
        called in _BY_NAME
        and len(node.args) > 1
        and _owns_lists(node.args[0], owners)
        and constant_text(node.args[1]) is None
    ):
        return True  # getattr(comfy.samplers, name): any of them
    reader = called in _READERS
    for argument in node.args:
        target = argument.value if isinstance(argument, ast.Starred) else argument
        if _watched(target, aliases) and not reader:
            return True  # handed to code that may keep and change it
    for keyword in node.keywords:
        if _watched(keyword.value, aliases) and not (reader or keyword.arg in _KEYWORD_READERS):
            return True
    return False
