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
output node. A UI node fed by links alone is judged whether its outputs reach one or
not: a mismatch there is shown even where ComfyUI would not check the node (a branch no
output needs), since keeping what every linked node reaches cost a fifth of a cold
cycle's memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from watchman.comfy.link_types import CHOICES, COMBO, LinkTypes, fits
from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.workflow_model import NodeUse
from watchman.stages.socket_needs import SocketLookup, reaches_an_output

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


def find_mismatched_links(
    nodes: Iterable[NodeUse], types: TypesLookup, sockets: SocketLookup
) -> tuple[MismatchedLink, ...]:
    """Return the links into the active nodes of ``nodes`` ComfyUI would refuse, at most
    :data:`MAX_MISMATCHED`, in the workflow's order.

    Takes the workflow's nodes, what each node type's links carry and the socket rules
    (which node types are outputs). Never raises.
    """
    found: list[MismatchedLink] = []
    for node in nodes:
        if node.bypassed or node.muted or not node.fed_by:
            continue
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
