"""Node type names a pack builds with a helper: ``NAME = get_name("Lora Loader Stack")``.

Packs key ``NODE_CLASS_MAPPINGS`` by a class attribute (``{Cls.NAME: Cls}``), and some
write that attribute through a small helper of the pack (rgthree's ``get_name`` returns
``'{} ({})'.format(name, NAMESPACE)``), often in another file than the mapping. This
module reads such helpers and attributes, never running them: a helper counts when its
body returns one text expression (a literal, an f-string, ``+`` of texts, or
``"literal".format(...)`` with plain ``{}`` / ``{0}`` / ``{name}`` fields) of its
parameters and of names its module binds to literals.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass

from watchman.comfy.loader_scope import MAX_DEPTH
from watchman.comfy.syntax_literals import constant_text

MAX_NAME = 200
"""Characters a built name may have; a longer one is not a node type."""

_FIELD = re.compile(r"\{(\d*|[A-Za-z_]\w*)\}")

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class TextHelper:
    """A pack function returning text: its parameters, the returned expression and the
    literals its module binds to the other names that expression reads."""

    parameters: tuple[str, ...]
    returned: ast.expr
    constants: Mapping[str, str]

    def same_as(self, other: TextHelper) -> bool:
        """Whether ``other`` (the same name defined in another file) reads the same."""
        return (
            self.parameters == other.parameters
            and ast.dump(self.returned) == ast.dump(other.returned)
            and dict(self.constants) == dict(other.constants)
        )


@dataclass(frozen=True)
class TextCall:
    """An attribute written as a call of a helper with literal arguments."""

    helper: str
    arguments: tuple[str, ...]


def text_helper(
    function: Function, module_bindings: Mapping[str, list[ast.expr]]
) -> TextHelper | None:
    """Return ``function`` as a :class:`TextHelper`, or None when its body is more than
    one ``return`` of a text expression (a docstring aside)."""
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and constant_text(body[0].value) is not None:
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        return None
    returned = body[0].value
    if not isinstance(returned, (ast.JoinedStr, ast.BinOp, ast.Call, ast.Constant)):
        return None
    arguments = function.args
    parameters = tuple(p.arg for p in [*arguments.posonlyargs, *arguments.args])
    constants: dict[str, str] = {}
    for node in ast.walk(returned):
        if isinstance(node, ast.Name) and node.id not in parameters:
            bound = module_bindings.get(node.id)
            text = constant_text(bound[-1]) if bound else None
            if text is not None:
                constants[node.id] = text
    return TextHelper(parameters, returned, constants)


def attribute_text(
    value: ast.expr, module_bindings: Mapping[str, list[ast.expr]], depth: int = 0
) -> str | TextCall | None:
    """What a class attribute's value says of its text: the text itself (a literal, or
    an f-string / sum of this module's literals), a :class:`TextCall` of a helper to
    evaluate once every file is read, or None. A module name (``NAME = NODE_NAME``) is
    followed to what it is bound to."""
    if isinstance(value, ast.Name) and depth < MAX_DEPTH:
        bound = module_bindings.get(value.id)
        if bound and bound[-1] is not value:
            return attribute_text(bound[-1], module_bindings, depth + 1)
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and not value.keywords
        and len(value.args) <= 8
    ):
        texts = [_module_text(argument, module_bindings) for argument in value.args]
        if all(text is not None for text in texts):
            return TextCall(value.func.id, tuple(text for text in texts if text is not None))
        return None
    return _module_text(value, module_bindings)


def _module_text(value: ast.expr, module_bindings: Mapping[str, list[ast.expr]]) -> str | None:
    names = {
        node.id: text
        for node in ast.walk(value)
        if isinstance(node, ast.Name)
        for bound in [module_bindings.get(node.id)]
        if bound
        for text in [constant_text(bound[-1])]
        if text is not None
    }
    return evaluate_text(value, names)


def call_text(call: TextCall, helpers: Mapping[str, TextHelper | None]) -> str | None:
    """The text a helper call gives, or None when the helper is unknown or ambiguous."""
    helper = helpers.get(call.helper)
    if helper is None or len(call.arguments) > len(helper.parameters):
        return None
    env = {**helper.constants, **dict(zip(helper.parameters, call.arguments, strict=False))}
    return evaluate_text(helper.returned, env)


def evaluate_text(node: ast.expr, env: Mapping[str, str], depth: int = 0) -> str | None:
    """The text ``node`` is when its names mean ``env``; None when anything is unknown
    or the text would pass :data:`MAX_NAME` characters."""
    if depth > MAX_DEPTH:
        return None
    text: str | None = None
    if isinstance(node, ast.Constant):
        text = node.value if isinstance(node.value, str) else None
    elif isinstance(node, ast.Name):
        text = env.get(node.id)
    elif isinstance(node, ast.JoinedStr):
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                if value.format_spec is not None or value.conversion not in (-1, 115):
                    return None
                part = evaluate_text(value.value, env, depth + 1)
            else:
                part = evaluate_text(value, env, depth + 1)
            if part is None:
                return None
            parts.append(part)
        text = "".join(parts)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = evaluate_text(node.left, env, depth + 1)
        right = evaluate_text(node.right, env, depth + 1)
        text = left + right if left is not None and right is not None else None
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        text = _format(node, env, depth)
    return text if text is not None and len(text) <= MAX_NAME else None


def _format(call: ast.Call, env: Mapping[str, str], depth: int) -> str | None:
    # "{} ({})".format(name, NAMESPACE), substituted here: str.format itself would obey
    # a stranger's format specs ({:>999999999}).
    template = constant_text(call.func.value) if isinstance(call.func, ast.Attribute) else None
    if template is None:
        return None
    positional = [evaluate_text(argument, env, depth + 1) for argument in call.args]
    named = {k.arg: evaluate_text(k.value, env, depth + 1) for k in call.keywords if k.arg}
    return substitute_fields(template, positional, named)


def substitute_fields(
    template: str, positional: list[str | None], named: Mapping[str, str | None]
) -> str | None:
    """``template.format(*positional, **named)`` when every field is a plain ``{}``,
    ``{0}`` or ``{name}`` and every value it reads is known; else None. Substituted here:
    ``str.format`` itself would obey a stranger's specs (``{:>999999999}``) and attribute
    fields (``{0.__class__}``)."""
    pieces: list[str] = []
    at = 0
    automatic = 0
    for field in _FIELD.finditer(template):
        pieces.append(template[at : field.start()])
        key = field.group(1)
        if key == "":
            value = positional[automatic] if automatic < len(positional) else None
            automatic += 1
        elif key.isdigit():
            index = int(key)
            value = positional[index] if index < len(positional) else None
        else:
            value = named.get(key)
        if value is None:
            return None
        pieces.append(value)
        at = field.end()
    rest = template[at:]
    if "{" in rest or "}" in rest or any("{" in p or "}" in p for p in pieces[::2]):
        return None  # a field of another form, or escaped braces: not read
    pieces.append(rest)
    return "".join(pieces)
