"""The advice about numbers outside the range the install allows
(:mod:`watchman.stages.range_needs`): one action per node type, input and value, naming
the nodes that hold it, the value, the range its input allows and the workflows it
unblocks.

ComfyUI refuses the outputs that need such a node (``Value 0 smaller than min of 1``,
``Value 2.0 bigger than max of 1.0``). The value may be the author's slip, a range a newer
ComfyUI or pack widened, or one an older one allowed: which, the file does not say, so
every action is marked to decide.
"""

from __future__ import annotations

from watchman.comfy.number_ranges import Bound
from watchman.printable import shortened
from watchman.reporting.action import Action, display_names, workflow_names
from watchman.reporting.report import Report
from watchman.reporting.value_groups import grouped_findings, nodes_phrase
from watchman.stages.range_needs import OutOfRangeValue


def allowed_text(minimum: Bound | None, maximum: Bound | None) -> str:
    """The range in words: ``1 to 10000``, ``at least 0``, ``at most 1.0``."""
    if minimum is not None and maximum is not None:
        return f"{minimum!r} to {maximum!r}"
    if minimum is not None:
        return f"at least {minimum!r}"
    return f"at most {maximum!r}"


def value_key(value: OutOfRangeValue) -> tuple[str, str, str]:
    """What one action is about: the node type, the input and the value as written in
    the report (``1`` and ``1.0`` are two values: ComfyUI says which it read)."""
    return (value.node_type, value.input, repr(value.value))


def range_actions(report: Report) -> list[Action]:
    """One ``set_value`` action per (node type, input, value) the workflows hold outside
    the input's range, naming the nodes, the range and the workflows it unblocks."""
    by_path = display_names(report)
    found = []
    for value, nodes, paths in grouped_findings(report, lambda entry: entry.ranges, value_key):
        past = "under" if value.side == "below" else "over"
        found.append(
            Action(
                "set_value",
                f"Set {shortened(value.input)} of {shortened(value.node_type)} "
                f"({nodes_phrase(nodes)}) "
                f"within {allowed_text(value.minimum, value.maximum)}: it is "
                f"{value.value!r}, {past} what this install allows, and ComfyUI refuses the "
                "workflow (Value smaller than min, Value bigger than max). Or update ComfyUI "
                "or the pack whose newer range allows it.",
                workflow_names(by_path, paths),
                uncertain=(
                    "whether the value or the install's range is the one to change is yours to say"
                ),
            )
        )
    return found
