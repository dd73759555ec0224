"""Reading the expressions of a node's inputs: which folder a list draws on, whether it
lists files or folders, widget or socket.

Helpers of :mod:`watchman.comfy.loader_source`, kept apart so each module stays one
concept: this one evaluates what an input's expression lists, over the scopes of
:mod:`watchman.comfy.loader_scope` (names followed through module, class and function
bindings, to a bounded depth); the other walks files, classes and mappings.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from watchman.comfy.folders import MODEL_EXTENSIONS, folders_using_dir, listed_folder
from watchman.comfy.loader_bindings import SELF_NAMES, Function
from watchman.comfy.loader_scope import (
    MAX_DEPTH,
    MAX_PATHS,
    MAX_STEPS,
    Scope,
    list_items,
    string_value,
)
from watchman.comfy.loader_trace import (
    DIRECTORY_TESTS,
    PARENT_CALLS,
    DirectoriesOf,
    climbs_above,
)
from watchman.comfy.python_source import syntax_nodes
from watchman.comfy.syntax_literals import call_name, constant_text, is_true, last_name

LIST_CALLS = frozenset({"get_filename_list", "get_filename_list_"})
FOLDER_PATH_CALLS = frozenset({"get_folder_paths"})
DIRECTORY_CALLS = frozenset({"listdir", "scandir", "walk", "glob", "iglob", "iterdir", "rglob"})
"""Calls listing a directory: ``os.listdir(p)``, ``glob.glob(p)``, ``Path(p).glob(...)``."""
PATH_CALLS = frozenset({"Path", "PurePath", "abspath", "normpath", "realpath", "expanduser", "str"})
"""Calls that give back the path they are given (as far as its directory goes)."""
ENTRY_NAMES = frozenset({"name", "stem"})
"""Attributes naming a listed entry (``os.DirEntry.name``, ``Path.name``)."""
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


def _filtered(node: ast.expr, scope: Scope, depth: int) -> Iterator[str]:
    """The folders of ``node`` read inside a directory filter."""
    scope.trace.filters += 1
    try:
        yield from folders_iter(node, scope, depth + 1)
    finally:
        scope.trace.filters -= 1


def _tests_directory(test: ast.expr, scope: Scope, depth: int = 0) -> bool:
    """Whether a filter ``test`` keeps directories: it calls ``isdir`` / ``is_dir`` (not
    under a ``not``), or a predicate bound here (a lambda handed in, a helper) that does;
    ``os.path.isdir`` itself as ``filter``'s function."""
    if depth > 2:
        return False
    if last_name(test) in DIRECTORY_TESTS and not isinstance(test, ast.Call):
        return True  # filter(os.path.isdir, ...)
    if isinstance(test, ast.Lambda):
        return _tests_directory(test.body, scope, depth + 1)
    negated: set[int] = set()
    for node in syntax_nodes(test):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            negated.update(id(inner) for inner in syntax_nodes(node.operand))
        if not isinstance(node, ast.Call) or id(node) in negated:
            continue
        if call_name(node) in DIRECTORY_TESTS:
            return True
        if isinstance(node.func, ast.Name):
            for bound in scope.lookup(node.func.id)[:4]:
                if isinstance(bound, ast.Lambda) and _tests_directory(bound, scope, depth + 1):
                    return True
            helper = scope.functions.get(node.func.id)
            if helper is not None and any(
                isinstance(inner, ast.Call) and call_name(inner) in DIRECTORY_TESTS
                for inner in syntax_nodes(helper)
            ):
                return True
    return False


def folders_of(node: ast.expr | None, scope: Scope, depth: int) -> tuple[str, ...]:
    """Folder types a list expression draws on, in order; empty when none. Reading one
    expression takes at most :data:`MAX_STEPS` steps."""
    if node is None or depth > MAX_DEPTH:
        return ()
    scope.steps[0] = MAX_STEPS
    scope.trace.reset()
    found: list[str] = []
    for folder in folders_iter(node, scope, depth):
        canonical = listed_folder(folder)
        if canonical not in found:
            found.append(canonical)
    return tuple(found)


def folders_iter(node: ast.expr, scope: Scope, depth: int) -> Iterator[str]:
    scope.steps[0] -= 1
    if depth > MAX_DEPTH or scope.steps[0] < 0:
        return
    if isinstance(node, DirectoriesOf):
        yield from _filtered(node.value, scope, depth)
        return
    if isinstance(node, ast.Call):
        callee = call_name(node)
        if (callee in LIST_CALLS or callee in FOLDER_PATH_CALLS) and node.args:
            folder = string_value(node.args[0], scope)
            if folder:
                # get_filename_list lists files; get_folder_paths gives the roots, whose
                # entries are what the listing around it keeps.
                scope.trace.note(folder, "files" if callee in LIST_CALLS else "roots")
                yield folder
            return
        if callee == "filter" and len(node.args) == 2 and _tests_directory(node.args[0], scope):
            yield from _filtered(node.args[1], scope, depth)  # filter(os.path.isdir, ...)
            return
        if callee in DIRECTORY_CALLS:
            listed = list(directory_folders(node, scope, depth + 1))
            if listed:
                yield from listed
                return
        if callee in PARENT_CALLS:
            return  # the folder holding a listed root is not that root's folder type
        if callee == "join" and len(node.args) >= 2 and not node.keywords:
            # os.path.join(root, file): the entry is what its last part names; the parts
            # before it are the folders holding it, whatever listing they come from.
            scope.trace.leading += 1
            try:
                for argument in node.args[:-1]:
                    yield from folders_iter(argument, scope, depth + 1)
            finally:
                scope.trace.leading -= 1
            yield from folders_iter(node.args[-1], scope, depth + 1)
            return
        function = None
        if isinstance(node.func, ast.Name):
            function = scope.functions.get(node.func.id)
            passed = scope.local_bindings.get(node.func.id)
            if passed and isinstance(passed[0], ast.Name) and passed[0].id in scope.functions:
                # A helper handed in as an argument: get_model_names(get_restorers).
                function = scope.functions[passed[0].id]
        elif (
            isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in SELF_NAMES
        ):
            function = scope.methods.get(node.func.attr)
        if function is not None:
            # A helper of the module or a method of the class: what it returns, its
            # parameters bound to what this call passes (get_files("inpaint")).
            yield from function_folders(function, scope.inside(function, node), depth + 1)
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
    elif isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
        keeps_folders = any(
            _tests_directory(test, scope) for generator in node.generators for test in generator.ifs
        )
        for generator in node.generators:
            if keeps_folders:
                yield from _filtered(generator.iter, scope, depth)
            else:
                yield from folders_iter(generator.iter, scope, depth + 1)
    elif isinstance(node, ast.IfExp):
        yield from folders_iter(node.body, scope, depth + 1)
        yield from folders_iter(node.orelse, scope, depth + 1)
    elif isinstance(node, ast.Subscript):
        if last_name(node.value) == "folder_names_and_paths":
            folder = string_value(node.slice, scope)
            if folder:
                scope.trace.note(folder, "roots")
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
    elif isinstance(node, ast.Attribute) and node.attr in ENTRY_NAMES:
        # entry.name of a scandir / iterdir entry: the entry's listing.
        yield from folders_iter(node.value, scope, depth + 1)


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


def function_folders(function: Function, inner: Scope, depth: int) -> Iterator[str]:
    """Folders a helper lists: those of what it returns, read in ``inner`` (its body's
    scope); when that names none, those of the listing calls in its body."""
    body = syntax_nodes(function)
    found = False
    for returned in body:
        if isinstance(returned, ast.Return) and returned.value is not None:
            for folder in folders_iter(returned.value, inner, depth + 1):
                found = True
                yield folder
    if not found:
        # What it returns is built step by step (a dict filled in a loop over
        # get_folder_paths(name)): the folders its own listing calls name.
        for call in body:
            if (
                isinstance(call, ast.Call)
                and call_name(call) in (LIST_CALLS | FOLDER_PATH_CALLS | DIRECTORY_CALLS)
                and not climbs_above(call, body)
            ):
                yield from folders_iter(call, inner, depth + 1)
