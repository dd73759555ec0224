"""What a subgraph instance hands its inner nodes through the subgraph's inputs.

An inner node's input linked from the subgraph's input node (id ``-10``) takes, when the
frontend flattens the graph for ComfyUI, the value of the *instance's* input of that slot:
what is linked to it in the graph around the instance, or else the instance's own widget
for it (``ExecutableNodeDTO.resolveInput``). The inner node's own widget value is then a
stale copy: a person who picked another checkpoint on the instance changed the instance's
``widgets_values``, not the inner loader's. Reading the inner value would report a model
the workflow does not use, and call it ready or missing wrongly.

The instance's widgets are the subgraph inputs that feed an inner widget, in input order;
its ``widgets_values`` holds one value each. Where the count differs (newer frontends keep
promoted values on the inner nodes and save an empty list; a control value after a seed),
or the instance lists its promoted widgets in ``properties.proxyWidgets`` (newer
frontends, in an order of the person's choosing), nothing is taken from the instance and
the inner values stand. Every field is a stranger's and checked for its JSON type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.widget_values import widget_name
from watchman.comfy.workflow_graph import link_ends, scalar_key

SUBGRAPH_INPUT_NODE = -10
"""The id links inside a subgraph start from when they come from the subgraph's inputs."""


@dataclass(frozen=True)
class InstanceInputs:
    """What one instance gives each input slot of its subgraph: ``values`` by slot (its
    widget's value, or one handed down from an enclosing instance) and ``fed``, the slots
    a real node outside feeds (their value is computed when the graph runs)."""

    values: Mapping[int, object] = field(default_factory=lambda: MappingProxyType({}))
    fed: frozenset[int] = frozenset()


NOTHING = InstanceInputs()
"""What the top level's nodes receive: no subgraph input."""


def input_slots(links: object) -> dict[object, int]:
    """Return link id -> subgraph input slot for the links leaving the subgraph's input
    node (dict links ``{"id", "origin_id": -10, "origin_slot"}`` or list links)."""
    slots: dict[object, int] = {}
    for raw_key, origin, slot, _, _ in link_ends(links):
        key, position = scalar_key(raw_key), _index(slot)
        if key is not None and origin == SUBGRAPH_INPUT_NODE and position is not None:
            slots[key] = position
    return slots


@dataclass(frozen=True)
class SubgraphShape:
    """What every instance of one subgraph definition needs of it, read once however
    many instances there are: the input slots that feed an inner widget (an instance's
    ``widgets_values`` holds one value each, in this order) and each input's slot by name."""

    widget_slots: tuple[int, ...]
    slot_by_name: Mapping[str, int]


def subgraph_shape(definition: Mapping[str, Any]) -> SubgraphShape:
    """Return the :class:`SubgraphShape` of a subgraph definition. Never raises."""
    slot_by_name: dict[str, int] = {}
    for slot, subgraph_input in enumerate(_dicts_in_place(definition.get("inputs"))):
        name = subgraph_input.get("name") if isinstance(subgraph_input, dict) else None
        if isinstance(name, str):
            slot_by_name.setdefault(name, slot)
    return SubgraphShape(widget_slots(definition), MappingProxyType(slot_by_name))


def widget_slots(definition: Mapping[str, Any]) -> tuple[int, ...]:
    """Return the subgraph's input slots that feed an inner node's widget: those an
    instance shows a widget for, in the order its ``widgets_values`` holds them."""
    nodes = {
        scalar_key(node.get("id")): node
        for node in _dicts(definition.get("nodes"))
        if scalar_key(node.get("id")) is not None
    }
    targets = {
        scalar_key(key): (target, target_slot)
        for key, _, _, target, target_slot in link_ends(definition.get("links"))
    }
    slots = []
    for slot, subgraph_input in enumerate(_dicts_in_place(definition.get("inputs"))):
        link_ids = subgraph_input.get("linkIds") if isinstance(subgraph_input, dict) else None
        for link_id in link_ids if isinstance(link_ids, list) else ():
            target = targets.get(scalar_key(link_id))
            node = nodes.get(scalar_key(target[0])) if target is not None else None
            position = _index(target[1]) if target is not None else None
            inputs = node.get("inputs") if node is not None else None
            if (
                isinstance(inputs, list)
                and position is not None
                and position < len(inputs)
                and isinstance(inputs[position], dict)
                and "widget" in inputs[position]
            ):
                slots.append(slot)
                break
    return tuple(slots)


def instance_inputs(
    instance: Mapping[str, Any],
    shape: SubgraphShape,
    around: InstanceInputs,
    around_slots: Mapping[object, int],
    origins: Mapping[object, object],
    types: Mapping[object, str],
) -> InstanceInputs:
    """Return what ``instance`` gives its subgraph's inputs.

    Args:
        instance: the instance node (its ``widgets_values`` and ``inputs``).
        shape: its subgraph definition's ``subgraph_shape``.
        around: what the level the instance sits in receives itself (an instance inside
            a subgraph passes its enclosing instance's values on).
        around_slots: that level's links from its own subgraph input node.
        origins: that level's link id -> origin node id.
        types: that level's node id -> type.

    Returns:
        The values and fed slots; nothing when the instance's widget values do not
        line up with the subgraph's widget inputs. Never raises.
    """
    widgets = instance.get("widgets_values")
    values: dict[int, object] = {}
    if (
        isinstance(widgets, list)
        and widgets
        and len(widgets) == len(shape.widget_slots)
        and not _promotes_by_proxy(instance)
    ):
        values = dict(zip(shape.widget_slots, widgets, strict=True))
    slot_by_name = shape.slot_by_name
    fed: set[int] = set()
    for item in _dicts(instance.get("inputs")):
        input_name, link = item.get("name"), scalar_key(item.get("link"))
        found = slot_by_name.get(input_name) if isinstance(input_name, str) else None
        if found is None or link is None:
            continue
        slot = found
        if link in around_slots:
            outer = around_slots[link]
            values.pop(slot, None)
            if outer in around.values:
                values[slot] = around.values[outer]
            elif outer in around.fed:
                fed.add(slot)
            continue
        origin_type = types.get(origins.get(link))
        if origin_type is not None and not is_frontend_only(origin_type):
            values.pop(slot, None)
            fed.add(slot)
        # A primitive node outside keeps the instance's widget in step with itself.
    if not values and not fed:
        return NOTHING
    return InstanceInputs(MappingProxyType(values), frozenset(fed))


def handed_down(
    node: Mapping[str, Any], received: InstanceInputs, slots: Mapping[object, int]
) -> tuple[dict[str, object], set[str]]:
    """Return, for one inner node, the widget values its level's instance hands it (by
    widget name) and the names of the widgets a real node outside feeds instead."""
    given: dict[str, object] = {}
    fed: set[str] = set()
    if received is NOTHING or not slots:
        return given, fed
    for item in _dicts(node.get("inputs")):
        link = scalar_key(item.get("link"))
        slot = slots.get(link) if link is not None else None
        name = widget_name(item) if slot is not None else None
        if name is None or slot is None:
            continue
        if slot in received.values:
            given[name] = received.values[slot]
        elif slot in received.fed:
            fed.add(name)
    return given, fed


def _promotes_by_proxy(instance: Mapping[str, Any]) -> bool:
    """Whether the instance names its promoted widgets in ``properties.proxyWidgets``
    (newer frontends): their values are kept on the inner nodes, in an order the person
    may have changed, so the instance's own values are not matched to its inputs."""
    properties = instance.get("properties")
    proxies = properties.get("proxyWidgets") if isinstance(properties, dict) else None
    return isinstance(proxies, list) and bool(proxies)


def _dicts(items: object) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _dicts_in_place(items: object) -> list[object]:
    # Slots are positions: a malformed entry still takes its place.
    return list(items) if isinstance(items, list) else []


def _index(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
