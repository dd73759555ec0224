"""Which inputs of a node ComfyUI requires a link for, and whether it is an output node,
read from its source, never run: the offline twin of :mod:`watchman.comfy.node_sockets`.

Only what the source writes in place is read, and anything else is left unknown, so an
input is never called required on a guess:

- a classic node's required sockets, when its own ``INPUT_TYPES`` returns one dict
  written in place (:func:`~watchman.comfy.static_layout.written_sections`). An entry
  counts when its type is written as text, as ``IO.<TYPE>`` or as an alias of a core type,
  and is not a widget type; or when ``forceInput`` is set to a written True. An entry of a
  type held in a variable (``(any_type,)``) is left out, as are lists of choices.
- a v3 node's required sockets, when its schema's ``inputs=[...]`` is a written list. An
  item counts when it is ``io.<Type>.Input("name")`` of a link-only type, or
  ``io.Custom("T").Input("name")``, or any type with ``force_input=True``, and is not
  ``optional``. Dynamic inputs (``Autogrow``, ``DynamicCombo``, ``MatchType``) are left
  out.
- whether it is an output node: a written ``OUTPUT_NODE = True`` (``False``), the class's
  own or a base's of the same pack (or ComfyUI's own ``SaveImage``, ``PreviewImage``,
  ``SaveLatent``: :data:`watchman.comfy.pack_sockets.CORE_OUTPUT_CLASSES`), or a v3
  schema's ``is_output_node=True``.

Which class ComfyUI runs for a node type (two packs defining it, a patch, a subclass
sharing a v3 id) is the pack reader's and the node inventory's to rule on: they drop
the rules they cannot be sure of.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import sys
from collections.abc import Mapping

from watchman.comfy.frontend_words import pack_data_type
from watchman.comfy.link_types import LinkTypes, link_types_from_json, link_types_json
from watchman.comfy.node_sockets import WIDGET_TYPES, SocketRules
from watchman.comfy.static_layout import (
    CORE_SOCKET_TYPES,
    V3_CORE_SOCKET_TYPES,
    V3_SOCKET_TYPES,
    written_options,
    written_sections,
    written_true,
)
from watchman.comfy.syntax_literals import attribute_parts, constant_text

V3_WIDGET_TYPES = frozenset({"Int", "Float", "String", "Boolean", "Combo", "MultiCombo"})
"""v3 input types the frontend makes a widget for; a socket only with ``force_input``."""

LISTED_TYPES = CORE_SOCKET_TYPES - {"WEBCAM", "ANY"}
"""ComfyUI's data types no frontend makes a widget for (its webcam capture is a widget,
and ``*`` takes anything): a saved node lists every input of these in its ``inputs``."""

Typed = frozenset[tuple[str, str]]
"""Required sockets of a pack's own data type, as (input, type)."""

PLAIN_OPTIONS = frozenset({"tooltip", "lazy", "rawLink", "forceInput", "defaultInput", "advanced"})
"""Options of an input entry that leave it a socket; any other (the frontend's
``widgetType``, ``hidden``, one it may add) keeps a pack type's input from being judged."""

PLAIN_V3_KEYWORDS = frozenset(
    {"id", "display_name", "optional", "tooltip", "lazy", "raw_link", "advanced"}
)
"""The v3 ``Input(...)`` keywords that leave it a socket (``extra_dict`` may carry any
option)."""

WrittenSockets = tuple[frozenset[str], frozenset[str], Typed]
"""A class's required sockets, those of them of a :data:`LISTED_TYPES` type, and those of
a pack's own data type with their type (listed unless a script may make it a widget:
:mod:`watchman.comfy.frontend_words`)."""

MAX_SHARED_RULES = 4_096
"""Distinct rules held for sharing; past this, new ones are built each time."""

StaticSockets = tuple[tuple[str, SocketRules], ...]
"""Socket rules by node type, sorted by node type: a pack's, frozen and comparable."""


def written_sockets(function: ast.FunctionDef | ast.AsyncFunctionDef) -> WrittenSockets | None:
    """Return the required sockets an ``INPUT_TYPES`` writes and those of them of a
    listed type, or None when it does not return one dict written in place (the sockets
    are then unknown). Never raises."""
    if written_sections(function) is None:
        return None
    returned = next(node for node in ast.walk(function) if isinstance(node, ast.Return))
    assert isinstance(returned.value, ast.Dict)  # written_sections checked it
    required: set[str] = set()
    listed: set[str] = set()
    typed: set[tuple[str, str]] = set()
    for key, value in zip(returned.value.keys, returned.value.values, strict=True):
        if constant_text(key) != "required" or not isinstance(value, ast.Dict):
            continue
        for name_node, spec in zip(value.keys, value.values, strict=True):
            name = constant_text(name_node)
            if name is None or not is_written_socket(spec):
                continue
            required.add(sys.intern(name))
            kind = written_type(spec)
            if kind in LISTED_TYPES:
                listed.add(sys.intern(name))
            elif (
                kind is not None
                and kind not in CORE_SOCKET_TYPES
                and pack_data_type(kind)
                and _plain_entry(spec)
            ):
                typed.add((sys.intern(name), sys.intern(kind)))
    return frozenset(required), frozenset(listed), frozenset(typed)


def _plain_entry(spec: ast.expr) -> bool:
    """Whether a classic input entry is ``(TYPE,)`` or ``(TYPE, {options})`` whose
    options are all written and :data:`PLAIN_OPTIONS`."""
    if not isinstance(spec, ast.Tuple) or len(spec.elts) > 2:
        return False
    if len(spec.elts) == 1:
        return True
    options = spec.elts[1]
    return isinstance(options, ast.Dict) and all(
        key is not None and constant_text(key) in PLAIN_OPTIONS for key in options.keys
    )


def written_type(spec: ast.expr) -> str | None:
    """Return the type a classic input entry writes (``"MODEL"``, ``IO.MODEL``,
    ``Types.MODEL`` all give ``MODEL``), or None when it writes none as text."""
    if not isinstance(spec, ast.Tuple) or not spec.elts:
        return None
    first = spec.elts[0]
    text = constant_text(first)
    if text is not None:
        return text
    parts = attribute_parts(first)
    return parts[-1] if parts is not None and len(parts) == 2 else None


def is_written_socket(spec: ast.expr) -> bool:
    """Return whether a classic input entry is surely a socket: ``("MODEL",)``,
    ``(IO.IMAGE,)``, ``(Types.LATENT,)`` or any entry with ``forceInput`` written True.
    A widget type, a list, or a type the source holds elsewhere is not."""
    if not isinstance(spec, ast.Tuple) or not spec.elts:
        return False
    if len(spec.elts) > 1 and written_true(written_options(spec.elts[1]).get("forceInput")):
        return True
    first = spec.elts[0]
    text = constant_text(first)
    if text is not None:
        return bool(text) and text not in WIDGET_TYPES
    parts = attribute_parts(first)
    if parts is None or len(parts) < 2:
        return False
    if any(part in ("IO", "io") for part in parts[:-1]):
        return parts[-1] not in WIDGET_TYPES and parts[-1].isupper()
    return len(parts) == 2 and parts[1] in CORE_SOCKET_TYPES and parts[1] not in WIDGET_TYPES


def v3_sockets(inputs: ast.expr | None) -> WrittenSockets | None:
    """Return the required sockets of a v3 schema's ``inputs=[...]`` and those of them
    of a listed type (every core type a v3 input is written as), or None when it is not
    a list written in place. An item this reading cannot tell is left out. Never
    raises."""
    if not isinstance(inputs, ast.List):
        return None
    required: set[str] = set()
    listed: set[str] = set()
    typed: set[tuple[str, str]] = set()
    for item in inputs.elts:
        read = _v3_required_socket(item)
        if read is not None:
            name, of_core_type, custom = read
            required.add(sys.intern(name))
            if of_core_type:
                listed.add(sys.intern(name))
            elif custom is not None and custom not in CORE_SOCKET_TYPES and pack_data_type(custom):
                typed.add((sys.intern(name), sys.intern(custom)))
    return frozenset(required), frozenset(listed), frozenset(typed)


def _v3_required_socket(item: ast.expr) -> tuple[str, bool, str | None] | None:
    """(input, of a core type, the type an ``io.Custom("T")`` names) of a required v3
    socket, or None."""
    if not (
        isinstance(item, ast.Call)
        and isinstance(item.func, ast.Attribute)
        and item.func.attr == "Input"
        and len(item.args) <= 1
    ):
        return None  # (id, display_name, optional, ...) by place: not read
    keywords = {keyword.arg: keyword.value for keyword in item.keywords}
    if None in keywords:
        return None  # **options: what it sets is not read
    optional = keywords.get("optional")
    if optional is not None and not _is_false(optional):
        return None  # optional, or computed
    owner = item.func.value
    of_core_type = False
    custom = None
    if isinstance(owner, ast.Attribute):
        type_name = owner.attr
        if type_name in V3_WIDGET_TYPES:
            if not written_true(keywords.get("force_input")):
                return None
        elif type_name in V3_SOCKET_TYPES:
            of_core_type = type_name in V3_CORE_SOCKET_TYPES
        else:
            return None  # Autogrow, DynamicCombo, MatchType, AnyType: not read
    elif (
        isinstance(owner, ast.Call)
        and isinstance(owner.func, ast.Attribute)
        and owner.func.attr == "Custom"
        and len(owner.args) == 1
        and constant_text(owner.args[0])
    ):
        custom = constant_text(owner.args[0])
    else:
        return None
    if custom is not None and not keywords.keys() <= PLAIN_V3_KEYWORDS:
        custom = None  # an option the frontend may make a widget of: not judged as typed
    name = constant_text(item.args[0] if item.args else keywords.get("id"))
    return (name, of_core_type, custom) if name is not None else None


def written_output(value: ast.expr | None) -> bool | None:
    """Return what a written ``OUTPUT_NODE`` / ``is_output_node`` value says (a written
    True or False), or None when it is absent or computed."""
    if isinstance(value, ast.Constant) and value.value in (True, False, 0, 1):
        return bool(value.value)
    return None


def rules_of(
    sockets: WrittenSockets | None, output: bool | None, types: LinkTypes | None = None
) -> SocketRules | None:
    """Return the :class:`SocketRules` of what a class's source says (``output``: True,
    False, or None when unsure; ``types``: what its links carry, None when not known),
    or None when it says nothing worth keeping (no required socket it is sure of,
    whether it is an output is not known, and no link type)."""
    required, listed, typed = (
        sockets if sockets is not None else (frozenset(), frozenset(), frozenset())
    )
    if not required and output is None and types is None:
        return None
    return shared_rules(
        tuple(sorted(required)),
        output is True,
        tuple(sorted(listed)),
        output is not None,
        tuple(sorted(typed)),
        types,
    )


@functools.lru_cache(maxsize=MAX_SHARED_RULES)
def shared_rules(
    required: tuple[str, ...],
    output: bool,
    listed: tuple[str, ...],
    output_known: bool = True,
    typed: tuple[tuple[str, str], ...] = (),
    types: LinkTypes | None = None,
) -> SocketRules:
    """Return the one :class:`SocketRules` of these names and flags: thousands of node
    types share a few rules (``image`` required, no output), held once."""
    return SocketRules(
        frozenset(sys.intern(name) for name in required),
        output,
        frozenset(sys.intern(name) for name in listed),
        output_known,
        tuple((sys.intern(name), sys.intern(kind)) for name, kind in typed),
        types,
    )


def sockets_json(sockets: StaticSockets) -> dict[str, list[object]]:
    """Return the JSON form of ``sockets``: node type -> [sorted required, output (null
    when not known), sorted listed, sorted [input, type] of a pack's own type, link types
    (:func:`link_types_json`; null when not known)]."""
    return {
        node_type: [
            sorted(rules.required),
            rules.output if rules.output_known else None,
            sorted(rules.listed),
            [list(pair) for pair in rules.typed],
            link_types_json(rules.types),
        ]
        for node_type, rules in sockets
    }


def sockets_from_json(data: object) -> StaticSockets:
    """Rebuild :func:`sockets_json` output. Raises ValueError when malformed."""
    if not isinstance(data, Mapping):
        raise ValueError("socket rules are not a mapping")
    found: list[tuple[str, SocketRules]] = []
    for node_type, value in data.items():
        if not (
            isinstance(node_type, str)
            and isinstance(value, list)
            and len(value) == 5
            and all(_texts(value[index]) for index in (0, 2))
            and (value[1] is None or isinstance(value[1], bool))
            and isinstance(value[3], list)
            and all(_texts(pair) and len(pair) == 2 for pair in value[3])
        ):
            raise ValueError(f"socket rules of {node_type!r} are malformed")
        rules = shared_rules(
            tuple(sorted(value[0])),
            value[1] is True,
            tuple(sorted(value[2])),
            value[1] is not None,
            tuple(sorted((name, kind) for name, kind in value[3])),
            link_types_from_json(value[4]),
        )
        found.append((sys.intern(node_type), rules))
    return tuple(sorted(found, key=lambda pair: pair[0]))


def sockets_digest(sockets: Mapping[str, SocketRules]) -> str:
    """Return a short digest of socket rules by node type (part of the needs cache's
    context: a pack's new required input judges every workflow again)."""
    text = repr(
        sorted(
            (k, sorted(v.required), v.output, sorted(v.listed), v.output_known, v.typed, v.types)
            for k, v in sockets.items()
        )
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _texts(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


def _is_false(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in (False, None, 0)
