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

from watchman.comfy.syntax_literals import last_name

MAX_WRAPPING = 4
"""Calls around the input's name followed at most (``strip_path(str(video))``)."""


ANY_INPUT = "**"
"""In :func:`validation_parameters`: the method takes ``**kwargs``, so every input."""


def validation_parameters(method: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """Return the inputs a validation method takes (its parameters after ``s`` / ``cls``,
    and :data:`ANY_INPUT` when it takes ``**kwargs``): ComfyUI leaves the list and range
    checks of exactly those inputs to it. Never raises."""
    names = [argument.arg for argument in [*method.args.args, *method.args.kwonlyargs]]
    names = names[1:] if method.args.args else names
    return (*names, ANY_INPUT) if method.args.kwarg is not None else tuple(names)


def validation_method(
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """Return the method ComfyUI calls to validate a node of a class with ``methods``:
    ``VALIDATE_INPUTS`` for a classic node, ``validate_inputs`` for a v3 one (a schema and
    no ``INPUT_TYPES``); a classic node's own ``validate_inputs`` is a helper of its own."""
    if "define_schema" in methods and "INPUT_TYPES" not in methods:
        return methods.get("validate_inputs")
    return methods.get("VALIDATE_INPUTS")


def validated_input_files(method: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """Return the parameters a validation method refuses when ComfyUI's input folder lacks
    them, in the order of its parameters. Takes the method's syntax tree; never raises.

    Two forms count, in statements of the method's own body before any that may return
    first: ``if not exists_annotated_filepath(x): return <a refusal>`` (anything but
    ``True``), and ``path = get_annotated_filepath(x)`` whose ``path`` a later ``return``
    hands to a call (Video Helper Suite's ``return validate_path(path)``) or a later
    ``if not <call>(path): return <a refusal>`` tests. A resolution that refuses nothing
    (``if exists(x): return True`` then a URL fallback; a path resolved and ``True``
    returned), or one some values skip (Impact's ``"#DATA"``, a node switched off by
    another input, a test joined with ``and``/``or``), cannot be read without running
    the code, and a file the node might not ask for is never reported missing.
    """
    parameters = [argument.arg for argument in [*method.args.args, *method.args.kwonlyargs]]
    parameters = parameters[1:] if method.args.args else parameters  # s / cls
    wanted = set(parameters)
    if not wanted:
        return ()
    resolved: dict[str, str] = {}  # a local name bound to get_annotated_filepath(param)
    local: dict[str, str] = {}  # a local name bound to an expression over one parameter
    found: set[str] = set()
    for statement in method.body:
        if isinstance(statement, ast.If):
            name = _refused_unless(statement, wanted, local, resolved)
            if name is not None:
                found.add(name)
            elif any(isinstance(node, ast.Return) for node in ast.walk(statement)):
                break  # some values may return before what follows
            continue
        if isinstance(statement, ast.Return):
            value = statement.value
            if isinstance(value, ast.Call) and not _has_condition(value):
                for argument in value.args:
                    if isinstance(argument, ast.Name) and argument.id in resolved:
                        found.add(resolved[argument.id])
            break
        if not isinstance(statement, (ast.Assign, ast.Expr)):
            if any(isinstance(node, ast.Return) for node in ast.walk(statement)):
                break
            continue
        if _has_condition(statement):
            continue
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if not isinstance(target, ast.Name):
                continue
            call = statement.value
            if (
                isinstance(call, ast.Call)
                and last_name(call.func) == "get_annotated_filepath"
                and call.args
            ):
                name = _parameter_in(call.args[0], wanted, local)
                if name is not None:
                    resolved[target.id] = name
                    continue
            name = _parameter_in(statement.value, wanted, local)
            if name is not None and target.id not in wanted:
                local[target.id] = name
    return tuple(name for name in parameters if name in found)


def _refused_unless(
    statement: ast.If, wanted: set[str], local: dict[str, str], resolved: dict[str, str]
) -> str | None:
    """The parameter ``if not <check>(...): return <refusal>`` refuses, else None."""
    test = statement.test
    if not (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)):
        return None
    if not (
        statement.body
        and isinstance(statement.body[0], ast.Return)
        and not _is_true(statement.body[0].value)
    ):
        return None
    check = test.operand
    if not isinstance(check, ast.Call) or not check.args:
        return None
    if last_name(check.func) == "exists_annotated_filepath":
        return _parameter_in(check.args[0], wanted, local)
    first = check.args[0]
    if isinstance(first, ast.Name) and first.id in resolved:
        return resolved[first.id]  # if not os.path.exists(path): return "..."
    return None


def _is_true(value: ast.expr | None) -> bool:
    return isinstance(value, ast.Constant) and value.value is True


def _has_condition(node: ast.AST) -> bool:
    return any(isinstance(inner, (ast.BoolOp, ast.IfExp)) for inner in ast.walk(node))


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
