"""Reading the expressions of a node's inputs: which folders a list draws on, and whether
it lists files or folders.

Helpers of :mod:`watchman.comfy.loader_source`, kept apart so each module stays one
concept: this one evaluates what an input's expression lists, over the scopes of
:mod:`watchman.comfy.loader_scope` (names followed through module, class and function
bindings, to a bounded depth) and the directory listings of
:mod:`watchman.comfy.loader_directories`; whether an input is a widget or a socket is
:mod:`watchman.comfy.loader_input_kinds`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from watchman.comfy.folders import listed_folder
from watchman.comfy.loader_bindings import SELF_NAMES, Function
from watchman.comfy.loader_directories import DIRECTORY_CALLS, directory_folders
from watchman.comfy.loader_scope import MAX_DEPTH, MAX_STEPS, Scope, string_value
from watchman.comfy.loader_trace import (
    DIRECTORY_TESTS,
    PARENT_CALLS,
    DirectoriesOf,
    climbs_above,
)
from watchman.comfy.python_source import syntax_nodes
from watchman.comfy.syntax_literals import call_name, last_name

LIST_CALLS = frozenset({"get_filename_list", "get_filename_list_"})
FOLDER_PATH_CALLS = frozenset({"get_folder_paths"})
ENTRY_NAMES = frozenset({"name", "stem"})
"""Attributes naming a listed entry (``os.DirEntry.name``, ``Path.name``)."""


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
