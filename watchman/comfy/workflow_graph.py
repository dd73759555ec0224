"""The UI workflow's graph, level by level: node modes, instance types, subgraph
definitions, and the links that feed a node's inputs.

Every field is a stranger's: each is checked for its JSON type as it is read. Nothing here
walks into instances; ``workflow_ui`` does, over what these functions return.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from watchman.comfy.group_nodes import GROUP_NODE_PREFIXES
from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.widget_values import NamedTexts, WidgetKinds, widget_name
from watchman.comfy.workflow_model import FedInput, NodeUse

MODE_MUTED = 2
MODE_BYPASSED = 4

SUBGRAPH_TYPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
"""A subgraph instance's type: the id of its subgraph, a UUID."""


def is_instance_type(node_type: str) -> bool:
    """True for a subgraph instance type (a UUID) or a legacy group-node type."""
    return bool(SUBGRAPH_TYPE.match(node_type)) or node_type.startswith(GROUP_NODE_PREFIXES)


def subgraph_definitions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return every subgraph definition by id, nested definitions included.

    Takes a UI workflow; reads ``definitions.subgraphs`` at the top level and inside each
    definition. Entries without a string ``id`` are skipped. Never raises.
    """
    found: dict[str, dict[str, Any]] = {}
    pending: list[object] = [document]
    while pending:
        holder = pending.pop()
        if not isinstance(holder, dict):
            continue
        definitions = holder.get("definitions")
        subgraphs = definitions.get("subgraphs") if isinstance(definitions, dict) else None
        for subgraph in subgraphs if isinstance(subgraphs, list) else ():
            if (
                isinstance(subgraph, dict)
                and isinstance(subgraph.get("id"), str)
                and subgraph["id"] not in found
            ):
                found[subgraph["id"]] = subgraph
                pending.append(subgraph)
    return found


def scalar_key(value: object) -> object:
    """Return ``value`` when it can be a link or node id (a JSON scalar), else None."""
    return value if isinstance(value, (str, int, float)) or value is None else None


LinkEnds = tuple[object, object, object, object, object]
"""A link's id, origin node, origin slot, target node and target slot, as written."""


def link_ends(links: object) -> Iterator[LinkEnds]:
    """Yield the ends of each link of a graph level: list links (``[id, origin,
    origin_slot, target, target_slot, type]``) and the dict links of subgraphs and newer
    frontends (``{"id", "origin_id", "origin_slot", "target_id", "target_slot"}``). A
    field a link lacks is None; the values are the stranger's, unchecked (callers read
    ids with ``scalar_key``). Anything else in the list is skipped."""
    for link in links if isinstance(links, list) else ():
        if isinstance(link, dict):
            yield (
                link.get("id"),
                link.get("origin_id"),
                link.get("origin_slot"),
                link.get("target_id"),
                link.get("target_slot"),
            )
        elif isinstance(link, list) and len(link) >= 2:
            padded = [*link[:5], None, None, None]
            yield padded[0], padded[1], padded[2], padded[3], padded[4]


def link_origins(links: object) -> dict[object, object]:
    """Return link id -> origin node id. Links whose ids are not JSON scalars are
    skipped."""
    origins: dict[object, object] = {}
    for key, origin, _, _, _ in link_ends(links):
        key = scalar_key(key)
        if key is not None:
            origins[key] = scalar_key(origin)
    return origins


PASS_THROUGH_NODES = frozenset({"Reroute"})
"""Frontend-only nodes that hand on what their one input receives (the frontend's legacy
reroute node; native reroutes are points on a link and change no origin)."""


def skip_reroutes(
    origins: dict[object, object], slots: dict[object, int], nodes: list[dict[str, Any]]
) -> tuple[dict[object, object], dict[object, int]]:
    """Return ``origins`` and ``slots`` with every chain of reroute nodes looked through.

    Takes the level's link id -> origin node id, its link id -> subgraph input slot (links
    from the subgraph's input node) and its nodes. A link leaving a reroute gets the
    origin of the link entering the chain (None when the chain starts nowhere or loops),
    and its slot when that link leaves the subgraph's input node; so a loader fed by a
    model picker through reroutes is seen as fed by the picker. Each reroute is resolved
    once (linear in links and nodes). Never raises.
    """
    feeding: dict[object, object] = {}
    for node in nodes:
        node_id, node_type = scalar_key(node.get("id")), node.get("type")
        if node_id is None or not isinstance(node_type, str) or node_type not in PASS_THROUGH_NODES:
            continue
        inputs = node.get("inputs")
        first = inputs[0] if isinstance(inputs, list) and inputs else None
        feeding[node_id] = scalar_key(first.get("link")) if isinstance(first, dict) else None
    if not feeding:
        return origins, slots
    # reroute id -> (origin through the chain, slot when it starts at the subgraph inputs)
    resolved: dict[object, tuple[object, int | None]] = {}
    for start in feeding:
        chain: list[object] = []
        on_chain: set[object] = set()
        current: object = start
        answer: tuple[object, int | None] = (None, None)
        while True:
            if current in resolved:
                answer = resolved[current]
                break
            if current not in feeding or current in on_chain:
                # A real node (or none), or a loop of reroutes: the chain starts here.
                answer = (None, None) if current in on_chain else (current, None)
                break
            chain.append(current)
            on_chain.add(current)
            upstream = feeding[current]
            if upstream is None:
                break
            if upstream in slots:
                answer = (origins.get(upstream), slots[upstream])
                break
            current = origins.get(upstream)
        for reroute in chain:
            resolved[reroute] = answer
    looked_through = dict(origins)
    through_slots = dict(slots)
    for link, origin in origins.items():
        if origin in resolved:
            looked_through[link], slot = resolved[origin]
            if slot is not None:
                through_slots[link] = slot
    return looked_through, through_slots


def linked_from_real_node(
    node: dict[str, Any], origins: dict[object, object], level_types: dict[object, str]
) -> set[str]:
    """Return the widget input names fed by a link from a real node of the same graph:
    their widget value is a stale copy, the source node provides the value."""
    names = set()
    inputs = node.get("inputs")
    for item in inputs if isinstance(inputs, list) else ():
        if not isinstance(item, dict):
            continue
        name = widget_name(item)
        link = scalar_key(item.get("link"))
        if name is None or link is None:
            continue
        origin_type = level_types.get(origins.get(link))
        if origin_type is not None and not is_frontend_only(origin_type):
            names.add(name)
    return names


def node_use(
    node: dict[str, Any],
    node_id: str,
    node_type: str,
    bypassed: bool,
    muted: bool,
    widgets: WidgetKinds = (),
    named: NamedTexts = (),
    linked: tuple[str, ...] = (),
    *,
    numbered: tuple[str, ...] = (),
    nulls: tuple[str, ...] = (),
    fed_by: tuple[FedInput, ...] = (),
) -> NodeUse:
    """Return what a cycle keeps of one node: its id and type as the walk names them, its
    state, the pack and version its ``properties`` claim (``cnr_id``, ``aux_id``,
    ``ver``), its values as :mod:`watchman.comfy.widget_values` keeps them and the inputs
    a link feeds (:mod:`watchman.comfy.link_sources`): built once (a frozen record
    rebuilt for each of them was a tenth of a parse)."""
    properties = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    assert isinstance(properties, dict)
    return NodeUse(
        node_id=node_id,
        node_type=node_type,
        bypassed=bypassed,
        muted=muted,
        cnr_id=_text(properties.get("cnr_id")),
        aux_id=_text(properties.get("aux_id")),
        version=_text(properties.get("ver")),
        widgets=widgets,
        named=named,
        linked=linked,
        numbered=numbered,
        nulls=nulls,
        fed_by=fed_by,
    )


def _text(value: object) -> str | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
        return str(value)
    return None
