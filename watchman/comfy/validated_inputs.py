"""Which inputs of a node name a file in ComfyUI's input folder, read from the node's own
validation, never run.

ComfyUI calls a node's ``VALIDATE_INPUTS`` (v3: ``validate_inputs``) before it runs a
prompt. Nodes that take a file the person uploaded (``LoadImage``, Video Helper Suite's
loaders, and packs' own image and video loaders) resolve the value there with
``folder_paths.exists_annotated_filepath(value)`` or
``folder_paths.get_annotated_filepath(value)`` and refuse the prompt when the file is not
in the input folder. An input handed to either call, directly, through a wrapper call
(``strip_path(video)``) or through a local name bound to one, is such an input
(:mod:`watchman.comfy.input_files`).
"""

from __future__ import annotations

import ast

VALIDATION_METHODS = ("VALIDATE_INPUTS", "validate_inputs")
"""The method ComfyUI calls to validate a classic node's inputs, and a v3 node's."""

_ANNOTATED_CALLS = frozenset({"exists_annotated_filepath", "get_annotated_filepath"})
MAX_WRAPPING = 4
"""Calls around the input's name followed at most (``strip_path(str(video))``)."""


def validated_input_files(method: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """Return the parameters a validation method always resolves in ComfyUI's input
    folder, in the order of its parameters. Takes the method's syntax tree; never raises.

    Only a resolution every call makes counts: one in a statement of the method's own
    body (an ``if`` testing the call alone, or its negation; an assignment, expression
    or ``return`` without ``and``/``or``/``x if c else y``), before any statement that may
    return first. A validation that lets some values through (Impact's ``"#DATA"``, a
    node switched off by another input) cannot be read without running it, and a file
    it might not ask for is never reported missing.
    """
    parameters = [argument.arg for argument in [*method.args.args, *method.args.kwonlyargs]]
    parameters = parameters[1:] if method.args.args else parameters  # s / cls
    wanted = set(parameters)
    if not wanted:
        return ()
    local: dict[str, str] = {}  # a local name bound to an expression over one parameter
    found: set[str] = set()
    for statement in method.body:
        if isinstance(statement, ast.If):
            test = statement.test
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                test = test.operand
            name = _resolved(test, wanted, local)
            if name is not None:
                found.add(name)
            elif any(isinstance(node, ast.Return) for node in ast.walk(statement)):
                break  # some values may return before what follows
            continue
        if not isinstance(statement, (ast.Assign, ast.Expr, ast.Return)):
            if any(isinstance(node, ast.Return) for node in ast.walk(statement)):
                break
            continue
        nodes = list(ast.walk(statement))
        if any(isinstance(node, (ast.BoolOp, ast.IfExp)) for node in nodes):
            if isinstance(statement, ast.Return):
                break
            continue
        for node in nodes:
            name = _resolved(node, wanted, local)
            if name is not None:
                found.add(name)
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            name = _parameter_in(statement.value, wanted, local)
            if isinstance(target, ast.Name) and name is not None and target.id not in wanted:
                local[target.id] = name
        if isinstance(statement, ast.Return):
            break
    return tuple(name for name in parameters if name in found)


def _resolved(node: ast.AST, wanted: set[str], local: dict[str, str]) -> str | None:
    """The parameter ``node`` resolves in the input folder, when it is such a call."""
    if isinstance(node, ast.Call) and _called_name(node.func) in _ANNOTATED_CALLS and node.args:
        return _parameter_in(node.args[0], wanted, local)
    return None


def _called_name(function: ast.expr) -> str | None:
    if isinstance(function, ast.Attribute):
        return function.attr
    if isinstance(function, ast.Name):
        return function.id
    return None


def _parameter_in(expression: ast.expr, wanted: set[str], local: dict[str, str]) -> str | None:
    """The parameter ``expression`` is, or wraps in at most ``MAX_WRAPPING`` calls' first
    argument, or a local name stands for; None when it is none of these."""
    for _ in range(MAX_WRAPPING + 1):
        if isinstance(expression, ast.Name):
            if expression.id in wanted:
                return expression.id
            return local.get(expression.id)
        if isinstance(expression, ast.Call) and expression.args:
            expression = expression.args[0]
            continue
        return None
    return None
