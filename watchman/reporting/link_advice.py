"""The advice about required inputs nothing feeds (:mod:`watchman.stages.socket_needs`):
one action per workflow, naming each node and its open inputs; and about a workflow with
no active output node, naming the outputs that are bypassed or muted.

ComfyUI refuses the outputs that need such a node (``Required input is missing``; the
whole prompt when no output is left) until each input is connected, or the node is
bypassed or removed. An input the saved node does not list at all cannot be connected
until the node is made anew from its definition. Which source the author meant is not in
the file, so every action is marked to decide.
"""

from __future__ import annotations

from watchman.printable import shortened
from watchman.reporting.action import Action, display_name
from watchman.reporting.report import Report

MAX_NAMED_NODES = 5
"""Nodes an action's sentence names; it counts the rest."""


def link_actions(report: Report) -> list[Action]:
    """One ``connect_inputs`` action per workflow with nodes an output needs whose
    required inputs nothing feeds."""
    found = []
    for entry in report.workflows:
        if not entry.unlinked:
            continue
        listing = named_in_part(
            [
                f"{shortened(node.node_type)} (node {shortened(node.node_id)}: "
                f"{', '.join(shortened(name) for name in node.inputs)})"
                for node in entry.unlinked[:MAX_NAMED_NODES]
            ],
            len(entry.unlinked),
            "node(s)",
        )
        found.append(
            Action(
                "connect_inputs",
                f"Connect the inputs nothing feeds in {display_name(entry)}, or bypass "
                f"those nodes: {listing}. ComfyUI refuses the outputs that need them until "
                "then (Required input is missing). An input the node does not show was "
                "added to its definition after the workflow was saved: replace the node "
                "with a new one of its type to get it.",
                (display_name(entry),),
                uncertain="which node should feed each input is the workflow author's choice",
            )
        )
    return found


def named_in_part(named: list[str], total: int, noun: str) -> str:
    """The phrases ``named`` (the first of ``total`` things) joined, with a count of the
    rest: ``"a; b; and 3 more node(s)"``."""
    more = total - len(named)
    return "; ".join(named) + (f"; and {more} more {noun}" if more > 0 else "")


def output_actions(report: Report) -> list[Action]:
    """One ``add_output`` action per workflow with no active output node: ComfyUI
    refuses the whole prompt (``Prompt has no outputs``) until one is added or enabled."""
    found = []
    for entry in report.workflows:
        if entry.no_output is None:
            continue
        inactive = entry.no_output.inactive
        if inactive:
            named = "; ".join(
                f"{shortened(node.node_type)} (node {shortened(node.node_id)}, {node.state})"
                for node in inactive[:MAX_NAMED_NODES]
            )
            more = len(inactive) - min(len(inactive), MAX_NAMED_NODES)
            fix = f"enable one of its output nodes, now switched off: {named}" + (
                f"; and {more} more" if more > 0 else ""
            )
        else:
            fix = (
                "add an output node (Save Image, Preview Image, a video or audio save) where "
                "its result should go; a subgraph blueprint saved alone is used as a node "
                "inside another workflow instead"
            )
        found.append(
            Action(
                "add_output",
                f"{display_name(entry)} has no active output node, so ComfyUI refuses to run "
                f"it (Prompt has no outputs): {fix}.",
                (display_name(entry),),
                uncertain="which result the workflow should save or show is its author's choice",
            )
        )
    return found
