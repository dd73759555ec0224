"""The advice about links whose source's output the input they feed does not take
(:mod:`watchman.stages.link_type_needs`): one action per workflow, naming each link.

ComfyUI refuses the outputs that need such a node (``Return type mismatch between linked
nodes``) until the link is reconnected from an output of the type the input declares, or
the node is replaced. The usual cause is a node whose outputs changed after the workflow
was saved: its link still leaves from the old slot. Which output the author meant is not
in the file, so every action is marked to decide.
"""

from __future__ import annotations

from watchman.printable import shortened
from watchman.reporting.action import Action, display_name
from watchman.reporting.link_advice import named_in_part
from watchman.reporting.report import Report
from watchman.stages.link_type_needs import MismatchedLink

MAX_NAMED_LINKS = 5
"""Links an action's sentence names; it counts the rest."""


def link_type_actions(report: Report) -> list[Action]:
    """One ``reconnect_links`` action per workflow with links whose source's type the
    input does not take, naming each link's ends, types and slot."""
    found = []
    for entry in report.workflows:
        if not entry.mismatched:
            continue
        listing = named_in_part(
            [_phrase(link) for link in entry.mismatched[:MAX_NAMED_LINKS]],
            len(entry.mismatched),
            "link(s)",
        )
        found.append(
            Action(
                "reconnect_links",
                f"Reconnect these links in {display_name(entry)} from an output of the type "
                f"each input takes: {listing}. ComfyUI refuses the outputs that need them "
                "until then (Return type mismatch between linked nodes). A node whose outputs "
                "changed since the workflow was saved keeps its old links: replace it with a "
                "new one of its type and connect it again.",
                (display_name(entry),),
                uncertain="which output should feed each input is the workflow author's choice",
            )
        )
    return found


def _phrase(link: MismatchedLink) -> str:
    """One link in words: where it goes, where it comes from, and why it is refused."""
    target = (
        f"{shortened(link.input)} of {shortened(link.node_type)} (node {shortened(link.node_id)})"
    )
    source = (
        f"output {link.slot} of {shortened(link.source_type)} (node {shortened(link.source_id)})"
    )
    if link.received is None:
        return f"{target} is fed from {source}, which has no such output now"
    return (
        f"{target} takes {shortened(link.expected)} but is fed "
        f"{shortened(link.received)} from {source}"
    )
