"""The advice about numbers outside the range the install allows
(:mod:`watchman.stages.range_needs`): one action per workflow, naming each node, input,
value and the range its input allows.

ComfyUI refuses the outputs that need such a node (``Value 0 smaller than min of 1``,
``Value 2.0 bigger than max of 1.0``). The value may be the author's slip, a range a newer
ComfyUI or pack widened, or one an older one allowed: which, the file does not say, so
every action is marked to decide.
"""

from __future__ import annotations

from watchman.comfy.number_ranges import Bound
from watchman.printable import shortened
from watchman.reporting.action import Action, display_name
from watchman.reporting.report import Report
from watchman.stages.range_needs import OutOfRangeValue

MAX_NAMED_VALUES = 5
"""Values an action's sentence names; it counts the rest."""


def allowed_text(minimum: Bound | None, maximum: Bound | None) -> str:
    """The range in words: ``1 to 10000``, ``at least 0``, ``at most 1.0``."""
    if minimum is not None and maximum is not None:
        return f"{minimum!r} to {maximum!r}"
    if minimum is not None:
        return f"at least {minimum!r}"
    return f"at most {maximum!r}"


def value_text(value: OutOfRangeValue) -> str:
    """One value in words: its input, node, value and the range allowed."""
    return (
        f"{shortened(value.input)} of {shortened(value.node_type)} (node "
        f"{shortened(value.node_id)}) is {value.value!r}, "
        f"{'under' if value.side == 'below' else 'over'} the "
        f"{allowed_text(value.minimum, value.maximum)} it allows"
    )


def range_actions(report: Report) -> list[Action]:
    """One ``set_value`` action per workflow with numbers outside their ranges."""
    found = []
    for entry in report.workflows:
        if not entry.ranges:
            continue
        named = [value_text(value) for value in entry.ranges[:MAX_NAMED_VALUES]]
        more = len(entry.ranges) - len(named)
        listing = "; ".join(named) + (f"; and {more} more value(s)" if more > 0 else "")
        found.append(
            Action(
                "set_value",
                f"Set the numbers this install does not allow in {display_name(entry)}: "
                f"{listing}. ComfyUI refuses the outputs that need those nodes until each "
                "value is within its range (Value smaller than min, Value bigger than max), "
                "or update ComfyUI or the pack whose newer range allows it.",
                (display_name(entry),),
                uncertain=(
                    "whether the value or the install's range is the one to change is yours to say"
                ),
            )
        )
    return found
