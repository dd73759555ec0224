"""Which inputs of a node ComfyUI requires a link for, whether it is an output node, and
what its links carry, from a live server's ``/object_info`` definition.

ComfyUI runs a prompt from its output nodes (``"output_node": true``) back through the
nodes they need, and refuses an output whose nodes lack a required input (``Required input
is missing``). A widget's value (a number, a text, a list choice) is always sent by the
frontend; a socket's (a ``MODEL``, an ``IMAGE``, a pack's own type, or a widget type
marked ``forceInput``) only when a link brings it. So the inputs that can be missing are
the required sockets, and what is read here is those and the output flag.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from watchman.comfy.link_types import LinkTypes, link_types_of

WIDGET_TYPES = frozenset(
    {
        *("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"),
        # ComfyUI's own frontend widgets of other types: a webcam capture, an audio
        # recorder, the 3D viewer, the upload buttons of older definitions.
        *("WEBCAM", "AUDIO_RECORD", "LOAD_3D", "LOAD_3D_ANIMATION"),
        *("IMAGEUPLOAD", "AUDIOUPLOAD", "VIDEOUPLOAD"),
    }
)
"""Input types the frontend makes a widget for (a list of choices is one too)."""

DYNAMIC_TYPE_PREFIX, DYNAMIC_TYPE_SUFFIX = "COMFY_", "_V3"
"""A v3 node's dynamic input kinds (``COMFY_AUTOGROW_V3``, ``COMFY_DYNAMICCOMBO_V3``...):
the prompt gives them under other names (``images.image_0``), and ComfyUI checks the
inputs they expand to, which the definition does not list: not judged."""


@dataclass(frozen=True, slots=True)
class SocketRules:
    """Of one node type: its required inputs that only a link can give, whether it is an
    output node (ComfyUI runs the prompt from those), and, where its source was read
    (:mod:`watchman.comfy.static_sockets`), which of the required inputs are of a data
    type every frontend lists in a saved node's ``inputs`` (``MODEL``, ``IMAGE``...): a
    saved node lacking one was made from another definition, and ComfyUI gets no value
    for it. ``output_known`` is False where the source leaves the flag unsure (a base
    read elsewhere may set it): ``output`` is then False only for want of evidence.
    ``typed``: the required inputs of a pack's own data type, as sorted (input, type)
    pairs: listed too unless a script may make the type a widget
    (:mod:`watchman.comfy.frontend_words`). ``types`` are what its links carry
    (:mod:`watchman.comfy.link_types`; None: not known)."""

    required: frozenset[str]
    output: bool
    listed: frozenset[str] = frozenset()
    output_known: bool = True
    typed: tuple[tuple[str, str], ...] = ()
    types: LinkTypes | None = None


def socket_rules(node_info: object) -> SocketRules | None:
    """Return the :class:`SocketRules` of one ``/object_info`` node definition; None when
    the definition has no input section (malformed: nothing is judged). Never raises."""
    if not isinstance(node_info, Mapping):
        return None
    inputs = node_info.get("input")
    if not isinstance(inputs, Mapping):
        return None
    required = inputs.get("required")
    names = (
        frozenset(
            sys.intern(name)
            for name, spec in required.items()
            if isinstance(name, str) and is_socket(spec)
        )
        if isinstance(required, Mapping)
        else frozenset()
    )
    return SocketRules(names, node_info.get("output_node") is True, types=link_types_of(node_info))


def is_socket(spec: object) -> bool:
    """Return whether an input spec (``[type, {options}]``) can only be given by a link:
    not a list of choices, not a dynamic v3 kind, and of a widget type only when marked
    ``forceInput``. A spec that is not a list at all is not judged a socket."""
    if not isinstance(spec, (list, tuple)) or not spec:
        return False
    head = spec[0]
    if isinstance(head, (list, tuple)):
        return False
    if not isinstance(head, str) or not head:
        return False
    if head.startswith(DYNAMIC_TYPE_PREFIX) and head.endswith(DYNAMIC_TYPE_SUFFIX):
        return False
    if head in WIDGET_TYPES:
        options = spec[1] if len(spec) > 1 and isinstance(spec[1], Mapping) else {}
        return options.get("forceInput") is True
    return True
