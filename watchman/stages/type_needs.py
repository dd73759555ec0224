"""Values ComfyUI would refuse as of another type: a text on an INT or FLOAT input that
``int()`` or ``float()`` cannot read (``"auto"``, ``"1.5"`` on an INT, ``""``), and a
null on an INT input. A pure stage part: data in, data out.

ComfyUI converts every input value that is not a link to the type its input declares
before anything else, and refuses the outputs that need a node whose value does not
convert (``invalid_input_type``: :mod:`watchman.comfy.value_conversion`), whatever the
node's own ``VALIDATE_INPUTS`` takes. The types are a live server's ``/object_info``
when one answered, else those the install's source writes
(:mod:`watchman.comfy.static_layout`); an input whose type is not known is not judged.

Judged are the values known by input name: an API prompt's inputs, a UI node's dict of
widget values and what a subgraph instance hands its inner nodes. A UI node's widget
list is placed on its inputs only when every value fits its slot's kind
(:func:`~watchman.comfy.widget_layout.placed_slots`), and a text does not fit a number's
slot: a list whose text sits where the layout puts a number says the layout may not be
the one the frontend built, so no value of it is judged. A value a link feeds is not
the widget's; an input named with values of two kinds is left out (which one the node
gets is not sure); bypassed and muted nodes are not run (the caller filters).

A null is judged on an INT input only: ``int(None)`` raises, and so do ``int()`` of NaN
and of an infinity, which the reader also reads as null; ``float()`` takes those two,
so on a FLOAT input a null may be a value ComfyUI accepts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from watchman.comfy.value_conversion import NumberType, number_type, text_converts
from watchman.comfy.widget_layout import number_types
from watchman.comfy.workflow_model import NodeUse
from watchman.stages.value_needs import LayoutLookup


@dataclass(frozen=True, slots=True)
class WrongTypeValue:
    """An input value ComfyUI cannot convert to the input's type: the node, the input,
    the value as written (a text, or None for null) and the type the install declares
    (``INT`` or ``FLOAT``)."""

    node_id: str
    node_type: str
    input: str
    value: str | None
    expected: NumberType


def find_wrong_type_values(
    nodes: Iterable[NodeUse], layouts: LayoutLookup
) -> tuple[WrongTypeValue, ...]:
    """Return the values of ``nodes`` (active ones: the caller filters) that ComfyUI
    cannot convert to their inputs' declared types, in node order.

    Takes the nodes with their kept values and the layouts (the server's or the
    source's), whose number slots carry their inputs' types. Never raises.
    """
    found: list[WrongTypeValue] = []
    for node in nodes:
        if not (node.named or node.nulls):
            continue
        layout = layouts(node.node_type)
        types = number_types(layout) if layout else {}
        if not types:
            continue
        # The last value of a name stands: a subgraph instance's, after the node's own.
        texts = dict(node.named)
        # No link is among them: the parse leaves a linked widget's stale copy out, and
        # what a subgraph instance hands an inner node's linked widget is what it gets.
        unsure = set(node.numbered)
        for name, text in texts.items():
            integer = types.get(name)
            if integer is None or name in unsure or name in node.nulls:
                continue
            if not text_converts(text, integer):
                found.append(_wrong(node, name, text, integer))
        for name in dict.fromkeys(node.nulls):
            if types.get(name) is True and name not in unsure and name not in texts:
                found.append(_wrong(node, name, None, True))
    return tuple(found)


def _wrong(node: NodeUse, name: str, value: str | None, integer: bool) -> WrongTypeValue:
    return WrongTypeValue(node.node_id, node.node_type, name, value, number_type(integer))
