"""The types a node's links carry: what each output slot of a node type returns, what
each of its inputs declares, and whether ComfyUI compares the two.

ComfyUI checks every linked input of a node an output needs (``validate_inputs`` in
``execution.py``): it takes the source's ``RETURN_TYPES[slot]`` and refuses the node
with ``return_type_mismatch`` ("Return type mismatch between linked nodes") when
``validate_node_input`` finds it does not fit the input's declared type; a slot past the
source's outputs raises instead (``exception_during_validation``), refused as well. The
comparison (``comfy_execution/validation.py``) passes equal types, a ``*`` on either
side, v3's ``COMFY_MATCHTYPE_V3`` on either side, and comma-separated unions with a type
in common (``IMAGE`` fits ``IMAGE,MASK``); a list of choices declared as a classic
input's type (``[["a", "b"], {...}]``) is fitted by no text but those. Only the
required and optional inputs a definition declares are checked, and none of a node whose
validation method takes ``input_types`` (ComfyUI hands it the types to judge itself).

Older ComfyUIs compared with ``!=`` alone (no unions, no ``*`` passing): a link this
module finds fitting may have been refused there, never the other way round, so what is
called a mismatch is one on every version.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

ANY_TYPE = "*"
MATCH_TYPE = "COMFY_MATCHTYPE_V3"
COMBO = "COMBO"
"""The type the frontend gives a list input's socket."""

CHOICES = "\0choices"
"""Stands for a declared type that is a list of choices (a classic combo input)."""

MAX_TYPE_TEXT = 256
"""A type longer than this is not kept (no real type is; a stranger's may be)."""

MAX_SLOTS = 256
"""Outputs or inputs past this count leave a definition's types unknown."""


@dataclass(frozen=True, slots=True)
class LinkTypes:
    """Of one node type: the type of each output slot (None: not known), the declared
    type of each input known (input name, type; sorted by name), and whether its
    validation takes ``input_types`` (True: ComfyUI compares none of its links; None:
    not known, so none is judged)."""

    outputs: tuple[str, ...] | None
    inputs: tuple[tuple[str, str], ...]
    checks_itself: bool | None

    def declared(self, name: str) -> str | None:
        """The type input ``name`` declares, or None when not known."""
        for input_name, declared in self.inputs:
            if input_name == name:
                return declared
        return None


def fits(received: str, declared: str) -> bool:
    """Return whether ComfyUI passes a link of type ``received`` into an input declaring
    ``declared`` (:data:`CHOICES` for a list of choices). Never raises."""
    if received == declared or ANY_TYPE in (received, declared):
        return True
    if MATCH_TYPE in (received, declared):
        return True
    if declared == CHOICES:
        return False
    given = {part.strip() for part in received.split(",")}
    wanted = {part.strip() for part in declared.split(",")}
    return ANY_TYPE in given or ANY_TYPE in wanted or not given.isdisjoint(wanted)


def link_types_of(node_info: object) -> LinkTypes | None:
    """Return the :class:`LinkTypes` of one ``/object_info`` definition: its ``output``
    list and the heads of its required and optional inputs; whether its validation
    takes ``input_types`` the server does not say (None). None when the definition
    has neither an output list nor an input section. Never raises."""
    if not isinstance(node_info, Mapping):
        return None
    outputs = _types(node_info.get("output"))
    inputs: dict[str, str] = {}
    sections = node_info.get("input")
    if isinstance(sections, Mapping):
        for section in ("required", "optional"):
            entries = sections.get(section)
            for name, spec in entries.items() if isinstance(entries, Mapping) else ():
                declared = _declared(spec)
                if isinstance(name, str) and declared is not None and len(inputs) < MAX_SLOTS:
                    inputs.setdefault(sys.intern(name), declared)
    elif outputs is None:
        return None
    return LinkTypes(outputs, tuple(sorted(inputs.items())), None)


def _declared(spec: object) -> str | None:
    if not isinstance(spec, (list, tuple)) or not spec:
        return None
    head = spec[0]
    if isinstance(head, list):
        return CHOICES
    return type_text(head)


def _types(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_SLOTS:
        return None
    found = [type_text(item) for item in value]
    if any(item is None for item in found):
        return None  # a list of choices as an output type: the slots after it unsure
    return tuple(item for item in found if item is not None)


def type_text(value: object) -> str | None:
    """Return ``value`` as a type (interned) when it is a text of a sane length."""
    if isinstance(value, str) and 0 < len(value) <= MAX_TYPE_TEXT:
        return sys.intern(value)
    return None


def link_types_json(types: LinkTypes | None) -> list[object] | None:
    """Return ``types`` as a JSON-ready list: [outputs or null, [[name, type]...],
    checks_itself or null] (None stays None)."""
    if types is None:
        return None
    outputs = list(types.outputs) if types.outputs is not None else None
    return [outputs, [list(pair) for pair in types.inputs], types.checks_itself]


def link_types_from_json(data: object) -> LinkTypes | None:
    """Rebuild :func:`link_types_json` output. Raises ValueError when malformed."""
    if data is None:
        return None
    if not (isinstance(data, list) and len(data) == 3):
        raise ValueError("link types are not a list of three")
    outputs, inputs, checks = data
    read_outputs = None
    if outputs is not None:
        read_outputs = _types(outputs)
        if read_outputs is None or len(read_outputs) != len(outputs):
            raise ValueError("link types' outputs are malformed")
    if not isinstance(inputs, list) or not (checks is None or isinstance(checks, bool)):
        raise ValueError("link types' inputs are malformed")
    pairs: list[tuple[str, str]] = []
    for pair in inputs:
        if not (isinstance(pair, list) and len(pair) == 2 and all(map(type_text, pair))):
            raise ValueError("a link type's input is malformed")
        pairs.append((sys.intern(pair[0]), sys.intern(pair[1])))
    return LinkTypes(read_outputs, tuple(sorted(pairs)), checks)
