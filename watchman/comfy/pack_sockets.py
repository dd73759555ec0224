"""A pack's socket rules by node type, from what its classes' source writes
(:mod:`watchman.comfy.static_sockets`), once every file of the pack is read.

A node type keeps rules only when the pack surely runs the class read for it: one class
of that name in the pack, nothing of the pack patching it, one mapping of the node type
to it (a v3 id defined once and subclassed by nothing). Whether ComfyUI runs this pack's
class at all (the core's, another pack's, a patch from elsewhere) is the node inventory's
to rule on (:meth:`watchman.stages.inventory.nodes.NodeInventory.static_sockets`).
"""

from __future__ import annotations

from collections.abc import Callable

from watchman.comfy.link_types import LinkTypes
from watchman.comfy.loader_file import PackIndex
from watchman.comfy.loader_inputs import ClassInfo
from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.static_sockets import StaticSockets, rules_of

MAX_BASE_DEPTH = 16
"""Bases followed up for an inherited ``OUTPUT_NODE``."""

_PLAIN_BASES = frozenset({"object", "ABC", "ComfyNode", "ComfyNodeABC"})
"""Bases that write no ``OUTPUT_NODE`` when the pack defines no class of that name:
Python's, and ComfyUI's own node bases (``io.ComfyNode``; ``ComfyNodeABC``, which
``nodes.py`` derives ``CLIPTextEncode`` from, only annotates it)."""

CORE_OUTPUT_CLASSES = frozenset({"SaveImage", "PreviewImage", "SaveLatent"})
"""ComfyUI's own classic output nodes (``nodes.py`` writes ``OUTPUT_NODE = True`` on
``SaveImage`` and ``SaveLatent``; ``PreviewImage`` inherits it), which packs subclass
for their previews (``class MaskPreview(SaveImage)``): a base of this name the pack does
not define is ComfyUI's."""


def pack_sockets(index: PackIndex) -> StaticSockets:
    """Return the socket rules of the node types the pack's mappings and v3 schemas
    name, sorted by node type. Never raises."""
    found: dict[str, SocketRules] = {}
    for node_type, info in index.v3.items():
        if (
            index.v3_defined.get(node_type, 0) > 1
            or info.name in index.patched
            or info.name in index.subclassed
        ):
            continue
        # A metaclass may set what the schema does not write: its False is then unsure.
        output = None if info.output_node is False and info.body_unsure else info.output_node
        rules = rules_of(info.sockets, output, _v3_types(info))
        if rules is not None:
            found[node_type] = rules
    classes: dict[str, str | None] = {}
    for node_type, class_name, _, _, _ in index.entries:
        if node_type in index.v3:
            continue
        if classes.setdefault(node_type, class_name) != class_name:
            classes[node_type] = None  # mapped to two classes: which one runs is not read
    for node_type, class_name in classes.items():
        candidates = index.classes.get(class_name or "", ())
        if len(candidates) != 1 or class_name in index.patched:
            continue
        info = candidates[0]
        rules = rules_of(info.sockets, _output_of(info, index, 0), _classic_types(info, index))
        if rules is not None:
            found[node_type] = rules
    return tuple(sorted(found.items()))


def _output_of(info: ClassInfo, index: PackIndex, depth: int) -> bool | None:
    """What ``OUTPUT_NODE`` the class writes, else what its bases write, first base
    first, as Python looks it up: False when neither it nor any base writes one (every
    base read: this pack's, defined once, or plain); None when that is unsure (a value
    computed, a class decorator or metaclass, the class or a base defined twice or
    elsewhere)."""
    if info.output_node is True:
        return True
    if depth >= MAX_BASE_DEPTH:
        return None
    if info.body_unsure:
        return None  # a decorator, a metaclass or a second definition may set it
    if info.output_node is False:
        return False
    if "OUTPUT_NODE" in info.attributes:
        return None  # written but computed, or set by what the class is made with
    for base in info.bases:
        candidates = index.classes.get(base, ())
        if base in _PLAIN_BASES and not candidates:
            continue
        if not candidates and base in CORE_OUTPUT_CLASSES:
            return True
        if base == info.name or len(candidates) != 1:
            return None  # a base of elsewhere, or defined twice, may write one
        found = _output_of(candidates[0], index, depth + 1)
        if found is not False:
            return found  # written by the base, or unsure
    return False


_ABSENT = object()
"""What a class neither writes nor leaves unsure (a base may write it)."""


def _v3_types(info: ClassInfo) -> LinkTypes | None:
    """What a v3 class's links carry: its schema's, read only off a plain class (whose
    one base, ``io.ComfyNode``, takes no ``input_types``)."""
    if info.body_unsure or (info.return_types is None and info.input_types is None):
        return None
    checks = info.validates_types if info.validates_types is not None else False
    return LinkTypes(info.return_types, info.input_types or (), checks)


def _classic_types(info: ClassInfo, index: PackIndex) -> LinkTypes | None:
    """What a classic class's links carry: its ``RETURN_TYPES`` and validation, its own
    or a base's (:func:`_inherited`), and its own ``INPUT_TYPES``' declared types."""
    outputs = _inherited(info, index, _own_outputs, 0)
    checks = _inherited(info, index, _own_check, 0)
    if outputs is _ABSENT:
        outputs = None  # no RETURN_TYPES read anywhere: not known
    if checks is _ABSENT:
        checks = False  # no validation anywhere: ComfyUI compares every link
    assert outputs is None or isinstance(outputs, tuple)
    assert checks is None or isinstance(checks, bool)
    if outputs is None and info.input_types is None:
        return None
    return LinkTypes(outputs, info.input_types or (), checks)


def _own_outputs(info: ClassInfo) -> object:
    if info.return_types is not None:
        return info.return_types
    return None if "RETURN_TYPES" in info.attributes else _ABSENT


def _own_check(info: ClassInfo) -> object:
    if info.validates_types is not None:
        return info.validates_types
    return None if "VALIDATE_INPUTS" in info.attributes else _ABSENT


def _inherited(
    info: ClassInfo, index: PackIndex, own: Callable[[ClassInfo], object], depth: int
) -> object:
    """What ``own`` reads off the class, else off its bases, first base first, as Python
    looks an attribute up: :data:`_ABSENT` when neither it nor any base (every one read:
    this pack's, defined once, or plain) writes it; None when that is unsure (a
    decorator or metaclass, a patch, a base defined twice or elsewhere)."""
    if depth >= MAX_BASE_DEPTH or info.body_unsure or info.name in index.patched:
        return None
    found = own(info)
    if found is not _ABSENT:
        return found
    for base in info.bases:
        candidates = index.classes.get(base, ())
        if base in _PLAIN_BASES and not candidates:
            continue
        if base == info.name or len(candidates) != 1:
            return None  # a base of elsewhere, or defined twice, may write it
        found = _inherited(candidates[0], index, own, depth + 1)
        if found is not _ABSENT:
            return found
    return _ABSENT
