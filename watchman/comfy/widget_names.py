"""Naming a UI node's widget values: which input each position of ``widgets_values`` holds.

The frontend stores a node's widget values as a bare list; the loader spec's ordered widget
names (or the node's own ``inputs[].widget.name`` list) say which input each position is,
allowing for the ``control_after_generate`` value the frontend adds after seed-like widgets.
"""

from __future__ import annotations

from collections.abc import Sequence

from watchman.comfy.loader_lookup import LoaderTable, loader_spec
from watchman.comfy.loaders import CONTROL_AFTER_GENERATE, CONTROL_VALUES
from watchman.comfy.widget_values import widget_name


def named_widget_values(
    node_type: str, widgets_values: object, inputs: object, table: LoaderTable | None = None
) -> list[tuple[str | None, object]]:
    """Return a node's widget values paired with their input names where known.

    Takes the node type, its ``widgets_values`` (a dict is already named) and its
    ``inputs``. For a table node the table's ordered widget names map positions; when the
    count does not match, the names of inputs converted to links are dropped and tried
    again; else names are zipped from the start and extra values stay unnamed. For other
    nodes the ``inputs[].widget.name`` list names positions only when its length equals
    the values'. A name that is not text stays unnamed. Never raises.
    """
    if isinstance(widgets_values, dict):
        return [(str(key), value) for key, value in widgets_values.items()]
    if not isinstance(widgets_values, list):
        return []
    input_list = (
        [item for item in inputs if isinstance(item, dict)] if isinstance(inputs, list) else []
    )
    widget_inputs = [item for item in input_list if isinstance(item.get("widget"), dict)]
    spec = loader_spec(node_type, table)
    candidates: list[list[str | None]]
    if spec is not None and spec.widgets:
        linked = {widget_name(item) for item in widget_inputs if item.get("link") is not None}
        candidates = [list(spec.widgets), [name for name in spec.widgets if name not in linked]]
    else:
        candidates = [[widget_name(item) for item in widget_inputs]]
    for names in candidates:
        if len(names) == len(widgets_values):
            return list(zip(names, widgets_values, strict=True))
    # The frontend stores a control_after_generate value after each seed-like INT widget;
    # the node's widget list does not name it, so it shifts every later position.
    kept = [
        position
        for position, value in enumerate(widgets_values)
        if not _is_control_value(widgets_values, position)
    ]
    for names in candidates:
        if names and len(names) == len(kept):
            named = dict(zip(kept, names, strict=True))
            return [
                (named.get(position, CONTROL_AFTER_GENERATE), value)
                for position, value in enumerate(widgets_values)
            ]
    # No alignment fits: name from the start for a table node (a newer version appends
    # widgets), leave an unknown node's values unnamed.
    prefix: Sequence[str | None] = candidates[0] if spec is not None and spec.widgets else ()
    return [
        (prefix[position] if position < len(prefix) else None, value)
        for position, value in enumerate(widgets_values)
    ]


def _is_control_value(values: list[object], position: int) -> bool:
    value = values[position]
    previous = values[position - 1] if position > 0 else None
    return (
        isinstance(value, str)
        and value in CONTROL_VALUES
        and isinstance(previous, int)
        and not isinstance(previous, bool)
    )
