"""The advice about files workflows name in ComfyUI's input folder and that are not there
(:mod:`watchman.stages.input_needs`): one action per file name, to decide.

Such a file is nearly always the workflow's author's own picture, video or sound; nothing
can fetch it. The person either puts that very file in the input folder or picks one of
theirs in the node, so every action is marked to decide, and says which nodes.
"""

from __future__ import annotations

from watchman.printable import shortened
from watchman.reporting.action import Action, display_names, workflow_names
from watchman.reporting.report import Report
from watchman.stages.input_needs import InputState

MAX_NODES_NAMED = 8
"""Nodes a title names; more are counted."""


def input_actions(report: Report) -> list[Action]:
    """One action per (file name, state) the workflows lack in the input folder, naming
    the node types and inputs that ask for it and the workflows it unblocks."""
    by_path = display_names(report)
    grouped: dict[tuple[str, InputState], tuple[dict[str, None], dict[str, None]]] = {}
    for entry in report.workflows:
        for need in entry.inputs:
            reference = need.reference
            nodes, paths = grouped.setdefault((reference.value, need.state), ({}, {}))
            nodes[f"{reference.node_type} ({reference.input})"] = None
            paths[entry.path] = None
    found = []
    for (value, state), (nodes, paths) in grouped.items():
        named = list(nodes)[:MAX_NODES_NAMED]
        more = len(nodes) - len(named)
        where = ", ".join(named) + (f" and {more} more" if more else "")
        shown = shortened(value)
        if state == "outside":
            title = (
                f"Check {shown}: a {where} node names it outside ComfyUI's input folder; "
                "ComfyUI loads it only if that path exists on its machine. Pick a file of "
                "yours in the node, or put it in the input folder and pick it there."
            )
            why = "the path is outside the input folder and is not checked"
        else:
            title = (
                f"Provide {shown} in ComfyUI's input folder, or pick a file of yours in "
                f"the {where} node: ComfyUI refuses the workflow while it names a file "
                "that is not there."
            )
            why = "the workflow names its author's file; only you can provide or replace it"
        found.append(Action("provide_input", title, workflow_names(by_path, paths), uncertain=why))
    return found
