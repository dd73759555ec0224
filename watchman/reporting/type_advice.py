"""The advice about values ComfyUI cannot convert to their inputs' types
(:mod:`watchman.stages.type_needs`): one action per node type, input and value, naming the
nodes that hold it, the value, the type the install declares and the workflows it
unblocks.

ComfyUI refuses the outputs that need such a node ("Failed to convert an input value to a
INT value"). The value may be the author's slip, a text a script or another tool wrote
where a number goes, or one a pack's other version takes as a text: which, and what
number was meant, the file does not say, so every action is marked to decide.
"""

from __future__ import annotations

from watchman.printable import shortened
from watchman.reporting.action import Action, display_names, workflow_names
from watchman.reporting.report import Report
from watchman.reporting.value_groups import grouped_findings, nodes_phrase
from watchman.stages.type_needs import WrongTypeValue

WANTED = {"INT": "a whole number", "FLOAT": "a number"}
"""What each type takes, in words."""


def _key(value: WrongTypeValue) -> tuple[str, str, str]:
    return (value.node_type, value.input, repr(value.value))  # a text, or None for null


def _written(value: str | None) -> str:
    """The value as the sentence says it: a text quoted and shortened, or null."""
    return "null" if value is None else repr(shortened(value))


def type_actions(report: Report) -> list[Action]:
    """One ``set_value`` action per (node type, input, value) the workflows hold that
    ComfyUI cannot convert to the input's type, naming the nodes, the type and the
    workflows it unblocks."""
    by_path = display_names(report)
    found = []
    for value, nodes, paths in grouped_findings(report, lambda entry: entry.wrong_types, _key):
        found.append(
            Action(
                "set_value",
                f"Set {shortened(value.input)} of {shortened(value.node_type)} "
                f"({nodes_phrase(nodes)}) to {WANTED[value.expected]}: it is "
                f"{_written(value.value)}, which ComfyUI cannot read as the "
                f"{value.expected} this install declares, and it refuses the workflow "
                f"(Failed to convert an input value to a {value.expected} value).",
                workflow_names(by_path, paths),
                uncertain=(
                    "which number was meant, or whether another version of the node takes "
                    "a text there, is yours to say"
                ),
            )
        )
    return found
