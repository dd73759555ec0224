"""Numbers ComfyUI would refuse: an INT or FLOAT input whose value lies outside the range
the install's definition allows. A pure stage part: data in, data out.

ComfyUI checks every number input of the nodes it runs against the input's ``min`` and
``max`` (``Value 1.0000000000000002 bigger than max of 1.0``, ``Value 0 smaller than min of
1``) and refuses the prompt's outputs that need that node, unless the node validates that
input itself (``VALIDATE_INPUTS`` naming it, or taking ``**kwargs``). The frontend does
not mend such a value as it loads a workflow: it sets each widget's stored value as it is
(only what a person types or drags is clamped), and sends it. So a UI workflow is refused
as an API prompt is.

The ranges are a live server's ``/object_info`` when one answered, else those the
install's source writes (:mod:`watchman.comfy.static_layout`). A UI node's values are
judged only when :func:`~watchman.comfy.widget_layout.place_numbers` is sure which input
each holds; a value a link feeds is not the widget's, and bypassed and muted nodes are
not run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from watchman.comfy.number_ranges import EXACT_INTEGERS, Bound, Side, outside, read_text
from watchman.comfy.widget_layout import Layout, number_types, place_numbers
from watchman.comfy.widget_values import number_count
from watchman.comfy.workflow_model import NodeUse
from watchman.stages.value_needs import LayoutLookup, ValidatesLookup


@dataclass(frozen=True, slots=True)
class OutOfRangeValue:
    """A number input whose value lies outside its range: the node, the input, the value
    as ComfyUI reads it (``int()`` of an INT input's value), which side it is past
    (``below`` the minimum or ``above`` the maximum) and the range the install allows
    (None: that side is open)."""

    node_id: str
    node_type: str
    input: str
    value: Bound
    side: Side
    minimum: Bound | None
    maximum: Bound | None


def find_out_of_range_values(
    nodes: Iterable[tuple[NodeUse, tuple[float, ...]]],
    layouts: LayoutLookup,
    validates: ValidatesLookup,
) -> tuple[OutOfRangeValue, ...]:
    """Return the number values of ``nodes`` (active ones, each with its kept numbers:
    the caller filters) that lie outside their ranges, in node order.

    Takes the nodes, the layouts (the server's or the source's) and which inputs the
    node types' own validation takes. Never raises.
    """
    found: list[OutOfRangeValue] = []
    for node, numbers in nodes:
        if not (node.widgets or node.named or node.numbered):
            continue
        layout = layouts(node.node_type)
        if not layout or not any(slot.range is not None for slot in layout):
            continue
        values = _numbers_by_input(node, numbers, layout)
        for slot in layout:
            allowed = slot.range
            if allowed is None or slot.name is None or slot.name not in values:
                continue
            value = values[slot.name]
            side = outside(value, allowed)
            if side is None or validates(node.node_type, slot.name):
                continue
            found.append(
                OutOfRangeValue(
                    node_id=node.node_id,
                    node_type=node.node_type,
                    input=slot.name,
                    value=_as_read(value, allowed.integer),
                    side=side,
                    minimum=allowed.minimum,
                    maximum=allowed.maximum,
                )
            )
    return tuple(found)


def _numbers_by_input(
    node: NodeUse, numbers: tuple[float, ...], layout: Layout
) -> dict[str, float]:
    """The node's number values by input: its widget list's numbers placed on the layout
    (nothing when the layout does not fit it), without the inputs a link feeds, then its
    values by name (an API prompt's, a subgraph instance's), which stand: numbers, and
    texts read as ComfyUI reads them. An input named both as a text and as a number is
    left out (which one the node gets is not sure)."""
    widget_count = number_count(node.widgets)
    if len(numbers) != widget_count + len(node.numbered):
        return {}  # a parse whose numbers do not match its nodes: nothing is judged
    values: dict[str, float] = {}
    placed = place_numbers(layout, node.widgets) if node.widgets else None
    linked = set(node.linked)
    for name, at in (placed or {}).items():
        if name not in linked:
            values[name] = numbers[at]
    texts = dict(node.named)
    integers = number_types(layout)
    for name, text in texts.items():
        integer = integers.get(name)
        if integer is not None:
            number = read_text(text, integer)
            values.pop(name, None)
            if number is not None:
                values[name] = number
    for name, number in zip(node.numbered, numbers[widget_count:], strict=True):
        if name in texts:
            values.pop(name, None)
        else:
            values[name] = number
    return values


def _as_read(value: float, integer: bool) -> Bound:
    """``value`` as ComfyUI reads it: ``int()`` of an INT input's, else the double. An
    integer past :data:`~watchman.comfy.number_ranges.EXACT_INTEGERS` stays the double
    kept (its digits beyond a double's say nothing, and the report and the needs cache
    keep no integer of more than 64 bits)."""
    return int(value) if integer and abs(value) < EXACT_INTEGERS else value
