"""Which running node and output slot feed each linked input of a node, where the
workflow says so surely: what ComfyUI compares the types of
(:mod:`watchman.comfy.link_types`).

The frontend sends a UI node's linked input as ``[source id, source slot]``, the slot as
the link records it: ComfyUI then looks the type up in the source's *current* outputs,
whatever the saved link's ``type`` says. A link leaving a legacy ``Reroute`` node is sent
as the link entering its chain of reroutes: the node and slot that link leaves from
(native reroutes, points on a link, change no source). Only a link read without doubt is
kept:

- UI: the input lists a link id that one entry of its level's ``links`` holds, going
  to this very node at this input's place (a file whose link and input disagree may be
  mended by the frontend's link fixer as it loads), from a node of the level that runs
  (neither muted nor bypassed, and not a frontend-only node, a subgraph or group
  instance: those hand on what reaches them, which the frontend resolves by rules not
  judged here), from a slot that is a whole number of at least 0. Through legacy
  reroutes, that node and slot are those of the link entering the chain, read as surely
  (:meth:`~watchman.comfy.socket_links.LevelLinks.through_reroutes`: each link of the
  chain going to the reroute whose input lists it, leaving a reroute from its one
  slot); a chain that loops, starts nowhere or passes a bypassed reroute is not kept,
  nor one from the subgraph's inputs, as a direct link from them is not. The input's
  saved type is kept (its declared type may have changed since). An input named twice
  is not kept.
- API: an input written ``[id, slot]`` whose id is a node of the prompt and whose slot
  is a whole number of at least 0.

Every field is a stranger's; the work is linear in the node's inputs, and each reroute
of a level is looked through once, however many links leave it.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.socket_links import LevelLinks, NodeKey
from watchman.comfy.workflow_graph import MODE_MUTED, scalar_key
from watchman.comfy.workflow_model import FedInput, shared_fed

MAX_SOURCE_ID = 64
"""Characters of a source's id kept; a longer id is not judged."""

PRIMITIVE_NODE = "PrimitiveNode"
"""The frontend's primitive: it sends its value as the value of the inputs it feeds."""

MAX_SAVED_TYPE = 256
"""Characters of an input's saved type kept; a longer one is not judged."""


def ui_fed_inputs(
    node: Mapping[str, Any],
    graph: LevelLinks,
    prefix: str,
    hands_on: Callable[[str], bool],
    unsure: Callable[[], object] | None = None,
) -> tuple[FedInput, ...]:
    """Return the inputs of UI ``node`` a link surely feeds from a running node of its
    level (see the module's rules), in the node's order.

    Takes the node, its level's :class:`LevelLinks`, the prefix of the level's node ids
    (``"12:"`` inside instance 12), what tells a node type that runs nothing of its own
    (frontend-only nodes, instances) and, optionally, what to call when a link is left
    out that may still reach ComfyUI as one (from a bypassed node, an instance, through
    a chain of reroutes not followed, or a link in doubt): a link from a muted node
    (the frontend leaves it out) or a primitive (sent as the input's value) is not such
    a link. An input fed through legacy reroutes names the node and slot that enter
    their chain. Never raises.
    """
    inputs = node.get("inputs")
    if not isinstance(inputs, list):
        return ()
    target = scalar_key(node.get("id"))
    names = [item.get("name") if isinstance(item, dict) else None for item in inputs]
    texts = [name for name in names if isinstance(name, str)]
    # Counted only when a name repeats (rare): a Counter per node was a tenth of a parse.
    counts = Counter(texts) if len(set(texts)) < len(texts) else None
    found: list[FedInput] = []
    for position, (item, name) in enumerate(zip(inputs, names, strict=True)):
        if not isinstance(name, str) or not name:
            continue
        link = scalar_key(item.get("link"))
        if link is None:
            continue
        ends = graph.ends.get(link)
        if ends is None or (counts is not None and counts[name] > 1):
            if unsure is not None:
                unsure()  # a link the level lacks or holds twice, or an input named twice
            continue
        origin, slot, to, to_slot = ends
        if origin in graph.reroutes:
            # The frontend sends what enters the chain of reroutes, and ComfyUI checks
            # that source's output: judged as a direct link from it would be.
            entering = graph.through_reroutes(origin, slot)
            if entering is None:
                if unsure is not None:
                    unsure()
                continue
            origin, slot = entering
        saved = item.get("type")
        source_type = graph.types.get(origin)
        source_id = _id_text(origin)
        left_out = graph.inactive.get(origin)
        if (left_out is not None and left_out.get("mode") == MODE_MUTED) or (
            source_type == PRIMITIVE_NODE
        ):
            continue  # no link reaches ComfyUI: the node is left out, or sends a value
        if (
            to != target
            or not _is_slot(to_slot)
            or to_slot != position
            or not isinstance(saved, str)
            or len(saved) > MAX_SAVED_TYPE
            or source_type is None
            or source_id is None
            or origin in graph.inactive
            or hands_on(source_type)
            or not _is_slot(slot)
        ):
            if unsure is not None:
                unsure()
            continue
        assert isinstance(slot, int)
        found.append(
            (sys.intern(name), sys.intern(prefix + source_id), source_type, slot, sys.intern(saved))
        )
    return shared_fed(found)


def api_fed_inputs(
    inputs: Mapping[str, object], document: Mapping[str, Any]
) -> tuple[FedInput, ...]:
    """Return the inputs of an API prompt's node (``inputs``: name -> value) written as
    ``[id, slot]`` of a node of the prompt ``document`` and a slot of at least 0, in the
    node's order. Never raises."""
    found: list[FedInput] = []
    for name, value in inputs.items():
        if not (isinstance(value, list) and len(value) == 2 and isinstance(name, str)):
            continue
        origin, slot = value
        entry = document.get(origin) if isinstance(origin, str) else None
        source_type = entry.get("class_type") if isinstance(entry, dict) else None
        if (
            not isinstance(source_type, str)
            or is_frontend_only(source_type)
            or not _is_slot(slot)
            or len(origin) > MAX_SOURCE_ID
        ):
            continue
        assert isinstance(slot, int)
        found.append((sys.intern(name), sys.intern(origin), sys.intern(source_type), slot, ""))
    return shared_fed(found)


def _is_slot(slot: object) -> bool:
    return isinstance(slot, int) and not isinstance(slot, bool) and slot >= 0


def _id_text(origin: NodeKey) -> str | None:
    if isinstance(origin, int) and not isinstance(origin, bool):
        return str(origin)
    if isinstance(origin, str) and 0 < len(origin) <= MAX_SOURCE_ID:
        return origin
    return None
