"""A legacy group node's definition as the frontend's group builder reads it: its links,
and what the builder makes of each inner node (the sockets that may become the group's
inputs, the outputs that may become its outputs).

Facts from the builder (ComfyUI's ``web/extensions/core/groupNode.js``, later
ComfyUI_frontend's ``src/extensions/core/groupNode.ts``, ``GroupNodeConfig``):

- a link is ``[source position, source slot, target position, target slot, source id,
  type]``; a source of null is a link from outside when the group was made, which the
  builder skips; ``external`` lists ``[position, slot, type]`` of outputs that were also
  linked outside. An output linked inside and not outside is not the group's;
- a node type of the install gives its sockets and outputs; a note (a frontend-only node
  the install does not define) is skipped;
- a primitive node nothing inside uses is skipped; one that is used feeds a widget of
  the type its first link names (a widget of the group, no socket), and has one output
  of that type;
- a reroute linked inside both ways, and not outside, is skipped: it only hands on what
  enters it. Any other has one socket and one output of the type the builder works out:
  the type of the first input its output goes to, else the type of the output feeding
  it, else the type written on the first link into it, else that of its link outside.

Every field is a stranger's; what does not read as the builder would read it is None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.node_sockets import WIDGET_TYPES
from watchman.comfy.socket_links import absent_sockets

Slot = tuple[int, int]
"""(inner position, slot)."""


@dataclass(frozen=True)
class DefinitionLinks:
    """A definition's links: ``into`` (target, slot) -> (source, slot) for links from
    inside; ``out`` (source, slot) -> its (target, slot) ends, in link order; ``kinds``
    (source, slot) -> the type its first link names; ``first_into`` target position ->
    the type named by the first link into it, from anywhere; ``external`` (position,
    slot) -> the type of an output also linked outside."""

    into: dict[Slot, Slot]
    out: dict[Slot, list[Slot]]
    kinds: dict[Slot, object]
    first_into: dict[int, object]
    external: dict[Slot, object]

    def only_inside(self, output: Slot) -> bool:
        """Whether an output is linked inside and not outside (not the group's)."""
        return output in self.out and not self.external.get(output)


@dataclass(frozen=True)
class InnerPart:
    """What the builder makes of one inner node: its sockets in slot order, each (name,
    type, the name the group's input starts from), and its output types; ``built``
    False when it skips the node (its sockets then only hand on what they receive)."""

    sockets: tuple[tuple[str, str, str], ...]
    outputs: tuple[str, ...]
    built: bool = True


def read_links(definition: Mapping[str, Any]) -> DefinitionLinks | None:
    """Return the :class:`DefinitionLinks` of a group definition whose ``nodes`` are a
    list of objects, or None when a link, an ``external`` entry or a node is malformed
    (a reroute's link at a slot other than 0 included)."""
    nodes, links = definition.get("nodes"), definition.get("links", [])
    external = _external(definition.get("external", []))
    if not isinstance(nodes, list) or not isinstance(links, list) or external is None:
        return None
    if not all(isinstance(node, dict) for node in nodes):
        return None
    found = DefinitionLinks({}, {}, {}, {}, external)
    for link in links:
        if not isinstance(link, list) or len(link) < 4:
            return None
        source, source_slot, target, target_slot = (_index(value) for value in link[:4])
        kind = link[5] if len(link) > 5 else None
        if target is None or target_slot is None or target >= len(nodes):
            return None
        found.first_into.setdefault(target, kind)
        if link[0] is None:
            continue  # from outside when the group was made: the builder skips it
        if source is None or source_slot is None or source >= len(nodes):
            return None
        if (_is_reroute(nodes[source]) and source_slot) or (
            _is_reroute(nodes[target]) and target_slot
        ):
            return None
        found.into[(target, target_slot)] = (source, source_slot)
        found.out.setdefault((source, source_slot), []).append((target, target_slot))
        found.kinds.setdefault((source, source_slot), kind)
    return found


def inner_part(
    position: int,
    nodes: Sequence[Mapping[str, Any]],
    links: DefinitionLinks,
    listed: Callable[[str], frozenset[str] | None],
) -> InnerPart | None:
    """Return what the builder makes of the inner node at ``position`` of ``nodes``, or
    None when that is not sure: its sockets do not come before its widget inputs, one
    is of a widget type, it lacks one ``listed`` (the install's definition, which the
    builder reads, differs from the saved node), or a reroute's or primitive's type is
    not read surely."""
    node = nodes[position]
    node_type, outputs = node.get("type"), node.get("outputs", [])
    if not isinstance(node_type, str) or not isinstance(outputs, list):
        return None
    if node_type == "Reroute":
        return _reroute(position, nodes, links)
    sockets = _sockets(node, listed(node_type))
    if sockets is None:
        return None
    if node_type == "PrimitiveNode":
        kind = links.kinds.get((position, 0))
        if sockets or (position, 0) not in links.out:
            return None if sockets else InnerPart((), (), built=False)
        return InnerPart((), (kind,)) if isinstance(kind, str) and kind in WIDGET_TYPES else None
    if is_frontend_only(node_type):
        return None if sockets or outputs else InnerPart((), (), built=False)
    kinds = [item.get("type") if isinstance(item, dict) else None for item in outputs]
    if not all(isinstance(kind, str) for kind in kinds):
        return None
    return InnerPart(tuple(sockets), tuple(str(kind) for kind in kinds))


def _reroute(
    position: int, nodes: Sequence[Mapping[str, Any]], links: DefinitionLinks
) -> InnerPart | None:
    inputs = nodes[position].get("inputs", [])
    if not isinstance(inputs, list) or len(inputs) > 1:
        return None
    if any(not isinstance(item, dict) or "widget" in item for item in inputs):
        return None
    here = (position, 0)
    if here in links.into and here in links.out and not links.external.get(here):
        return InnerPart((("", "*", ""),), (), built=False)  # used inside only
    kind: object = "*"
    if here in links.out:
        for target, slot in links.out[here]:
            item = _at(nodes[target].get("inputs"), slot)
            if not isinstance(item, dict) or "widget" in item:
                return None  # a widget's reroute makes a widget of the group
            if kind == "*":
                kind = item.get("type")
    elif here in links.into:
        source, slot = links.into[here]
        item = _at(nodes[source].get("outputs"), slot)
        kind = item.get("type") if isinstance(item, dict) else None
    else:
        kind = links.first_into.get(position, "*")
        if kind == "*" and links.external.get(here):
            kind = links.external[here]
    if not isinstance(kind, str) or kind in WIDGET_TYPES:
        return None
    return InnerPart(((kind, kind, _label(inputs, kind)),), (kind,))


def _sockets(
    node: Mapping[str, Any], listed: frozenset[str] | None
) -> list[tuple[str, str, str]] | None:
    """The (name, type, label) of a node's sockets in slot order; None when they do not
    come first, one is of a widget type, or the node lacks one ``listed``."""
    inputs = node.get("inputs", [])
    if not isinstance(inputs, list) or (listed and absent_sockets(node, listed)):
        return None
    sockets: list[tuple[str, str, str]] = []
    for position, item in enumerate(inputs):
        if not isinstance(item, dict):
            return None
        if "widget" in item:
            continue
        name, kind = item.get("name"), item.get("type")
        if len(sockets) != position or not isinstance(name, str) or not name:
            return None
        if not isinstance(kind, str) or kind in WIDGET_TYPES:
            return None
        sockets.append((name, kind, _label(inputs, name)))
    return sockets


def _label(inputs: list[Any], name: str) -> str:
    """The label of the first input named ``name``, else the name (as the builder names
    the group's input)."""
    for item in inputs:
        if isinstance(item, dict) and item.get("name") == name:
            label = item.get("label")
            return label if isinstance(label, str) else name
    return name


def _external(entries: object) -> dict[Slot, object] | None:
    if not isinstance(entries, list):
        return None
    found: dict[Slot, object] = {}
    for entry in entries:
        if not isinstance(entry, list) or len(entry) < 2:
            return None
        if any(isinstance(key, dict | bool) or key is None for key in entry[:2]):
            # The builder keys its table by these: an object, a boolean or null makes a
            # key no position matches (one real definition names a whole node there).
            continue
        position, slot = _index(entry[0]), _index(entry[1])
        if position is None or slot is None:
            return None
        found[(position, slot)] = entry[2] if len(entry) > 2 else None
    return found


def _at(items: object, slot: int) -> object:
    return items[slot] if isinstance(items, list) and slot < len(items) else None


def _is_reroute(node: Mapping[str, Any]) -> bool:
    return node.get("type") == "Reroute"


def _index(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
