"""Required inputs nothing feeds: ComfyUI refuses the output that needs the node
(``Required input is missing``). A pure stage part: data in, data out.

Which inputs a node type requires a link for, and which types are output nodes, are a
live server's ``/object_info`` (:mod:`watchman.comfy.node_sockets`); without one nothing
is judged. What the workflow leaves open is read with it
(:mod:`watchman.comfy.socket_links`): a UI node's socket inputs that nothing feeds, or an
API node's inputs that are absent. A node is judged only when one of the node types its
outputs reach (its own included) is an output node: ComfyUI checks nothing else, and a
stray node left unconnected does not stop a render.

A workflow with no active output node at all is refused whole (``Prompt has no
outputs``): :func:`find_no_output` tells it, only where every active node type's output
flag is known (a live server's answer, or what the source surely writes), since a node
of unknown kind may be the output.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.workflow_model import NodeUse

SocketLookup = Callable[[str], "SocketRules | None"]
"""node type -> its required sockets and output flag (None: not known)."""

OutputLookup = Callable[[str], "bool | None"]
"""node type -> whether it is an output node (None: not known, so it may be one)."""

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


MAX_INACTIVE_OUTPUTS = 10
"""Bypassed or muted output nodes named when a workflow has no active one."""


@dataclass(frozen=True, slots=True)
class InactiveOutput:
    """An output node that is bypassed or muted: its id, its type and which."""

    node_id: str
    node_type: str
    state: Literal["bypassed", "muted"]


@dataclass(frozen=True, slots=True)
class NoOutput:
    """A workflow with no active output node: ComfyUI refuses the whole prompt. Its output
    nodes that are bypassed or muted, at most :data:`MAX_INACTIVE_OUTPUTS` (none: it has
    no output node at all, as a subgraph blueprint or a fragment saved alone)."""

    inactive: tuple[InactiveOutput, ...] = ()


def output_flags(sockets: SocketLookup, virtual: Collection[str]) -> OutputLookup:
    """Return an :data:`OutputLookup` over socket rules (a live server's, or those the
    install's source surely writes): a frontend-only node (ComfyUI's own ``Note`` or
    ``Reroute``, a pack's in ``virtual``) never reaches the server and is no output; a
    type with rules whose flag is known says it; any other is not known."""

    def is_output(node_type: str) -> bool | None:
        if node_type in virtual or is_frontend_only(node_type):
            return False
        rules = sockets(node_type)
        return None if rules is None or not rules.output_known else rules.output

    return is_output


SURE_OUTPUT = "SaveImage"
"""A node type every ComfyUI defines as an output node: a reading of the install's source
that says otherwise misreads this install, and its flags are not used."""


def source_output_flags(
    sockets: Mapping[str, SocketRules], virtual: Collection[str]
) -> OutputLookup | None:
    """Return :func:`output_flags` over the rules the install's source surely writes, or
    None when that reading does not find ComfyUI's own ``SaveImage`` an output node (a
    core laid out otherwise than read: no workflow is then judged for want of one)."""
    save = sockets.get(SURE_OUTPUT)
    if save is None or not (save.output_known and save.output):
        return None
    return output_flags(sockets.get, virtual)


def find_no_output(
    nodes: Iterable[NodeUse], outputs: OutputLookup, subgraph_ids: Collection[str] = ()
) -> NoOutput | None:
    """Return why ComfyUI would find no output in the workflow whose nodes are ``nodes``,
    or None when it has one or that is not known.

    Takes every real node of the workflow (bypassed and muted ones included: they are
    named when they are the outputs), the output flags, and the subgraph ids (an
    instance is no node of its own: its inner nodes are among ``nodes``). Judged only
    when every active node's flag is known; a workflow with no node at all is not judged.
    """
    inactive: list[InactiveOutput] = []
    judged = False
    for node in nodes:
        if node.node_type in subgraph_ids:
            continue
        flag = outputs(node.node_type)
        if node.bypassed or node.muted:
            if flag and len(inactive) < MAX_INACTIVE_OUTPUTS:
                state: Literal["bypassed", "muted"] = "muted" if node.muted else "bypassed"
                inactive.append(InactiveOutput(node.node_id, node.node_type, state))
            judged = True
            continue
        if flag is None or flag:
            return None  # an output, or a node that may be one
        judged = True
    return NoOutput(tuple(inactive)) if judged else None


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
        if missing and reaches_an_output(node.reaches, sockets):
            found.append(UnlinkedInput(node.node_id, node.node_type, tuple(missing)))
            if len(found) >= MAX_UNLINKED:
                break
    return tuple(found)


def reaches_an_output(reached: Iterable[str], sockets: SocketLookup) -> bool:
    """Return whether one of the node types ``reached`` is surely an output node."""
    for node_type in reached:
        rules = sockets(node_type)
        if rules is not None and rules.output:
            return True
    return False
