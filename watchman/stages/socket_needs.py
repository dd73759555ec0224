"""Required inputs nothing feeds: ComfyUI refuses the output that needs the node
(``Required input is missing``). A pure stage part: data in, data out.

Which inputs a node type requires a link for, and which types are output nodes, are a
live server's ``/object_info`` (:mod:`watchman.comfy.node_sockets`); without one nothing
is judged. What the workflow leaves open is read with it
(:mod:`watchman.comfy.socket_links`): a UI node's socket inputs that nothing feeds, or an
API node's inputs that are absent. A node is judged only when one of the node types its
outputs reach (its own included) is an output node: ComfyUI checks nothing else, and a
stray node left unconnected does not stop a render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.workflow_model import NodeUse

SocketLookup = Callable[[str], "SocketRules | None"]
"""node type -> its required sockets and output flag (None: not known)."""

MAX_UNLINKED = 50
"""Nodes with open required inputs listed per workflow; a workflow with more is still
not ready, and the rest are not named."""


@dataclass(frozen=True, slots=True)
class UnlinkedInput:
    """A node that reaches an output and lacks inputs its definition requires: its id,
    its type and the inputs nothing feeds."""

    node_id: str
    node_type: str
    inputs: tuple[str, ...]


def find_unlinked_inputs(
    nodes: Iterable[NodeUse], sockets: SocketLookup
) -> tuple[UnlinkedInput, ...]:
    """Return the active nodes of ``nodes`` that ComfyUI would refuse for a missing
    required input, at most :data:`MAX_UNLINKED`, in the workflow's order.

    Takes the workflow's nodes and the install's socket rules. A node of a type the
    lookup does not know, or that reaches no output node, is not judged.
    """
    found: list[UnlinkedInput] = []
    for node in nodes:
        if node.bypassed or node.muted or not node.reaches:
            continue
        if node.given is None and not node.open_inputs:
            continue
        rules = sockets(node.node_type)
        if rules is None or not rules.required:
            continue
        if node.given is not None:
            missing = sorted(rules.required.difference(node.given))
        else:
            missing = sorted(rules.required.intersection(node.open_inputs))
        if missing and _reaches_an_output(node.reaches, sockets):
            found.append(UnlinkedInput(node.node_id, node.node_type, tuple(missing)))
            if len(found) >= MAX_UNLINKED:
                break
    return tuple(found)


def _reaches_an_output(reached: Iterable[str], sockets: SocketLookup) -> bool:
    for node_type in reached:
        rules = sockets(node_type)
        if rules is not None and rules.output:
            return True
    return False
