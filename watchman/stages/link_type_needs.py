"""Links whose source's output does not fit the input it feeds: ComfyUI refuses the
output that needs the node (``return_type_mismatch``: "Return type mismatch between
linked nodes"), and fails as surely when the link leaves from a slot the source no
longer has. A pure stage part: data in, data out.

The usual cause is a workflow saved before a pack or ComfyUI changed a node's outputs:
the saved link still leaves from slot 1, which returned an ``IMAGE`` then and returns a
``MASK`` now, or which is gone. What the types are is the install's to say
(:mod:`watchman.comfy.link_types`: a live server's ``/object_info``, or what the source
surely writes); which input each link feeds and from which slot is the workflow's
(:mod:`watchman.comfy.link_sources`). A link is judged only when the source's outputs
and the input's declared type are both known, a UI node saved the input with the type
it declares now (an input whose type changed since may be fed otherwise by the frontend
that loads it: not judged), the target node's own validation surely does not take
``input_types`` (ComfyUI then compares none of its links, and a live
server does not say so: the source is asked), and, where the parse kept what the node's
outputs reach (every node of an API prompt, a UI node with an input open), it reaches an
output node. A UI node fed by links alone keeps no reach (keeping one for every linked
node cost a fifth of a cold cycle's memory): where the parse found every link between
running nodes recorded (``ParsedWorkflow.links_whole``), what the outputs need is
followed back from them through those links (:func:`needed_by_outputs`, as ComfyUI's
validation walks), and a node outside it is not judged; elsewhere such a node is judged
whether an output needs it or not (a mismatch on a branch no output needs is then shown).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from watchman.comfy.link_types import CHOICES, COMBO, LinkTypes, fits
from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.workflow_model import NodeUse
from watchman.stages.socket_needs import OutputLookup, SocketLookup, reaches_an_output

TypesLookup = Callable[[str], "LinkTypes | None"]
"""node type -> what its links carry (None: not known)."""

MAX_MISMATCHED = 50
"""Mismatched links listed per workflow; a workflow with more is still not ready."""

CHOICES_NAME = "a list of choices"
"""How the report names a declared type that is a list of choices."""


@dataclass(frozen=True, slots=True)
class MismatchedLink:
    """A link ComfyUI refuses: the node it feeds (id, type) and its input, the source
    (id, type) and the slot it leaves from, the type that slot returns (None: the source
    has no such slot) and the type the input declares."""

    node_id: str
    node_type: str
    input: str
    source_id: str
    source_type: str
    slot: int
    received: str | None
    expected: str


def link_types_lookup(
    sockets: SocketLookup, static: Mapping[str, SocketRules] | None = None
) -> TypesLookup:
    """Return a :data:`TypesLookup` over socket rules (a live server's, or the source's):
    where they do not say whether a node's validation takes ``input_types`` (a server's
    answer never does), the rules the install's source surely writes (``static``) are
    asked; without them, that stays unknown."""

    def types_of(node_type: str) -> LinkTypes | None:
        rules = sockets(node_type)
        types = rules.types if rules is not None else None
        if types is None or types.checks_itself is not None:
            return types
        read = static.get(node_type) if static is not None else None
        checks = read.types.checks_itself if read is not None and read.types else None
        return replace(types, checks_itself=checks)

    return types_of


def needed_by_outputs(
    nodes: Sequence[NodeUse], outputs: OutputLookup, sockets: SocketLookup
) -> frozenset[str] | None:
    """Return the ids of the nodes an output needs: the active nodes that are or may be
    output nodes, and every node their recorded links come from, followed back.

    Takes every node of a workflow whose links are whole (``ParsedWorkflow.links_whole``),
    the output flags (None: not known, so the node may be an output) and the socket rules
    (None: the backend does not know the type). Returns None, so that every node is
    judged, when the records do not hold together (two nodes of one id, a link from an id
    no node has) or a node is a pack's virtual node: said to be no output yet unknown to
    the backend (KJNodes' SetNode and GetNode...), the frontend links through it by its
    pack's rules, which the links recorded do not show. Linear in nodes and links; never
    raises.
    """
    by_id: dict[str, NodeUse] = {}
    for node in nodes:
        if node.node_id in by_id:
            return None
        if outputs(node.node_type) is False and sockets(node.node_type) is None:
            return None
        by_id[node.node_id] = node
    waiting = [
        node.node_id
        for node in nodes
        if not (node.bypassed or node.muted) and outputs(node.node_type) is not False
    ]
    needed = set(waiting)
    while waiting:
        for fed in by_id[waiting.pop()].fed_by:
            source = fed[1]
            if source not in by_id:
                return None
            if source not in needed:
                needed.add(source)
                waiting.append(source)
    return frozenset(needed)


def find_mismatched_links(
    nodes: Iterable[NodeUse],
    types: TypesLookup,
    sockets: SocketLookup,
    needed: Collection[str] | None = None,
) -> tuple[MismatchedLink, ...]:
    """Return the links into the active nodes of ``nodes`` ComfyUI would refuse, at most
    :data:`MAX_MISMATCHED`, in the workflow's order.

    Takes the workflow's nodes, what each node type's links carry, the socket rules
    (which node types are outputs) and, where known, the ids of the nodes an output
    needs (:func:`needed_by_outputs`; None: not known). Never raises.
    """
    found: list[MismatchedLink] = []
    for node in nodes:
        if node.bypassed or node.muted or not node.fed_by:
            continue
        if needed is not None and node.node_id not in needed:
            continue  # no output needs it: ComfyUI neither checks nor runs it
        target = types(node.node_type)
        if target is None or target.checks_itself is not False:
            continue
        if node.reaches and not reaches_an_output(node.reaches, sockets):
            continue  # an empty reach was not kept (a UI node fed by links alone)
        for name, source_id, source_type, slot, saved in node.fed_by:
            expected = target.declared(name)
            source = types(source_type)
            if expected is None or source is None or source.outputs is None:
                continue
            if saved and saved != (COMBO if expected == CHOICES else expected):
                continue  # the input changed since: which one the frontend feeds is unsure
            received = source.outputs[slot] if slot < len(source.outputs) else None
            if received is not None and fits(received, expected):
                continue
            shown = CHOICES_NAME if expected == CHOICES else expected
            found.append(
                MismatchedLink(
                    node.node_id, node.node_type, name, source_id, source_type, slot,
                    received, shown,
                )
            )  # fmt: skip
            if len(found) >= MAX_MISMATCHED:
                return tuple(found)
    return tuple(found)
