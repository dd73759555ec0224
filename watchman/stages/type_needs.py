"""Values ComfyUI would refuse as of another type: a text on an INT or FLOAT input that
``int()`` or ``float()`` cannot read (``"auto"``, ``"1.5"`` on an INT, ``""``). A pure
stage part: data in, data out.

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
the widget's; an input named both as a text and as a number is left out (which one the
node gets is not sure); bypassed and muted nodes are not run (the caller filters).
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
    the value as written and the type the install declares (``INT`` or ``FLOAT``)."""

    node_id: str
    node_type: str
    input: str
    value: str
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
        if not node.named:
            continue
        layout = layouts(node.node_type)
        types = number_types(layout) if layout else {}
        if not types:
            continue
        unsure = set(node.numbered) | set(node.linked)
        # The last value of a name stands: a subgraph instance's, after the node's own.
        for name, text in dict(node.named).items():
            integer = types.get(name)
            if integer is None or name in unsure or text_converts(text, integer):
                continue
            found.append(
                WrongTypeValue(
                    node_id=node.node_id,
                    node_type=node.node_type,
                    input=name,
                    value=text,
                    expected=number_type(integer),
                )
            )
    return tuple(found)
