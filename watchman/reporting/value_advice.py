"""The advice about list values the install does not offer
(:mod:`watchman.stages.value_needs`): one action per node type, input and value, to decide.

Such a value was picked from a list this install lacks: a newer ComfyUI's sampler or
scheduler, a pack that adds choices, a mode a pack renamed. Nothing here can tell which,
so every action is marked to decide: pick one the list offers (the nearest spellings are
named) or update ComfyUI or the pack that adds it.
"""

from __future__ import annotations

from watchman.printable import shortened
from watchman.reporting.action import Action, display_names, workflow_names
from watchman.reporting.report import Report


def value_actions(report: Report) -> list[Action]:
    """One ``pick_value`` action per (node type, input, value) the workflows use and the
    server's list lacks, naming the nearest choices and the workflows it unblocks."""
    by_path = display_names(report)
    grouped: dict[tuple[str, str, str], tuple[tuple[str, ...], dict[str, None]]] = {}
    for entry in report.workflows:
        for unlisted in entry.values:
            key = (unlisted.node_type, unlisted.input, unlisted.value)
            grouped.setdefault(key, (unlisted.closest, {}))[1][entry.path] = None
    found = []
    for (node_type, input_name, value), (closest, paths) in grouped.items():
        nearest = (
            f" (nearest: {', '.join(repr(shortened(choice)) for choice in closest)})"
            if closest
            else ""
        )
        title = (
            f"Pick another {input_name} in the {shortened(node_type)} node{nearest}, or update "
            f"ComfyUI or the pack that adds {shortened(value)!r}: this install does not offer "
            "it and ComfyUI refuses the workflow (Value not in list)."
        )
        found.append(
            Action(
                "pick_value",
                title,
                workflow_names(by_path, paths),
                uncertain="whether an update would add it, or another value does, is yours to say",
                candidates=closest,
            )
        )
    return found
