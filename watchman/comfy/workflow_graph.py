"""The UI workflow's graph, level by level: node modes, instance types, subgraph
definitions, and the links that feed a node's inputs.

Every field is a stranger's: each is checked for its JSON type as it is read. Nothing here
walks into instances; ``workflow_ui`` does, over what these functions return.
"""

from __future__ import annotations

import re
from typing import Any

from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.widget_names import widget_name

MODE_MUTED = 2
MODE_BYPASSED = 4
GROUP_NODE_PREFIXES = ("workflow>", "workflow/")

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


def link_origins(links: object) -> dict[object, object]:
    """Return link id -> origin node id, for list links (``[id, origin, slot, ...]``) and
    the dict links of subgraphs (``{"id", "origin_id", ...}``). Links whose ids are not
    JSON scalars are skipped."""
    origins: dict[object, object] = {}
    for link in links if isinstance(links, list) else ():
        if isinstance(link, list) and len(link) >= 2:
            key, origin = scalar_key(link[0]), scalar_key(link[1])
        elif isinstance(link, dict):
            key, origin = scalar_key(link.get("id")), scalar_key(link.get("origin_id"))
        else:
            continue
        if key is not None:
            origins[key] = origin
    return origins


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
